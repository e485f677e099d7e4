"""Both CRMs at once, through failures: lost answers, outages, then a full replay of every outbox item.

Done when one handoff's life yields exactly one Case and one ticket in the right final state with every
timeline entry in order — also when the run is interrupted and replayed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from integrations.hubspot.integration import hubspot_integration
from integrations.salesforce.integration import salesforce_integration
from tests.crm.conftest import hs_env, sf_env
from tests.crm.lifecycle import RunningClock, create, dispatcher, drain, steps, timeline_kinds
from tests.fakes.hubspot_api import FakeHubSpot
from tests.fakes.salesforce_api import FakeSalesforce


async def settle(d: Any, clock: RunningClock, rounds: int = 12) -> None:
    """Drain, then let every retry come due, until nothing is left."""
    for _ in range(rounds):
        await drain(d)
        clock.advance(3600)


async def outbox_left(rt: Any) -> dict[str, int]:
    async with rt.deps.uow(read_only=True) as uow:
        return dict(await uow.outbox.counts())


async def reset_outbox(rt: Any) -> None:
    """Forget every delivery: as if the process crashed before recording any outcome."""
    async with rt.engine.begin() as conn:
        await conn.execute(text("UPDATE outbox SET status = 'pending', attempts = 0, lease_owner = NULL, "
                                "lease_until = NULL, delivered_at = NULL, next_attempt_at = created_at"))


def sf_timeline(sf: FakeSalesforce, hid: str) -> list[int]:
    case = sf.case_by_handoff(hid)
    assert case is not None
    return [int(m) for c in sf.comments_for(case["Id"]) for m in re.findall(r"\[baton:(\d+)\]", c["CommentBody"])]


def hs_timeline(hs: FakeHubSpot, hid: str) -> list[int]:
    tickets = [t for t in hs.tickets.values() if t.properties.get("baton_handoff_id") == hid]
    assert len(tickets) == 1
    notes = [hs.notes[n] for n in hs.associated_ids("tickets", tickets[0].id, "notes")]
    keys = sorted((n.properties["hs_timestamp"], int(n.properties["baton_event_key"].split(":")[1])) for n in notes)
    return [k for _, k in keys]


async def check(rt: Any, sf: FakeSalesforce, hs: FakeHubSpot, hid: str) -> None:
    expected = [i for i, _ in await timeline_kinds(rt, hid)]
    assert len([c for c in sf.cases.values() if c.get("Baton_Handoff_Id__c") == hid]) == 1
    assert sf_timeline(sf, hid) == expected and len(sf.case_comments) == len(expected)
    assert sf.case_by_handoff(hid)["Status"] == "Closed"  # type: ignore[index]
    assert hs_timeline(hs, hid) == expected and len(hs.notes) == len(expected)
    ticket = next(t for t in hs.tickets.values() if t.properties.get("baton_handoff_id") == hid)
    assert ticket.properties["hs_pipeline_stage"] == "4" and len(hs.tickets) == 1


async def test_interrupted_life_then_full_replay_never_duplicates(
        make_rt: Callable[..., Any], sf: FakeSalesforce, hs: FakeHubSpot) -> None:
    rt = await make_rt({**sf_env(sf), **hs_env(hs)}, [salesforce_integration, hubspot_integration])
    clock = RunningClock()
    d = dispatcher(rt, clock)
    hid = await create(rt)
    await drain(d)
    life = steps(rt, hid)
    for n, step in enumerate(life):
        await step()
        if n == 1:  # the CRMs committed, but their answers were lost
            sf.fail_next("composite", 504, commit=True)
            hs.fail_next("/crm/v3/objects/notes/batch/create", 502, commit=True)
        if n == 4:  # both down for a while: the handoff goes on, the sync waits
            sf.outage()
            hs.outage()
        if n == 8:
            sf.end_outage()
            hs.end_outage()
        await drain(d)
    await settle(d, clock)
    assert (await outbox_left(rt)).keys() == {"done"}
    await check(rt, sf, hs, hid)
    assert any("FROM CaseComment" in str(c.query.get("q")) for c in sf.calls)  # the lost answer was reconciled
    assert 409 in [c.status for c in hs.iter_calls("POST", "/crm/v3/objects/notes/batch/create")]  # … and here
    calls_before = len(sf.calls), len(hs.calls)
    await reset_outbox(rt)
    await settle(d, clock)
    await check(rt, sf, hs, hid)
    assert len(sf.calls) > calls_before[0] and len(hs.calls) > calls_before[1]  # the replay did talk to both


async def test_crash_between_write_and_record_is_reconciled(
        make_rt: Callable[..., Any], sf: FakeSalesforce, hs: FakeHubSpot) -> None:
    """The worst interruption: the CRM wrote, Baton recorded nothing (pending marks stay), items re-run."""
    rt = await make_rt(sf_env(sf), [salesforce_integration])
    clock = RunningClock()
    d = dispatcher(rt, clock)
    hid = await create(rt)
    for step in steps(rt, hid)[:5]:
        await step()
    sync = next(x for x in rt.destinations if x.name == "salesforce")
    real_record = sync._record

    async def crash(*_: Any) -> None:
        raise RuntimeError("process killed before recording")

    sync._record = crash
    assert await d.drain_once() > 0 and len(sf.case_comments) > 0  # written in Salesforce, nothing recorded
    sync._record = real_record
    await settle(d, clock)
    expected = [i for i, _ in await timeline_kinds(rt, hid)]
    assert sf_timeline(sf, hid) == expected and len(sf.case_comments) == len(expected)


async def test_an_outage_spends_one_probe_attempt_per_call_and_only_delays(
        make_rt: Callable[..., Any], sf: FakeSalesforce, hs: FakeHubSpot) -> None:
    rt = await make_rt(hs_env(hs), [hubspot_integration])
    clock = RunningClock()
    d = dispatcher(rt, clock)
    hids = [await create(rt, email=f"pat{i}@x.com") for i in range(3)]  # three customers (one thrice: management)
    hs.outage()
    for _ in range(5):  # hours of outage, one probe per pause
        await d.drain_once()
        clock.advance(3600)
    async with rt.deps.uow(read_only=True) as uow:
        waiting = [i for i in await uow.outbox.list(status="pending", limit=50) if i.destination == "hubspot"]
    assert len(waiting) == 3 and sorted(i.attempts for i in waiting)[:2] == [0, 0]  # the backlog is untouched
    hs.end_outage()
    await settle(d, clock)
    assert (await outbox_left(rt)).keys() == {"done"}
    assert sorted(t.properties["baton_handoff_id"] for t in hs.tickets.values()) == sorted(hids)
