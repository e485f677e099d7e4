"""Analytics on a seeded event log, on both databases, against figures computed by hand.

The seed is made the way production makes it — intake, claims, a transfer, a tier escalation, resolutions,
ratings, reviews and conversation counts through the HTTP API, with a clock moved by hand — so the event log,
the handoff rows and the SLA clocks are the real ones. Every expected number below is worked out in the
comments from the timeline, not read back from the code.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import event, select, update

from tests.conftest import make_settings
from tests.support.clock import FakeClock
from tests.support.factories import intake_body

D = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday; the report's time zone is UTC
CONFIG: dict[str, Any] = {
    "agents": [{"id": a, "tier": t} for a, t in (("emma", "L1"), ("raj", "L1"), ("lee", "L2"), ("lead", "L3"))],
    "outbox": {"log_destination": False},
    "sla": {"priorities": {p: {"first_response": "120s", "resolution": "1800s", "business_hours": False}
                           for p in ("critical", "high", "medium", "low")}},
    "analytics": {"timezone": "UTC", "hourly_cost": 60, "quick_resolve_minutes": 10, "response_target_seconds": 300},
}


def at(h: int, m: int = 0, day: int = 0) -> datetime:
    return D.replace(day=D.day + day, hour=h, minute=m) if day >= 0 else datetime(2026, 11, 29, h, m, tzinfo=UTC)


class Seed:
    def __init__(self, client: Any, clock: FakeClock) -> None:
        self.c, self.clock, self.ids = client, clock, {}
        self.promised: dict[str, Any] = {}

    def to(self, t: datetime) -> None:
        self.clock.t = t

    async def handoff(self, name: str, t: datetime, reason: str, email: str, confidence: float | None) -> str:
        self.to(t)
        ai: dict[str, Any] = {"intent": "technical", "kb_hits": 0, "attempted_steps": []}
        if confidence is not None:
            ai["confidence"] = confidence
        body = intake_body(trigger={"reason": reason}, ai=ai, customer={"email": email})
        if confidence is None:
            body["ai"].pop("confidence", None)
        r = await self.c.post("/v1/handoffs", json=body)
        assert r.status_code == 201, r.text
        self.ids[name] = r.json()["id"]
        self.ids[name + ".token"] = r.json()["customer_token"]
        self.promised[name] = r.json()["estimated_wait_seconds"]
        return self.ids[name]

    async def act(self, name: str, t: datetime, action: str, **body: Any) -> None:
        self.to(t)
        r = await self.c.post(f"/v1/handoffs/{self.ids[name]}/{action}", json=body)
        assert r.status_code in (200, 201), r.text

    async def rate(self, name: str, score: int) -> None:
        r = await self.c.post(f"/v1/handoffs/{self.ids[name]}/csat", json={"score": score},
                              headers={"Authorization": f"Bearer {self.ids[name + '.token']}"})
        assert r.status_code == 201, r.text


@pytest.fixture
async def seeded(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[Any, Any, Seed]]:
    from app import build, sync_agents
    from bot.web.customer import customer_integration
    from tests.support.clients import asgi_client
    from tests.support.destinations import RecordingDestination

    cfg = tmp_path / "baton.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    clock = FakeClock(at(12, 0, day=-1))
    rt = build(make_settings(db_url, BATON_CONFIG=str(cfg)), extra_destinations=[RecordingDestination()],
               with_log=False, integrations=[customer_integration], clock=clock)
    await sync_agents(rt)
    from tests.conftest import API_KEY

    async with asgi_client(rt, {"Authorization": f"Bearer {API_KEY}"}) as c:
        s = Seed(c, clock)
        # The day before: H0 waits 120 s, is resolved 600 s after the claim.
        await s.handoff("H0", at(12, 0, day=-1), "low_confidence", "zero@x.test", 0.4)
        await s.act("H0", at(12, 2, day=-1), "claim", agent_id="emma")
        await s.act("H0", at(12, 12, day=-1), "resolve", agent_id="emma")
        # The day: six handoffs.
        await s.handoff("H1", at(9, 0), "low_confidence", "a@x.test", 0.3)
        await s.act("H1", at(9, 1), "claim", agent_id="emma")                   # first response 60 s
        await s.act("H1", at(9, 5), "resolve", agent_id="emma", kb_gap=True)   # 300 s; handle 240 s ≤ 600: avoidable
        await s.rate("H1", 5)
        await s.act("H1", at(9, 6), "review", agent_id="lead", accurate=True)
        await s.handoff("H2", at(9, 10), "customer_request", "b@x.test", 0.9)
        await s.act("H2", at(9, 13), "claim", agent_id="raj")                    # 180 s (breach of 120)
        await s.act("H2", at(9, 39), "resolve", agent_id="raj")                  # 1740 s (met 1800); handle 1560
        await s.rate("H2", 2)
        await s.handoff("H3", at(10, 0), "low_confidence", "c@x.test", 0.5)
        await s.act("H3", at(10, 5), "claim", agent_id="emma")                   # 300 s (breach)
        await s.act("H3", at(10, 10), "escalate", agent_id="emma")               # → L2: tier-ack clock starts
        await s.act("H3", at(10, 20), "claim", agent_id="lee")                   # tier ack 600 s ≤ 900: met
        await s.act("H3", at(10, 50), "resolve", agent_id="lee")                 # 3000 s (breach); handle 1800
        await s.act("H3", at(10, 51), "review", agent_id="lead", accurate=False)
        await s.handoff("H4", at(10, 30), "frustration", "d@x.test", None)
        await s.act("H4", at(10, 31), "claim", agent_id="raj")                   # 60 s
        await s.act("H4", at(10, 35), "transfer", agent_id="raj", to_queue="billing")  # waits unclaimed
        await s.handoff("H5", at(11, 0), "low_confidence", "e@x.test", 0.7)
        await s.handoff("H6", at(11, 30), "customer_request", "a@x.test", 0.1)  # H1's customer is back
        # Conversations: the widget reports hours 09 (35, then corrected to 40) and 10; hour 11 has 3 evaluations.
        for hour, n in ((9, 35), (9, 40), (10, 20)):
            r = await c.post("/v1/stats/conversations", json={"hour": at(hour, 30).isoformat(), "conversations": n})
            assert r.status_code == 200, r.text
        s.to(at(11, 40))
        for _ in range(3):
            assert (await c.post("/v1/evaluate", json=intake_body())).status_code == 200
        await rt.analytics.flush()
        # Promised waits as the intake stored them: H1 was promised 30 s, H2 240 s, the rest nothing.
        from handoff.store import tables as t

        async with rt.engine.begin() as conn:
            # What intake stored is what its answer told the customer (the same estimate, same transaction).
            stored = dict((await conn.execute(select(t.handoffs.c.id, t.handoffs.c.promised_wait_seconds))).all())
            assert {n: stored[s.ids[n]] for n in s.promised} == s.promised  # (no estimate here: no history)
            await conn.execute(update(t.handoffs).values(promised_wait_seconds=None))
            for name, secs in (("H1", 30.0), ("H2", 240.0)):
                await conn.execute(update(t.handoffs).where(t.handoffs.c.id == s.ids[name])
                                   .values(promised_wait_seconds=secs))
        s.to(at(12, 0))
        try:
            yield rt, c, s
        finally:
            await rt.engine.dispose()


async def test_the_days_figures_match_the_hand_computed_ones(seeded: tuple[Any, Any, Seed]) -> None:
    _rt, c, _s = seeded
    r = await c.get("/v1/analytics", params={"from": "2026-11-30", "to": "2026-11-30"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"] == {"from": "2026-11-30T00:00:00+00:00", "to": "2026-12-01T00:00:00+00:00"}
    assert body["previous"] == {"from": "2026-11-29T00:00:00+00:00", "to": "2026-11-30T00:00:00+00:00"}
    m = body["metrics"]
    expected = {
        "handoffs": 6,
        "conversations": 63, "escalation_rate": 0.0952,          # 40 + 20 + 3 evaluations; 6 / 63
        "responded": 4,                                           # H1 60, H2 180, H3 300, H4 60
        "first_response_mean_s": 150.0,                           # 600 / 4
        "first_response_p50_s": 120.0,                            # (60 + 180) / 2
        "first_response_p90_s": 264.0,                            # 180 + 0.7 x (300 - 180)
        "resolved": 3, "resolution_rate": 0.5,                    # H1, H2, H3 of 6
        "resolution_mean_s": 1680.0,                              # (300 + 1740 + 3000) / 3
        "resolution_p50_s": 1740.0, "resolution_p90_s": 2748.0,   # 1740 + 0.8 x (3000 - 1740)
        "first_contact_resolution_rate": 0.3333,                  # only H2 (H1 came back, H3 went up a tier)
        "reescalated": 1, "reescalation_rate": 0.1667,            # H1: its customer is back (H6)
        "transferred": 1, "transfer_rate": 0.1667,                # H4
        "tier_escalated": 1, "tier_escalation_rate": 0.1667,      # H3
        "sla_met": 5, "sla_breached": 3, "sla_compliance": 0.625,  # FR: H1 H4 met, H2 H3 breached;
        #                                   resolution: H1 H2 met, H3 breached; tier ack: H3 met
        "csat_responses": 2, "csat_mean": 3.5, "csat_5": 1, "csat_2": 1, "csat_1": 0,
        "promoters": 1, "detractors": 1, "promoter_share": 0.5, "detractor_share": 0.5,
        "handle_hours": 1.0,                                      # 240 + 1560 + 1800 = 3600 s
        "cost_per_resolution": 20.0,                              # 1 h x 60 / 3
        "wait_promised": 2, "wait_error_mean_s": -15.0,           # H1 60 - 30 = +30; H2 180 - 240 = -60
        "wait_error_abs_mean_s": 45.0,
        "avoidable": 1, "avoidable_rate": 0.3333,                 # H1 of 3 resolved
        "confidence_mean": 0.5,                                   # (0.3 + 0.9 + 0.5 + 0.7 + 0.1) / 5
        "reviewed": 2, "accurate": 1,
    }
    assert {k: m[k] for k in expected} == expected
    prev = body["previous_metrics"]
    assert (prev["handoffs"], prev["first_response_p50_s"], prev["resolution_mean_s"]) == (1, 120.0, 720.0)
    assert body["change"]["handoffs"] == 5.0 and body["change"]["first_response_p50_s"] == 0.0
    assert body["change"]["escalation_rate"] is None  # no conversations the day before
    assert body["conversations_source"] == "widget"


async def test_groupings_and_agent_scores(seeded: tuple[Any, Any, Seed]) -> None:
    _rt, c, _s = seeded
    r = await c.get("/v1/analytics", params={"from": "2026-11-30", "to": "2026-11-30",
                                             "group_by": "reason,agent,hour,weekday,day,confidence,plan"})
    assert r.status_code == 200, r.text
    g = r.json()["groups"]
    reasons = {row["key"]: row for row in g["reason"]}
    assert [row["key"] for row in g["reason"]] == ["low_confidence", "customer_request", "frustration"]
    low = reasons["low_confidence"]                       # H1, H3, H5
    assert (low["handoffs"], low["resolved"], low["avoidable"], low["avoidable_rate"], low["reescalated"],
            low["reescalation_rate"], low["confidence_mean"]) == (3, 2, 1, 0.5, 1, 0.3333, 0.5)
    assert (reasons["customer_request"]["handoffs"], reasons["customer_request"]["confidence_mean"]) == (2, 0.5)
    hours = {row["key"]: row["handoffs"] for row in g["hour"]}
    assert len(hours) == 24 and (hours["9"], hours["10"], hours["11"], hours["8"]) == (2, 2, 2, 0)
    assert [(row["key"], row["handoffs"]) for row in g["weekday"] if row["handoffs"]] == [("Mon", 6)]
    assert [(row["key"], row["handoffs"]) for row in g["day"]] == [("2026-11-30", 6)]
    bands = [(row["key"], row["handoffs"]) for row in g["confidence"]]
    assert bands == [("0.0-0.2", 1), ("0.2-0.4", 1), ("0.4-0.6", 1), ("0.6-0.8", 1), ("0.8-1.0", 1), ("(none)", 1)]
    assert [(row["key"], row["handoffs"]) for row in g["plan"]] == [("professional", 6)]
    agents = {row["key"]: row for row in g["agent"]}
    assert agents["(none)"]["handoffs"] == 3              # H4 (transferred back), H5, H6
    # emma (H1): response 25 (60 s ≤ 300), FCR 0 (H1 came back), CSAT 25 (5), accuracy 25 (reviewed accurate).
    assert agents["emma"]["components"] == {"response": 25.0, "first_contact_resolution": 0.0, "csat": 25.0,
                                            "accuracy": 25.0}
    assert agents["emma"]["score"] == 75.0
    # raj (H2): response 25 (180 s), FCR 25, CSAT 6.25 (rated 2), accuracy 25 (no review; the resolution held).
    assert agents["raj"]["score"] == 81.2 and agents["raj"]["inputs"]["accuracy_source"] == "resolutions that held"
    # lee (H3): response 25 (300 s), FCR 0 (tier escalation), no CSAT, accuracy 0 (reviewed inaccurate): 25 x 4/3.
    assert agents["lee"]["score"] == 33.3 and agents["lee"]["missing"] == ["csat"]
    assert agents["lee"]["display_name"] == "lee"


async def test_csv_has_a_total_row_and_one_row_per_group(seeded: tuple[Any, Any, Seed]) -> None:
    _rt, c, _s = seeded
    r = await c.get("/v1/analytics.csv", params={"from": "2026-11-30", "to": "2026-11-30", "group_by": "reason"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["dimension"], row["key"], row["handoffs"]) for row in rows] == [
        ("total", "", "6"), ("reason", "low_confidence", "3"), ("reason", "customer_request", "2"),
        ("reason", "frustration", "1")]
    assert rows[0]["first_response_p90_s"] == "264.0" and rows[0]["sla_compliance"] == "0.625"


async def test_bad_queries_are_refused_with_reasons(seeded: tuple[Any, Any, Seed]) -> None:
    _rt, c, s = seeded
    for params, words in (({"group_by": "colour"}, "unknown 'colour'"), ({"from": "yesterday"}, "not a date"),
                          ({"from": "2026-12-01", "to": "2026-11-01"}, "before"),
                          ({"from": "2020-01-01", "to": "2026-01-01"}, "400 days")):
        r = await c.get("/v1/analytics", params=params)
        assert r.status_code == 422 and words in r.json()["message"], (params, r.text)
    assert (await c.get("/v1/analytics", headers={"Authorization": "Bearer nope"})).status_code == 401
    future = {"hour": "2030-01-01T00:00:00Z", "conversations": 1}
    assert (await c.post("/v1/stats/conversations", json=future)).status_code == 422
    assert (await c.post("/v1/stats/conversations", json={"hour": "2026-11-30T09:00:00Z",
                                                           "conversations": -1})).status_code == 422
    # A review of an unresolved handoff, or of one's own resolution, is refused (409).
    r = await c.post(f"/v1/handoffs/{s.ids['H5']}/review", json={"agent_id": "lead", "accurate": True})
    assert r.status_code == 409
    r = await c.post(f"/v1/handoffs/{s.ids['H2']}/review", json={"agent_id": "raj", "accurate": True})
    assert r.status_code == 409 and "own resolution" in r.json()["message"]


async def test_dashboard_data_needs_the_same_number_of_statements_whatever_the_data(
        seeded: tuple[Any, Any, Seed]) -> None:
    rt, _c, s = seeded
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(rt.engine.sync_engine, "before_cursor_execute", count)
    try:
        data = await rt.analytics.dashboard(rt.analytics.period("2026-11-30", "2026-11-30"))
        small = len(statements)
        for i in range(40):
            await s.handoff(f"X{i}", at(11, 45), "low_confidence", f"x{i}@x.test", 0.5)
        statements.clear()
        s.to(at(12, 0))
        more = await rt.analytics.dashboard(rt.analytics.period("2026-11-30", "2026-11-30"))
        assert len(statements) == small, (small, len(statements))
    finally:
        event.remove(rt.engine.sync_engine, "before_cursor_execute", count)
    assert small <= 10  # (PostgreSQL adds a set_config per cohort)
    assert data["metrics"]["handoffs"] == 6 and more["metrics"]["handoffs"] == 46
    assert data["queue"]["waiting"] == 3  # H4 (billing), H5, H6
    billing = [q for q in data["queue"]["by_queue"] if q["queue"] == "billing"]
    assert billing and billing[0]["oldest_wait_seconds"] == 5400.0  # H4, created 10:30, at 12:00
    assert {x["clock"]: (x["met"], x["breached"]) for x in data["sla"]} == {
        "first_response": (2, 2), "resolution": (2, 1), "tier_ack": (1, 0)}
    assert [a["agent"] for a in data["agents"]] == ["raj", "emma", "lee"]  # by score
    assert data["ai_quality"][0]["key"] == "low_confidence"


async def test_the_daily_report_about_the_seeded_day(seeded: tuple[Any, Any, Seed]) -> None:
    rt, _c, s = seeded
    s.to(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))  # Tuesday morning: the report is about Monday
    facts = await rt.reports.daily()
    assert (facts["day"], facts["weekday"]) == ("2026-11-30", "Monday")
    assert facts["metrics"]["handoffs"] == 6 and facts["change"]["handoffs"] == 5.0
    assert [(r["key"], r["handoffs"]) for r in facts["reasons"]] == [
        ("low_confidence", 3), ("customer_request", 2), ("frustration", 1)]
    assert [(n["kind"], n["handoff_id"], n["score"]) for n in facts["notable"]] == [("low_csat", s.ids["H2"], 2)]
    # Tuesdays in the four weeks before: 3, 10, 17 and 24 November, none with a handoff.
    assert facts["tomorrow"] == {"day": "2026-12-01", "weekday": "Tuesday", "expected_handoffs": 0.0, "weeks": 4}
    from templates import Renderer

    plain = Renderer().report(facts)
    assert plain.startswith("Baton daily report · Monday 2026-11-30 (UTC)")
    assert "Handoffs: 6 (+500%)" in plain and "SLA: 62.5% met · 3 breaches" in plain
    assert "CSAT: 3.50 from 2 ratings (1 happy, 1 unhappy)" in plain
    assert f"• {s.ids['H2']} (" in plain and "rated 2/5 · raj" in plain
    assert "• low confidence: 3 · 50.0% avoidable" in plain
    slack = Renderer().report(facts, "slack")
    assert slack.startswith("*Baton daily report") and "*Notable*" in slack
    from bot.slack.render import SlackRenderer
    from bot.teams.render import TeamsRenderer
    from tests.fakes.slack_blocks import validate_blocks
    from tests.teams.test_cards import valid

    assert validate_blocks(SlackRenderer().report(facts)[1]) == []
    card = valid(TeamsRenderer().report(facts).body)
    assert "**Notable**" in json.dumps(card)


async def test_the_weekly_trend_and_todays_kpis(seeded: tuple[Any, Any, Seed]) -> None:
    rt, _c, s = seeded
    s.to(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    facts = await rt.reports.weekly()
    assert (facts["from"], facts["to"]) == ("2026-11-24", "2026-11-30")
    assert [d["handoffs"] for d in facts["days"]] == [0, 0, 0, 0, 0, 1, 6]  # H0 on Sunday, six on Monday
    # emma now has H0 too: response 25 (median of 120 and 60 s), FCR 12.5 (H0 yes, H1 no), CSAT 25, accuracy 25.
    assert [(a["agent"], a["score"]) for a in facts["agents"]] == [("emma", 87.5), ("raj", 81.2), ("lee", 33.3)]
    from templates import Renderer

    text = Renderer().report(facts)
    assert "Mon 11-30: 6 handoffs · first response 2m · SLA 62.5%" in text
    s.to(at(12, 0))
    today = await rt.analytics.today()
    assert (today["handoffs"], today["responded"], today["queued"], today["first_response_p50_s"]) == (6, 4, 3, 120.0)
    assert today["oldest_wait_seconds"] == 5400.0
