"""Fault test: both CRMs answer 500, then 429 with Retry-After, then time out, for minutes of simulated time.

The handoffs live their whole lives meanwhile (claim, transfer, messages, resolution, CSAT). Through the real
dispatcher, simple-salesforce and hubspot-api-client against the fakes, afterwards every Case and ticket exists
exactly once and every timeline entry exactly once, nothing is dead-lettered, Retry-After is honoured (no
hammering), and the sync recovers with no manual step. The dispatcher runs on a clock that jumps ahead, so
the nine minutes of weather take seconds; the retry policy is the production default.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from handoff.services.dispatcher import Dispatcher
from integrations.hubspot.integration import hubspot_integration
from integrations.salesforce.integration import salesforce_integration
from tests.conftest import make_settings
from tests.crm.lifecycle import RunningClock, create, steps, timeline_kinds
from tests.support.outages import FlakyHubSpot, FlakySalesforce, Weather

pytestmark = pytest.mark.slow

EMAIL = "pat.obrien@x.com"
HANDOFFS = 5
TICK = 5.0  # simulated seconds between dispatcher rounds
PHASES = [(0.0, 180.0, "500"), (180.0, 360.0, "429"), (360.0, 540.0, "timeout")]
RETRY_AFTER = 30
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def sf() -> Iterator[FlakySalesforce]:
    with FlakySalesforce() as fake:
        fake.set_picklist("Case", "Origin", ("Phone", "Email", "Web", "Chat"))
        acct = fake.add_account("Acme Ltd", Type="Customer - Enterprise", AnnualRevenue=250000)
        fake.add_contact(EMAIL, last_name="O'Brien", first_name="Pat", account_id=acct)
        yield fake
        assert fake.contract_violations == []


@pytest.fixture
def hs() -> Iterator[FlakyHubSpot]:
    with FlakyHubSpot() as fake:
        fake.add_company("Acme Ltd", "acme.example", properties={"annualrevenue": "250000"})
        fake.add_contact(EMAIL, "Pat", "O'Brien", company="Acme Ltd")
        yield fake
        assert fake.contract_violations == [] and fake.server_errors == []


def sf_entries(sf: FlakySalesforce, hid: str) -> list[int]:
    cases = [c for c in sf.cases.values() if c.get("Baton_Handoff_Id__c") == hid]
    assert len(cases) == 1, f"{len(cases)} cases for {hid}"
    return [int(m) for c in sf.comments_for(cases[0]["Id"]) for m in re.findall(r"\[baton:(\d+)\]", c["CommentBody"])]


def hs_entries(hs: FlakyHubSpot, hid: str) -> list[int]:
    tickets = [t for t in hs.tickets.values() if t.properties.get("baton_handoff_id") == hid]
    assert len(tickets) == 1, f"{len(tickets)} tickets for {hid}"
    notes = [hs.notes[n] for n in hs.associated_ids("tickets", tickets[0].id, "notes")]
    return sorted(int(n.properties["baton_event_key"].split(":")[1]) for n in notes)


async def outbox(rt: Any) -> tuple[dict[str, int], int]:
    async with rt.deps.uow(read_only=True) as uow:
        counts = dict(await uow.outbox.counts())
        items = await uow.outbox.list(status=None, limit=100_000)
    return counts, sum(i.attempts for i in items)


async def test_crm_outage_for_minutes_loses_and_duplicates_nothing(
        db_url: str, sf: FlakySalesforce, hs: FlakyHubSpot) -> None:
    from app import build, sync_agents

    env = {"SALESFORCE_INSTANCE_URL": sf.instance_url, "SALESFORCE_ACCESS_TOKEN": sf.session_id,
           "HUBSPOT_ACCESS_TOKEN": hs.access_token, "HUBSPOT_API_URL": hs.base_url,
           "CRM_OUTAGE_PAUSE_SECONDS": "10", "CRM_CALL_TIMEOUT_SECONDS": "0.3", "CRM_LOOKUP_TIMEOUT_SECONDS": "0.3"}
    rt = build(make_settings(db_url, **env), integrations=[salesforce_integration, hubspot_integration],
               with_log=False)
    await sync_agents(rt)
    clock = RunningClock()
    weather = Weather(now=clock.now, t0=clock.now(), phases=PHASES, retry_after=RETRY_AFTER)
    sf.weather = hs.weather = weather
    d = Dispatcher(replace(rt.deps, clock=clock), rt.destinations)
    started = time.perf_counter()
    try:
        hids = [await create(rt, EMAIL) for _ in range(HANDOFFS)]  # intake never waits for a CRM
        lives = [steps(rt, hid) for hid in hids]
        recovered_at = None
        while weather.elapsed() < weather.ends_at + 4 * 3600:
            for life in lives:  # the support day goes on during the outage: one step per handoff per tick
                if life:
                    await life.pop(0)()
            while await d.drain_once():
                pass
            counts, _ = await outbox(rt)
            if weather.elapsed() >= weather.ends_at and not any(lives) and set(counts) <= {"done", "dead"}:
                recovered_at = weather.elapsed()
                break
            clock.advance(TICK if weather.elapsed() < weather.ends_at else 6 * TICK)
        assert recovered_at is not None, f"not drained 4 simulated hours after the outage: {counts}"
        counts, attempts = await outbox(rt)
        assert counts.keys() == {"done"}, counts  # nothing pending, nothing dead
        for hid in hids:
            expected = [i for i, _ in await timeline_kinds(rt, hid)]
            assert sf_entries(sf, hid) == expected
            assert hs_entries(hs, hid) == expected
        assert len(sf.cases) == HANDOFFS and len(hs.tickets) == HANDOFFS
        limited = len(weather.calls("429"))
        # Honoured: each CRM destination (sync, enrichment) calls at most once per Retry-After while limited.
        per_destination = (PHASES[1][1] - PHASES[1][0]) / RETRY_AFTER + 1
        assert limited <= 4 * per_destination, f"{limited} calls while rate-limited"
        entries = [len(await timeline_kinds(rt, h)) for h in hids]
        figures = {
            "simulated_outage_seconds": weather.ends_at, "handoffs": HANDOFFS,
            "timeline_entries": sum(entries), "real_seconds": round(time.perf_counter() - started, 1),
            "calls": {k: len(weather.calls(k)) for k in ("500", "429", "timeout", "ok")},
            "recovery_simulated_seconds": round(recovered_at - weather.ends_at, 1),
            "attempts_spent": attempts, "dead": counts.get("dead", 0), "lost": 0, "duplicates": 0,
            "outbox_items": counts["done"],
        }
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"outage_crm_{db_url.split(':')[0]}.json").write_text(json.dumps(figures, indent=2))
        print(f"\nCRM outage ({db_url.split(':')[0]}): {json.dumps(figures)}")
    finally:
        await rt.engine.dispose()


def test_weather_schedule_is_by_simulated_time() -> None:
    clock = RunningClock()
    w = Weather(now=clock.now, t0=clock.now(), phases=PHASES)
    assert w.current("/a") == "500"
    clock.advance(200)
    assert w.current("/a") == "429"
    clock.advance(200)
    assert w.current("/a") == "timeout"
    clock.advance(timedelta(minutes=10).total_seconds())
    assert w.current("/a") is None and [k for _, k, _ in w.log] == ["500", "429", "timeout", "ok"]
