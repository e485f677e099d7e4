"""Wait estimates from the database: the snapshot the estimator sees, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from handoff.services.waits import WaitTimes
from tests.customer.conftest import KEY, new_handoff
from tests.support.clock import FakeClock


async def estimate(crt: Any, handoff_id: str, ttl: float = 0) -> Any:
    waits = WaitTimes(crt.deps, ttl=ttl)
    view = await crt.queries.handoff(handoff_id)
    return await waits.estimate(view.handoff, view.position)


async def test_free_agent_means_no_wait_and_busy_agents_mean_a_number(cclient: Any, crt: Any) -> None:
    a = await new_handoff(cclient)
    assert a["estimated_wait_seconds"] == 0  # the intake answer carries the same estimate (a free agent)
    free = await estimate(crt, a["id"])
    assert free is not None and free.seconds == 0 and "free slots" in free.basis
    for agent in ("emma", "raj"):  # fill every slot
        h = await new_handoff(cclient)
        await cclient.post(f"/v1/handoffs/{h['id']}/claim", json={"agent_id": agent}, headers=KEY)
    busy = await estimate(crt, a["id"])
    assert busy is not None and busy.seconds > 0 and busy.low <= busy.seconds <= busy.high
    b = await new_handoff(cclient)
    behind = await estimate(crt, b["id"])
    assert behind is not None and behind.seconds >= busy.seconds  # one more ahead never shortens the wait
    assert "position 2" in behind.basis
    # Intake keeps what its answer promised (analytics compares it with the actual wait).
    from sqlalchemy import select

    from handoff.store import tables as t

    async with crt.engine.connect() as conn:
        stored = dict((await conn.execute(select(t.handoffs.c.id, t.handoffs.c.promised_wait_seconds))).all())
    assert stored[a["id"]] == 0 == a["estimated_wait_seconds"]
    assert stored[b["id"]] == b["estimated_wait_seconds"]


async def test_nobody_on_shift_is_said_plainly_never_longer_than_usual(cclient: Any, crt: Any) -> None:
    for agent in ("emma", "raj"):
        await cclient.put(f"/v1/agents/{agent}", json={"status": "offline"}, headers=KEY)
    h = await new_handoff(cclient)
    est = await estimate(crt, h["id"])
    assert est is not None and est.longer_than_usual and est.confidence == "low"  # the estimator: no number
    view = await crt.queries.handoff(h["id"])
    wait = await WaitTimes(crt.deps, ttl=0).customer_wait(view.handoff, view.position)
    assert wait is not None and wait.state == "nobody_on_shift" and wait.seconds is None
    assert wait.back_at is None  # nobody has working hours: when they are back is unknown, and not made up
    assert h["estimated_wait_seconds"] is None and h["wait"] == wait.as_json()
    assert "Nobody on our team is working right now" in h["customer_message"]
    assert "longer than usual" not in h["customer_message"]


async def test_recent_handle_times_feed_the_estimate(cclient: Any, crt: Any) -> None:
    h = await new_handoff(cclient)
    await cclient.post(f"/v1/handoffs/{h['id']}/claim", json={"agent_id": "emma"}, headers=KEY)
    await cclient.post(f"/v1/handoffs/{h['id']}/resolve", json={"agent_id": "emma"}, headers=KEY)
    waits = WaitTimes(replace(crt.deps, clock=FakeClock(crt.deps.now() + timedelta(seconds=1))), ttl=0)
    async with crt.deps.uow(read_only=True) as uow:
        times = await uow.customer_side.handle_times(crt.deps.now() - timedelta(days=1), 10)
    assert list(times) == [h["queue"]] and len(times[h["queue"]]) == 1
    nxt = await new_handoff(cclient)
    view = await crt.queries.handoff(nxt["id"])
    est = await waits.estimate(view.handoff, view.position)
    assert est is not None and "from 1 recent" in est.basis


async def test_claimed_handoffs_have_no_estimate(cclient: Any, crt: Any) -> None:
    h = await new_handoff(cclient)
    await cclient.post(f"/v1/handoffs/{h['id']}/claim", json={"agent_id": "emma"}, headers=KEY)
    assert await estimate(crt, h["id"]) is None
    assert await WaitTimes(crt.deps).customer_wait((await crt.queries.handoff(h["id"])).handoff, 0) is None


async def test_a_queue_change_reaches_status_at_once_and_intake_answers_within_ttl(cclient: Any, crt: Any) -> None:
    clock = FakeClock(crt.deps.now())
    waits = WaitTimes(replace(crt.deps, clock=clock), ttl=3600)
    a = await new_handoff(cclient)
    h = (await crt.queries.handoff(a["id"])).handoff
    before = await waits.customer_wait(h, 1)
    assert before is not None and before.seconds == 0  # two free agents
    for agent in ("emma", "raj"):  # now nobody has a free slot
        other = await new_handoff(cclient)
        await cclient.post(f"/v1/handoffs/{other['id']}/claim", json={"agent_id": agent}, headers=KEY)
    waits.invalidate()  # what the SSE destination does on each queue change
    clock.t = crt.deps.now()  # one moment from here on
    reused = await waits.intake_wait(h, 1)
    assert reused is not None and reused.seconds == 0  # an intake burst reuses the snapshot (at most ttl old)
    fresh = await waits.customer_wait(h, 1)
    assert fresh is not None and fresh.seconds is not None and fresh.seconds > 0  # status, SSE, updates: current
    assert await waits.intake_wait(h, 1) == fresh  # and the intake reads the reloaded snapshot from then on


async def test_concurrent_readers_share_one_snapshot_load(cclient: Any, crt: Any) -> None:
    """Fifty requests that all need the queue at once load it once, not fifty times (no thundering herd); a
    reader that needs the queue as of now (after an invalidation) does not take a load that started before."""
    import asyncio

    from sqlalchemy import event

    h = await new_handoff(cclient)
    view = await crt.queries.handoff(h["id"])
    waits = WaitTimes(crt.deps, ttl=60)
    loads: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM handoffs" in statement and "ORDER BY handoffs.priority_rank" in statement:
            loads.append(statement)

    event.listen(crt.engine.sync_engine, "before_cursor_execute", count)
    try:
        answers = await asyncio.gather(*(waits.intake_wait(view.handoff, view.position) for _ in range(50)))
        assert len(loads) == 1 and len({a.as_json()["state"] for a in answers if a}) == 1
        await waits.customer_wait(view.handoff, view.position)
        assert len(loads) == 1  # fresh and not invalidated: read from memory
        waits.invalidate()
        await asyncio.gather(*(waits.customer_wait(view.handoff, view.position) for _ in range(20)),
                             *(waits.intake_wait(view.handoff, view.position) for _ in range(20)))
        assert len(loads) == 2  # one reload after the queue changed, shared by every reader
    finally:
        event.remove(crt.engine.sync_engine, "before_cursor_execute", count)
