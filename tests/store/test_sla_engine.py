"""The SLA engine on both databases, with an injected clock (no sleeps): clocks, warnings, breaches and their
actions, bumps, pause/resume, restarts, management escalation, acknowledgement, exactly-once ticks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from handoff.contract import HandoffIn
from handoff.errors import IllegalTransition
from handoff.models import EventKind, Priority, Status, Surface
from handoff.sla import ClockKind, ClockOutcome
from tests.conftest import make_settings
from tests.support.clock import FakeClock
from tests.support.factories import intake_body

CONFIG: dict[str, Any] = {
    "queues": {
        "technical": {"lead": "emma", "supervisor": "raj", "backup": "general", "backup_agent": "raj"},
        "billing": {"lead": "raj"}, "accounts": {}, "sales": {}, "general": {},
    },
    "agents": [{"id": "emma", "skills": ["technical"]}, {"id": "raj", "skills": ["billing"]}],
    "outbox": {"log_destination": False},
    "sla": {"priorities": {p: {"first_response": "100s", "resolution": "1000s", "business_hours": False}
                           for p in ("critical", "high", "medium", "low")},
            "bumps": {"long_wait": "300s"}},
}


def write(tmp: Path, **overrides: Any) -> Path:
    cfg = yaml.safe_load(yaml.safe_dump(CONFIG))
    for key, value in overrides.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    path = tmp / f"baton-{len(list(tmp.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


#: A Wednesday at 10:00 UTC: inside the default business hours, so no after-hours bump moves the priorities.
WEDNESDAY = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
#: A calm question from a free-plan customer: low priority, technical queue — room for every bump.
MILD: dict[str, Any] = {
    "customer": {"plan": "free", "account_value": 0},
    "transcript": [{"role": "customer", "text": "How do I embed the widget on a second site? "
                                                 "The docs page did not help me."}],
    "ai": {"intent": "technical", "confidence": 0.8, "kb_hits": 1, "attempted_steps": []},
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(WEDNESDAY)


async def runtime_for(db_url: str, config: Path, clock: FakeClock) -> Any:
    from app import build, sync_agents

    rt = build(make_settings(db_url, BATON_CONFIG=str(config)), with_log=False, integrations=[], clock=clock)
    await sync_agents(rt)
    return rt


@pytest.fixture
async def rt(db_url: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Any]:
    runtime = await runtime_for(db_url, write(tmp_path), clock)
    try:
        yield runtime
    finally:
        await runtime.engine.dispose()


async def intake(rt: Any, **overrides: Any) -> Any:
    """A handoff taken in through the real intake; MILD (low priority) unless ``overrides`` say otherwise."""
    body = intake_body(**{**MILD, **overrides})
    body["customer"] = {**body["customer"], "email": overrides.get("customer", {}).get("email")
                        or f"{uuid.uuid4().hex[:10]}@example.com"}
    return (await rt.intake.submit(HandoffIn.model_validate(body))).handoff


async def events(rt: Any, handoff_id: str, *kinds: EventKind) -> list[Any]:
    async with rt.deps.uow(read_only=True) as uow:
        return [e for e in await uow.events.for_handoff(handoff_id) if not kinds or e.kind in kinds]


async def clocks(rt: Any, handoff_id: str) -> dict[str, Any]:
    """The latest clock of each kind."""
    async with rt.deps.uow(read_only=True) as uow:
        return {c.kind.value: c for c in await uow.sla.for_handoff(handoff_id)}


async def handoff(rt: Any, handoff_id: str) -> Any:
    async with rt.deps.uow(read_only=True) as uow:
        return await uow.handoffs.get(handoff_id)


async def test_intake_starts_the_clocks_with_a_timeline_line(rt: Any) -> None:
    h = await intake(rt)
    c = await clocks(rt, h.id)
    assert c["first_response"].target_seconds == 100 and c["resolution"].target_seconds == 1000
    assert c["first_response"].due_at == h.created_at + (c["first_response"].due_at - c["first_response"].started_at)
    assert (c["first_response"].due_at - h.created_at).total_seconds() == 100
    assert (c["first_response"].warn_at - h.created_at).total_seconds() == 80  # 80 % by default
    assert "long_wait" in c  # the long-wait watch
    assert (h.sla_due_at - h.created_at).total_seconds() == 100  # the API's due time is the same policy's
    [line] = await events(rt, h.id, EventKind.SLA_CLOCK)
    assert "first response clock started (1.66667 min)" in line.reason or "first response clock started" in line.reason
    assert {x["clock"] for x in line.data["changes"]} == {"first_response", "resolution"}


async def test_warning_at_80_percent_then_breach_bumps_reroutes_and_names_the_supervisor(
        rt: Any, clock: FakeClock) -> None:
    h = await intake(rt)
    assert h.queue == "technical"
    clock.advance(79)
    await rt.sla.tick()
    assert await events(rt, h.id, EventKind.SLA_WARNING) == []
    clock.advance(2)  # 81 s of 100
    await rt.sla.tick()
    await rt.sla.tick()  # a second tick finds nothing new: one warning per clock
    [warning] = await events(rt, h.id, EventKind.SLA_WARNING)
    assert warning.data["clock"] == "first_response" and warning.data["percent"] == 81
    assert warning.data["mention"] == "lead:emma" and "81% used" in (warning.reason or "")
    clock.advance(20)  # 101 s: breached
    assert await rt.sla.tick() >= 1
    [breach] = await events(rt, h.id, EventKind.SLA_BREACHED)
    after = await handoff(rt, h.id)
    assert h.priority is Priority.LOW and after.priority is Priority.MEDIUM
    assert after.queue == "general" and after.suggested_agent_id == "raj"  # the backup queue and agent
    assert breach.data["supervisor"] == "raj" and breach.data["to_queue"] == "general"
    assert any(a.startswith("rerouted to general") for a in breach.data["actions"])
    assert any(r.code == "sla.breach" for r in after.reasons)
    [moved] = await events(rt, h.id, EventKind.TRANSFERRED)
    assert moved.actor.type == "system" and "backup" in (moved.reason or "")
    fr = (await clocks(rt, h.id))["first_response"]
    assert fr.breached_at is not None and fr.stopped_at is None  # still running: a claim stops it (breached)
    await rt.actions.claim(h.id, "raj", Surface.API)
    fr = (await clocks(rt, h.id))["first_response"]
    assert fr.outcome is ClockOutcome.BREACHED and fr.elapsed_seconds == pytest.approx(101)


async def test_claim_in_time_is_met_and_warnings_never_fire(rt: Any, clock: FakeClock) -> None:
    h = await intake(rt)
    clock.advance(30)
    await rt.actions.claim(h.id, "emma", Surface.API)
    clock.advance(500)
    await rt.sla.tick()
    c = await clocks(rt, h.id)
    assert c["first_response"].outcome is ClockOutcome.MET and c["first_response"].elapsed_seconds == 30
    assert c["long_wait"].outcome is ClockOutcome.CANCELLED
    assert await events(rt, h.id, EventKind.SLA_WARNING, EventKind.SLA_BREACHED, EventKind.PRIORITY_CHANGED) == []


async def test_pending_customer_pauses_the_resolution_clock_and_the_answer_resumes_it(
        rt: Any, clock: FakeClock) -> None:
    h = await intake(rt)
    clock.advance(10)
    await rt.actions.claim(h.id, "emma", Surface.API)
    clock.advance(90)  # 100 s counted
    await rt.actions.pending_customer(h.id, "emma", Surface.API, "asked for the order number")
    paused = (await clocks(rt, h.id))["resolution"]
    assert paused.paused_at is not None and paused.due_at is None and paused.state == "paused"
    clock.advance(5000)  # the customer takes long: nothing may warn or breach meanwhile
    await rt.sla.tick()
    assert await events(rt, h.id, EventKind.SLA_WARNING, EventKind.SLA_BREACHED) == []
    await rt.conversation.customer_message(h.id, "here it is: 12345")  # resumes the handoff (and the clock)
    resumed = (await clocks(rt, h.id))["resolution"]
    assert resumed.paused_at is None and resumed.paused_seconds == 5000
    assert (resumed.due_at - clock.now()).total_seconds() == pytest.approx(900)  # 1000 - 100 counted
    clock.advance(50)
    await rt.actions.resolve(h.id, "emma", Surface.API)
    done = (await clocks(rt, h.id))["resolution"]
    assert done.outcome is ClockOutcome.MET and done.elapsed_seconds == pytest.approx(150)
    assert done.paused_seconds == 5000
    lines = [x for e in await events(rt, h.id, EventKind.SLA_CLOCK) for x in e.data["changes"]]
    assert [(x["clock"], x["action"]) for x in lines if x["clock"] == "resolution"] == [
        ("resolution", "started"), ("resolution", "paused"), ("resolution", "resumed"), ("resolution", "stopped")]
    assert any(x["why"] == "waiting for the customer" for x in lines)


async def test_long_wait_bumps_once_and_says_why(rt: Any, clock: FakeClock) -> None:
    h = await intake(rt, customer={"plan": "free"})
    clock.advance(301)
    await rt.sla.tick()
    clock.advance(301)
    await rt.sla.tick()
    changes = await events(rt, h.id, EventKind.PRIORITY_CHANGED)
    bumps = [e for e in changes if e.data["code"] == "long_wait"]
    assert len(bumps) == 1 and "waited over 5 min unclaimed" in bumps[0].data["detail"]
    after = await handoff(rt, h.id)
    # the first-response breach at 100 s raised it low → medium; the long wait raises it once more
    assert [r.detail for r in after.reasons if r.code.startswith("sla.")] == [
        "first response target missed: low → medium", "waited over 5 min unclaimed: medium → high"]


async def test_frustration_in_a_new_customer_message_bumps_once(rt: Any, clock: FakeClock) -> None:
    h = await intake(rt, customer={"plan": "free"})
    await rt.conversation.customer_message(h.id, "ok, thanks")
    assert await events(rt, h.id, EventKind.PRIORITY_CHANGED) == []
    await rt.conversation.customer_message(h.id, "THIS IS UNACCEPTABLE, NOBODY IS ANSWERING ME")
    await rt.conversation.customer_message(h.id, "this is terrible, the worst service, I am furious")
    [bump] = await events(rt, h.id, EventKind.PRIORITY_CHANGED)
    assert bump.data["code"] == "frustration" and "capitals" in bump.data["detail"]


async def test_escalating_again_bumps_and_starts_the_tier_acknowledgement_clock(rt: Any, clock: FakeClock) -> None:
    h = await intake(rt, customer={"plan": "free"})
    await rt.actions.claim(h.id, "emma", Surface.API)
    await rt.actions.escalate(h.id, "emma", Surface.API)  # → L2: acknowledgement 15 min
    tier = (await clocks(rt, h.id))["tier_ack"]
    assert tier.target_seconds == 900 and tier.open
    assert await events(rt, h.id, EventKind.PRIORITY_CHANGED) == []
    clock.advance(60)
    await rt.actions.claim(h.id, "raj", Surface.API)
    assert (await clocks(rt, h.id))["tier_ack"].outcome is ClockOutcome.MET
    await rt.actions.escalate(h.id, "raj", Surface.API)  # a second escalation: a repeat
    [bump] = await events(rt, h.id, EventKind.PRIORITY_CHANGED)
    assert bump.data["code"] == "repeat_escalation"
    assert (await clocks(rt, h.id))["tier_ack"].target_seconds == 1800  # L3


async def test_transfer_keeps_the_clock_unless_the_policy_restarts_it(
        db_url: str, tmp_path: Path, clock: FakeClock) -> None:
    for restart, expected_due in ((False, 100), (True, 160)):
        config = write(tmp_path, sla={**CONFIG["sla"], "restart_on": ["transfer"] if restart else []})
        rt = await runtime_for(db_url, config, clock)
        try:
            h = await intake(rt)
            clock.advance(60)
            await rt.actions.transfer(h.id, "emma", Surface.API, to_queue="billing")
            fr = (await clocks(rt, h.id))["first_response"]
            assert fr.open and (fr.due_at - h.created_at).total_seconds() == expected_due
        finally:
            await rt.engine.dispose()


@pytest.mark.parametrize(("customer", "transcript", "code"), [
    ({"plan": "enterprise", "account_value": 250000}, None, "revenue_at_risk"),
    ({"plan": "free"}, "We will take legal action if this is not fixed today", "churn_or_legal"),
    ({"plan": "free"}, "honestly we are switching to another provider next month", "churn_or_legal"),
])
async def test_management_triggers_at_intake(db_url: str, tmp_path: Path, clock: FakeClock, customer: Any,
                                             transcript: str | None, code: str) -> None:
    config = write(tmp_path, sla={**CONFIG["sla"], "management": {"revenue_at_risk": 100000,
                                                                  "channels": {"slack": "C0MGMT"}}})
    rt = await runtime_for(db_url, config, clock)
    try:
        extra: dict[str, Any] = {"customer": customer}
        if transcript:
            extra["transcript"] = [{"role": "customer", "text": transcript}]
        h = await intake(rt, **extra)
        [m] = await events(rt, h.id, EventKind.MANAGEMENT_ESCALATED)
        assert [t["code"] for t in m.data["triggers"]] == [code] and m.data["channels"] == {"slack": "C0MGMT"}
        ack = (await clocks(rt, h.id))["management_ack"]
        assert ack.target_seconds == 1800 and ack.open
        await rt.actions.acknowledge(h.id, "raj", Surface.SLACK)
        assert (await clocks(rt, h.id))["management_ack"].outcome is ClockOutcome.MET
        with pytest.raises(IllegalTransition, match="already acknowledged by raj"):
            await rt.actions.acknowledge(h.id, "emma", Surface.SLACK)
    finally:
        await rt.engine.dispose()


async def test_a_customer_escalating_for_the_third_time_in_30_days_goes_to_management(
        rt: Any, clock: FakeClock) -> None:
    email = "again@example.com"
    first = await intake(rt, customer={"email": email, "plan": "free"})
    clock.advance(86400)
    second = await intake(rt, customer={"email": email, "plan": "free"})
    clock.advance(86400)
    third = await intake(rt, customer={"email": email, "plan": "free"})
    assert await events(rt, first.id, EventKind.MANAGEMENT_ESCALATED) == []
    assert await events(rt, second.id, EventKind.MANAGEMENT_ESCALATED) == []
    [m] = await events(rt, third.id, EventKind.MANAGEMENT_ESCALATED)
    assert m.data["triggers"][0] == {"code": "repeat_customer", "detail": "escalated 3 times in 30 days"}


async def test_an_enterprise_critical_handoff_open_over_four_hours_goes_to_management(
        rt: Any, clock: FakeClock) -> None:
    h = await intake(rt, customer={"plan": "enterprise"}, transcript=intake_body()["transcript"],
                     ai=intake_body()["ai"])
    after = await handoff(rt, h.id)
    assert after.priority in (Priority.CRITICAL, Priority.HIGH)
    await rt.actions.claim(h.id, "emma", Surface.API)
    clock.advance(4 * 3600 - 10)
    await rt.sla.tick()
    assert await events(rt, h.id, EventKind.MANAGEMENT_ESCALATED) == []
    clock.advance(20)
    await rt.sla.tick()
    [m] = await events(rt, h.id, EventKind.MANAGEMENT_ESCALATED)
    assert m.data["triggers"][0]["code"] == "enterprise_open_long"
    assert (await clocks(rt, h.id))["management_ack"].open


async def test_resolved_and_closed_handoffs_leave_no_clock_running(rt: Any, clock: FakeClock) -> None:
    h = await intake(rt)
    await rt.actions.claim(h.id, "emma", Surface.API)
    await rt.actions.resolve(h.id, "emma", Surface.API)
    assert all(c.stopped_at is not None for c in (await clocks(rt, h.id)).values())
    async with rt.deps.uow(read_only=True) as uow:
        kinds = await uow.analytics.clocks(h.created_at, clock.now().replace(year=clock.now().year + 1))
    assert set(kinds) == {"first_response", "resolution"}  # watches are not promises
    assert sum(kinds["first_response"]) == 1 and kinds["first_response"][1] == 0  # (met, breached)
    assert (await handoff(rt, h.id)).status is Status.RESOLVED


async def test_two_engines_ticking_at_once_fire_each_warning_once(pg_url: str, tmp_path: Path,
                                                                   clock: FakeClock) -> None:
    """Two processes' ticks on one PostgreSQL: FOR UPDATE SKIP LOCKED gives each due clock to one of them."""
    config = write(tmp_path)
    a, b = await runtime_for(pg_url, config, clock), await runtime_for(pg_url, config, clock)
    try:
        ids = [(await intake(a, customer={"plan": "free"})).id for _ in range(40)]
        clock.advance(85)
        for _ in range(3):
            await asyncio.gather(a.sla.tick(), b.sla.tick(), a.sla.tick(), b.sla.tick())
        clock.advance(20)
        for _ in range(3):
            await asyncio.gather(a.sla.tick(), b.sla.tick(), a.sla.tick(), b.sla.tick())
        for hid in ids:
            kinds = [e.kind for e in await events(a, hid, EventKind.SLA_WARNING, EventKind.SLA_BREACHED)
                     if e.data["clock"] == ClockKind.FIRST_RESPONSE.value]
            assert kinds == [EventKind.SLA_WARNING, EventKind.SLA_BREACHED], hid
    finally:
        await a.engine.dispose()
        await b.engine.dispose()


async def test_a_business_hours_resolution_clock_skips_the_weekend_and_a_holiday(
        db_url: str, tmp_path: Path) -> None:
    """Resolution 4 business hours, team Mon-Fri 09-17 UTC, Monday 7 Dec a holiday: a handoff claimed Friday
    16:00 is due Tuesday 12:00 (1 h Friday + 3 h Tuesday); pending time over the weekend changes nothing."""
    clock = FakeClock(datetime(2026, 12, 4, 16, 0, tzinfo=UTC))  # Friday
    hours = {"timezone": "UTC", "weekly": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
             "holidays": ["2026-12-07"]}
    config = write(tmp_path, business_hours=hours, sla={**CONFIG["sla"], "priorities": {
        p: {"first_response": "100s", "resolution": "4h", "business_hours": True}
        for p in ("critical", "high", "medium", "low")}})
    rt = await runtime_for(db_url, config, clock)
    try:
        h = await intake(rt)
        res = (await clocks(rt, h.id))["resolution"]
        assert res.business_hours and res.calendar == h.queue
        assert res.due_at == datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
        assert res.warn_at == datetime(2026, 12, 8, 11, 12, tzinfo=UTC)  # 80 % of 4 h = 3 h 12 min
        await rt.actions.claim(h.id, "emma", Surface.API)
        clock.t = datetime(2026, 12, 8, 11, 11, tzinfo=UTC)  # Tuesday, a minute before the warning point
        await rt.sla.tick()
        assert await events(rt, h.id, EventKind.SLA_WARNING) == []
        clock.t = datetime(2026, 12, 8, 11, 13, tzinfo=UTC)
        await rt.sla.tick()
        [w] = await events(rt, h.id, EventKind.SLA_WARNING)
        assert w.data["clock"] == "resolution" and w.data["percent"] == 80
        clock.t = datetime(2026, 12, 8, 11, 30, tzinfo=UTC)
        await rt.actions.resolve(h.id, "emma", Surface.API)
        done = (await clocks(rt, h.id))["resolution"]
        assert done.outcome is ClockOutcome.MET and done.elapsed_seconds == 3.5 * 3600  # 1 h Fri + 2.5 h Tue
    finally:
        await rt.engine.dispose()


async def test_after_hours_raises_the_priority_and_can_route_to_an_on_call_queue(
        db_url: str, tmp_path: Path) -> None:
    saturday = FakeClock(datetime(2026, 12, 5, 11, 0, tzinfo=UTC))
    weekday = FakeClock(WEDNESDAY)
    config = write(tmp_path)
    for clock, expected in ((weekday, Priority.LOW), (saturday, Priority.MEDIUM)):
        rt = await runtime_for(db_url, config, clock)
        try:
            h = await intake(rt)
            assert h.priority is expected and h.queue == "technical"
        finally:
            await rt.engine.dispose()
    on_call = write(tmp_path, sla={**CONFIG["sla"], "after_hours_queue": "general"},
                    queues={**CONFIG["queues"], "technical": {**CONFIG["queues"]["technical"], "hours": {
                        "timezone": "Asia/Tokyo", "weekly": {"sat": ["09:00-12:00"]}}}})
    rt = await runtime_for(db_url, on_call, saturday)  # 20:00 in Tokyo: the technical team has gone home
    try:
        h = await intake(rt)
        assert h.queue == "general"
        assert any(r.code == "sla.after_hours_queue" and "Technical team is off" in r.detail for r in h.reasons)
    finally:
        await rt.engine.dispose()


async def test_the_customer_hears_when_the_team_is_back_and_updates_follow_the_policy_cadence(
        db_url: str, tmp_path: Path) -> None:
    saturday = FakeClock(datetime(2026, 12, 5, 11, 0, tzinfo=UTC))
    hours = {"timezone": "UTC", "weekly": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}
    config = write(tmp_path, queues={**CONFIG["queues"], "technical": {**CONFIG["queues"]["technical"],
                                                                       "hours": hours}},
                   sla={**CONFIG["sla"], "plans": {"enterprise": {p: {"update_every": "30s"} for p in
                                                                  ("critical", "high", "medium", "low")}}})
    rt = await runtime_for(db_url, config, saturday)
    try:
        h = await intake(rt)
        wait = await rt.waits.customer_wait(h, 1)
        assert wait is not None and wait.state == "nobody_on_shift"
        assert wait.back_at == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # Monday morning
        from handoff.services.updates import CustomerUpdates

        updates = CustomerUpdates(rt.deps, rt.waits)
        assert h.priority is Priority.MEDIUM  # low, one level up on a Saturday
        assert updates.policy_for(h, "free").max_interval_seconds == 90  # the built-in medium-priority cadence
        assert updates.policy_for(h, "enterprise").max_interval_seconds == 30  # the plan's policy
        assert updates.policy_for(h, "enterprise").min_interval_seconds == 30
    finally:
        await rt.engine.dispose()
