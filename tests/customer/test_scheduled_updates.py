"""Scheduled customer updates: cadence, callback offer, parking, and two schedulers never sending twice."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from handoff.models import EventKind
from handoff.services.updates import CustomerUpdates
from handoff.services.waits import WaitTimes
from tests.customer.conftest import KEY, new_handoff
from tests.support.clock import FakeClock


def updates_for(rt: Any, clock: FakeClock) -> CustomerUpdates:
    deps = replace(rt.deps, clock=clock)
    return CustomerUpdates(deps, WaitTimes(deps, ttl=0))


async def listen(ticker: CustomerUpdates, rt: Any, handoff_id: str) -> None:
    """The customer has the widget open (what a status poll or an SSE stream does), on the ticker's clock."""
    async with rt.deps.uow(read_only=True) as uow:
        h = await uow.handoffs.get(handoff_id)
    assert h is not None
    await ticker.listening(h)


async def sent(rt: Any, handoff_id: str) -> list[dict[str, Any]]:
    async with rt.deps.uow(read_only=True) as uow:
        return [dict(e.data) for e in await uow.events.for_handoff(handoff_id)
                if e.kind is EventKind.CUSTOMER_UPDATE_SENT]


async def test_wait_updates_follow_the_cadence_and_stop_once_claimed(cclient: Any, crt: Any) -> None:
    h = await new_handoff(cclient)
    clock = FakeClock()
    ticker = updates_for(crt, clock)
    await listen(ticker, crt, h["id"])
    assert await ticker.tick() == 0  # the escalation message was the first word; the next comes a minute later
    clock.advance(59)
    assert await ticker.tick() == 0
    clock.advance(2)
    assert await ticker.tick() == 1
    assert await ticker.tick() == 0  # due_at moved on: a second tick at the same moment sends nothing
    [first] = await sent(crt, h["id"])
    assert first["update"] == "wait_update" and first["position"] == 1 and first["queue"] == h["queue"]
    assert first["wait_seconds"] is not None
    clock.advance(91)
    assert await ticker.tick() == 1
    await cclient.post(f"/v1/handoffs/{h['id']}/claim", json={"agent_id": "emma"}, headers=KEY)
    clock.advance(200)
    assert await ticker.tick() == 0  # claimed: parked, nothing sent
    await cclient.post(f"/v1/handoffs/{h['id']}/release", json={"agent_id": "emma"}, headers=KEY)
    assert await ticker.tick() == 0  # waiting again: rescheduled one interval ahead
    clock.advance(61)
    assert await ticker.tick() == 1
    assert len(await sent(crt, h["id"])) == 3


async def test_long_wait_gets_one_callback_offer(cclient: Any, crt: Any) -> None:
    for agent in ("emma", "raj"):  # nobody on shift: an honest "longer than usual"
        r = await cclient.put(f"/v1/agents/{agent}", json={"status": "offline"}, headers=KEY)
        assert r.status_code == 200, r.text
    h = await new_handoff(cclient)
    clock = FakeClock()
    ticker = updates_for(crt, clock)
    await listen(ticker, crt, h["id"])
    await ticker.tick()
    kinds = []
    for _ in range(10):
        clock.advance(91)
        await listen(ticker, crt, h["id"])  # the widget stays open (polls), so the schedule goes on
        await ticker.tick()
    kinds = [u["update"] for u in await sent(crt, h["id"])]
    assert kinds.count("callback_offer") == 1
    offer_at = kinds.index("callback_offer")
    assert all(k == "wait_update" for k in kinds[:offer_at]) and offer_at >= 5  # after 600 s, not before
    offer = (await sent(crt, h["id"]))[offer_at]
    assert offer["longer_than_usual"] is True and offer["waited_seconds"] >= 600


async def test_updates_reach_the_outbox_destinations(cclient: Any, crt: Any) -> None:
    h = await new_handoff(cclient)
    clock = FakeClock()
    ticker = updates_for(crt, clock)
    await listen(ticker, crt, h["id"])
    await ticker.tick()
    clock.advance(61)
    await ticker.tick()
    while await crt.dispatcher.drain_once():
        pass
    recorder = next(d for d in crt.destinations if d.name == "recorder")
    assert recorder.kinds_for(h["id"]) == ["created", "customer_update_sent"]


async def test_two_schedulers_never_send_the_same_update_twice(cclient: Any, crt: Any, db_url: str,
                                                               config_path: str) -> None:
    from app import build
    from tests.customer.conftest import customer_settings

    ids = [(await new_handoff(cclient))["id"] for _ in range(25)]
    other = build(customer_settings(db_url, config_path), with_log=False)  # a second process: its own pool
    try:
        clock = FakeClock()
        a, b = updates_for(crt, clock), updates_for(other, clock)
        for hid in ids:
            await listen(a, crt, hid)
        a.batch_size = b.batch_size = 4  # many small batches, so the two really interleave
        await asyncio.gather(a.tick(), b.tick())
        clock.advance(61)
        counts = await asyncio.gather(a.tick(), b.tick(), a.tick(), b.tick())
        assert sum(counts) == 25, counts
        for hid in ids:
            assert len(await sent(crt, hid)) == 1
    finally:
        await other.engine.dispose()


async def _rows(rt: Any) -> dict[str, Any]:
    from sqlalchemy import select

    from handoff.store import tables

    u = tables.customer_updates.c
    async with rt.deps.uow(read_only=True) as uow:
        return {r.handoff_id: r.due_at for r in await uow.connection.execute(select(u.handoff_id, u.due_at))}


async def test_only_customers_who_listen_get_updates(cclient: Any, crt: Any) -> None:
    """A customer who closed the widget is sent nothing and costs the scheduler no row; one who polls (or
    streams) gets the cadence while they listen, and is dropped once they stop; a webhook always listens."""
    from handoff.services.updates import LISTEN_SECONDS
    from tests.customer.conftest import bearer

    gone = await new_handoff(cclient)
    polling = await new_handoff(cclient)
    hooked = await new_handoff(cclient, callback_url="https://hooks.example.com/baton")
    clock = FakeClock()
    ticker = updates_for(crt, clock)
    # The widget's status poll is what marks a customer as listening (the app's own ticker, the real clock).
    r = await cclient.get(f"/v1/handoffs/{polling['id']}/status", headers=bearer(polling["customer_token"]))
    assert r.status_code == 200
    await ticker.tick()
    rows = await _rows(crt)
    assert set(rows) == {polling["id"], hooked["id"]}  # nobody listens to the first one: no row at all
    clock.advance(61)
    assert await ticker.tick() == 2
    assert await sent(crt, gone["id"]) == []
    # Time passes with no poll: the poll's mark runs out and the row goes at its next due time.
    for _ in range(int(LISTEN_SECONDS // 90) + 2):
        clock.advance(91)
        await ticker.tick()
    assert set(await _rows(crt)) == {hooked["id"]}
    heard = len(await sent(crt, polling["id"]))
    assert heard >= 2 and len(await sent(crt, hooked["id"])) > heard  # the webhook kept getting them
    # The customer opens the widget again: updates resume, one short interval later.
    await listen(ticker, crt, polling["id"])
    clock.advance(61)
    await ticker.tick()
    assert len(await sent(crt, polling["id"])) == heard + 1


async def test_the_schedule_upkeep_is_bounded_per_tick(cclient: Any, crt: Any) -> None:
    """Webhook handoffs get their rows a bounded batch per tick (never one statement for thousands)."""
    hooked = [await new_handoff(cclient, callback_url="https://hooks.example.com/baton") for _ in range(5)]
    clock = FakeClock()
    async with crt.deps.uow() as uow:
        made = await uow.customer_side.ensure_schedules(clock.now(), clock.now(), limit=2)
        await uow.commit()
    assert made == 2 and len(await _rows(crt)) == 2
    ticker = updates_for(crt, clock)
    ticker.batch_size = 1  # ensure_schedules takes batch_size * 10 per tick
    await ticker.tick()
    assert set(await _rows(crt)) == {h["id"] for h in hooked}


async def test_the_tick_does_not_wait_on_an_agent_holding_a_handoff(pg_url: str, config_path: str) -> None:
    """An agent's transaction holding a waiting handoff (a claim in progress, on another process) is skipped, not
    waited on; its update goes out on the next tick. The tick used to lock each handoff in turn and hold every
    lock until the batch committed: on a busy PostgreSQL the agents' claims queued behind it for seconds."""
    import asyncpg  # type: ignore[import-untyped]

    from app import build, sync_agents
    from bot.web.customer import customer_integration
    from tests.customer.conftest import customer_settings
    from tests.support.clients import asgi_client

    rt = build(customer_settings(pg_url, config_path), integrations=[customer_integration], with_log=False)
    await sync_agents(rt)
    try:
        async with asgi_client(rt) as client:
            busy, free = [(await new_handoff(client))["id"] for _ in range(2)]
        clock = FakeClock()
        ticker = updates_for(rt, clock)
        for hid in (busy, free):
            await listen(ticker, rt, hid)
        await ticker.tick()
        clock.advance(61)
        agent = await asyncpg.connect(pg_url)
        try:
            holding = agent.transaction()
            await holding.start()
            await agent.execute("SELECT 1 FROM handoffs WHERE id = $1 FOR UPDATE", busy)
            assert await asyncio.wait_for(ticker.tick(), 10) == 1  # the free one; the busy one is not waited on
            assert await sent(rt, busy) == [] and len(await sent(rt, free)) == 1
            await holding.rollback()
        finally:
            await agent.close()
        assert await ticker.tick() == 1  # the agent let go: the skipped update goes out now
        assert len(await sent(rt, busy)) == 1 and len(await sent(rt, free)) == 1
    finally:
        await rt.engine.dispose()
