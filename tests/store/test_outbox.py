"""The transactional outbox and the dispatcher, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from handoff.models import Actor, Surface
from handoff.outbox import OutboxStatus, PermanentFailure, RetryLater, RetryPolicy
from handoff.services.dispatcher import Dispatcher
from tests.support.clock import FakeClock
from tests.support.destinations import RecordingDestination
from tests.support.factories import intake_body


def recorder_of(rt: Any) -> RecordingDestination:
    return next(d for d in rt.destinations if isinstance(d, RecordingDestination))


async def new_handoff(rt: Any) -> str:
    """A handoff from a customer seen for the first time (one customer escalating dozens of times would, rightly,
    go to management: events these tests do not count)."""
    import uuid

    from handoff.contract import HandoffIn

    body = intake_body(customer={"email": f"{uuid.uuid4().hex[:12]}@example.com"})
    return (await rt.intake.submit(HandoffIn.model_validate(body))).handoff.id


async def statuses(rt: Any) -> dict[str, int]:
    async with rt.deps.uow(read_only=True) as uow:
        return dict(await uow.outbox.counts())


async def drain(d: Dispatcher) -> int:
    total = 0
    while n := await d.drain_once():
        total += n
    return total


async def test_state_change_and_its_messages_commit_together(runtime: Any) -> None:
    hid = await new_handoff(runtime)
    await runtime.actions.claim(hid, "emma", Surface.SLACK)
    assert await statuses(runtime) == {"pending": 2}
    # A refused action writes neither state nor messages.
    with pytest.raises(Exception, match="already claimed"):
        await runtime.actions.claim(hid, "raj", Surface.SLACK)
    assert await statuses(runtime) == {"pending": 2}
    rec = recorder_of(runtime)
    assert await drain(runtime.dispatcher) == 2
    assert rec.kinds_for(hid) == ["created", "claimed"]
    item = rec.delivered[rec.order[1]]
    assert item.payload["actor"] == "agent:emma" and item.payload["source"] == "slack"
    assert item.idempotency_key == f"recorder:{hid}:{item.payload['event_id']}"
    assert await statuses(runtime) == {"done": 2}


async def test_lanes_keep_order_across_many_events(runtime: Any) -> None:
    ids = [await new_handoff(runtime) for _ in range(5)]
    for hid in ids:
        await runtime.actions.claim(hid, "emma", Surface.API)
        await runtime.actions.add_note(hid, Actor.agent("emma"), Surface.API, "n1")
        await runtime.actions.resolve(hid, "emma", Surface.API)
    await drain(runtime.dispatcher)
    rec = recorder_of(runtime)
    for hid in ids:
        assert rec.kinds_for(hid) == ["created", "claimed", "note_added", "resolved"]


async def test_failures_back_off_keep_order_and_then_deliver(runtime: Any) -> None:
    rec = recorder_of(runtime)
    hid = await new_handoff(runtime)
    await runtime.actions.claim(hid, "emma", Surface.API)
    clock = FakeClock()
    d = Dispatcher(replace(runtime.deps, clock=clock), [rec],
                   policy=RetryPolicy(base_seconds=2, cap_seconds=60, max_attempts=5))
    rec.failures = [RuntimeError("slack timed out")]
    assert await d.drain_once() == 2  # head fails, the claim behind it is released untouched
    assert rec.order == []
    async with runtime.deps.uow(read_only=True) as uow:
        items = sorted(await uow.outbox.list(status=None, limit=10), key=lambda i: i.id)
    assert [i.status for i in items] == [OutboxStatus.PENDING, OutboxStatus.PENDING]
    assert items[0].attempts == 1 and items[0].last_error == "RuntimeError: slack timed out"
    assert items[1].attempts == 0
    delay = (items[0].next_attempt_at - clock.now()).total_seconds()
    assert 1.0 <= delay <= 2.0  # base 2 s, jittered into [base/2, base]
    assert await d.drain_once() == 0  # not due yet, and the lane waits behind its head
    clock.advance(2.1)
    await drain(d)
    assert rec.kinds_for(hid) == ["created", "claimed"]


async def test_retry_after_is_honoured(runtime: Any) -> None:
    rec = recorder_of(runtime)
    await new_handoff(runtime)
    clock = FakeClock()
    d = Dispatcher(replace(runtime.deps, clock=clock), [rec])
    rec.failures = [RetryLater("429 from Slack", retry_after=30)]
    await d.drain_once()
    async with runtime.deps.uow(read_only=True) as uow:
        (item,) = await uow.outbox.list(status="pending", limit=5)
    wait = (item.next_attempt_at - clock.now()).total_seconds()
    assert 30 <= wait <= 31
    clock.advance(29)
    assert await d.drain_once() == 0
    clock.advance(2)
    assert await d.drain_once() == 1 and len(rec.order) == 1


async def test_destination_wide_pause_holds_every_lane(runtime: Any) -> None:
    rec = recorder_of(runtime)
    d = Dispatcher(runtime.deps, [rec])
    for _ in range(3):
        await new_handoff(runtime)
    rec.failures = [RetryLater("workspace rate limit", retry_after=5, scope="destination")]
    await d.drain_once()
    assert rec.order == [] or len(rec.order) <= 2  # lanes already in flight may finish
    assert await d.drain_once() == 0  # paused: nothing more is even leased


async def test_dead_letter_after_max_attempts_and_retry_from_cli(runtime: Any) -> None:
    rec = recorder_of(runtime)
    await new_handoff(runtime)
    clock = FakeClock()
    d = Dispatcher(replace(runtime.deps, clock=clock), [rec],
                   policy=RetryPolicy(base_seconds=1, cap_seconds=1, max_attempts=3))
    rec.failures = [RuntimeError("down")] * 3
    for _ in range(3):
        await d.drain_once()
        clock.advance(5)
    assert await statuses(runtime) == {"dead": 1}
    async with runtime.deps.uow() as uow:
        (dead,) = await uow.outbox.list(status="dead", limit=5)
        assert dead.attempts == 3 and dead.last_error == "RuntimeError: down"
        assert await uow.outbox.retry(dead.id, clock.now())
        assert not await uow.outbox.retry(dead.id, clock.now())  # only dead items can be retried
        await uow.commit()
    await d.drain_once()
    assert await statuses(runtime) == {"done": 1} and len(rec.order) == 1


async def test_permanent_failure_is_dead_at_once_and_the_lane_moves_on(runtime: Any) -> None:
    rec = recorder_of(runtime)
    hid = await new_handoff(runtime)
    await runtime.actions.claim(hid, "emma", Surface.API)
    rec.failures = [PermanentFailure("channel_not_found")]
    await drain(runtime.dispatcher)
    assert await statuses(runtime) == {"dead": 1, "done": 1}
    assert rec.kinds_for(hid) == ["claimed"]


async def test_expired_lease_of_a_dead_dispatcher_is_taken_over(runtime: Any) -> None:
    rec = recorder_of(runtime)
    for _ in range(3):
        await new_handoff(runtime)
    clock = FakeClock()
    async with runtime.deps.uow() as uow:  # a dispatcher that leases and then dies
        leased = await uow.outbox.claim(worker="crashed", destinations=["recorder"], limit=10, lane_limit=10,
                                        lease_seconds=60, now=clock.now())
        await uow.commit()
    assert len(leased) == 3
    d = Dispatcher(replace(runtime.deps, clock=clock), [rec])
    assert await d.drain_once() == 0  # still leased
    clock.advance(61)
    assert await drain(d) == 3 and len(rec.order) == 3


async def test_two_dispatchers_never_deliver_the_same_item_twice(runtime: Any, db_url: str) -> None:
    from app import build
    from tests.conftest import make_settings

    rec = recorder_of(runtime)
    rec.delay = 0.001
    ids = [await new_handoff(runtime) for _ in range(30)]
    for hid in ids:
        await runtime.actions.claim(hid, "emma", Surface.API)
        await runtime.actions.resolve(hid, "emma", Surface.API)
    other = build(make_settings(db_url), extra_destinations=[rec], with_log=False, integrations=[])
    d1 = Dispatcher(runtime.deps, [rec], worker_id="w1")
    d2 = Dispatcher(other.deps, [rec], worker_id="w2")
    d1.batch_size = d2.batch_size = 7
    try:
        await asyncio.gather(drain(d1), drain(d2), drain(d1), drain(d2))
    finally:
        await other.engine.dispose()
    assert len(rec.order) == 90
    assert max(rec.received.values()) == 1
    for hid in ids:
        assert rec.kinds_for(hid) == ["created", "claimed", "resolved"]


async def test_a_batch_slower_than_its_lease_keeps_it(runtime: Any, db_url: str) -> None:
    """A live dispatcher whose batch outlasts ``lease_seconds`` (Slack pacing, a slow CRM, a busy process) keeps
    its lease: another dispatcher does not take the items and deliver them a second time meanwhile (it did, until
    the lease was kept alive: bench/scaleout.py saw Slack cards posted twice)."""
    from app import build
    from tests.conftest import make_settings

    rec = recorder_of(runtime)
    rec.delay = 1.5
    await new_handoff(runtime)
    other = build(make_settings(db_url), extra_destinations=[rec], with_log=False, integrations=[])
    d1 = Dispatcher(runtime.deps, [rec], worker_id="slow")
    d2 = Dispatcher(other.deps, [rec], worker_id="other")
    d1.lease_seconds = d2.lease_seconds = 0.6
    try:
        slow = asyncio.create_task(d1.drain_once())
        await asyncio.sleep(1.0)  # well past the lease it took
        assert await d2.drain_once() == 0
        assert await slow == 1
    finally:
        await other.engine.dispose()
    assert max(rec.received.values()) == 1
    assert await statuses(runtime) == {"done": 1}


async def test_stopping_gives_back_items_not_started(runtime: Any) -> None:
    rec = recorder_of(runtime)
    for _ in range(4):
        await new_handoff(runtime)
    d = runtime.dispatcher
    d.stop_soon()
    assert await d.drain_once() == 4
    assert rec.order == []
    async with runtime.deps.uow(read_only=True) as uow:
        items = await uow.outbox.list(status="pending", limit=10)
    assert len(items) == 4 and all(i.attempts == 0 for i in items)


async def test_backoff_policy_grows_caps_and_jitters() -> None:
    p = RetryPolicy(base_seconds=1, cap_seconds=10, max_attempts=4)
    for attempts, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (9, 10)]:
        samples = [p.delay(attempts) for _ in range(200)]
        assert min(samples) >= ceiling / 2 and max(samples) <= ceiling
        assert len({round(s, 6) for s in samples}) > 100  # jitter spreads retries out
    assert 30 <= p.delay(1, retry_after=30) <= 31
    assert p.exhausted(4) and not p.exhausted(3)
    assert timedelta(seconds=p.delay(2)) <= timedelta(seconds=2)


class BatchRecorder:
    """A batch destination: fails the items whose keys it is told to, like a 207 partial success."""

    name = "batch"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.fail_kinds: set[str] = set()

    def subscribes(self, event: Any) -> bool:
        return True

    async def deliver(self, item: Any) -> None:  # pragma: no cover - the dispatcher prefers deliver_batch
        raise AssertionError("deliver_batch should be used")

    async def deliver_batch(self, items: Any) -> list[BaseException | None]:
        from handoff.outbox import NotAttempted

        self.calls.append([f"{i.handoff_id}:{i.kind}" for i in items])
        out: list[BaseException | None] = []
        failed: set[str | None] = set()
        for i in items:
            if i.handoff_id in failed:
                out.append(NotAttempted())
            elif i.kind in self.fail_kinds:
                failed.add(i.handoff_id)
                out.append(RetryLater("429", retry_after=0))
            else:
                out.append(None)
        return out


async def test_batch_destinations_get_all_items_in_one_call_and_partial_failures_retry(db_url: str) -> None:
    from app import build
    from tests.conftest import make_settings

    dest = BatchRecorder()
    rt = build(make_settings(db_url), extra_destinations=[dest], with_log=False, integrations=[])
    try:
        ids = [await new_handoff(rt) for _ in range(3)]
        for hid in ids:
            await rt.actions.claim(hid, "emma", Surface.API)
        dest.fail_kinds = {"claimed"}
        clock = FakeClock()
        d = Dispatcher(replace(rt.deps, clock=clock), [dest])
        assert await d.drain_once() == 6
        assert len(dest.calls) == 1 and len(dest.calls[0]) == 6  # one call for the whole batch
        assert await statuses(rt) == {"done": 3, "pending": 3}
        dest.fail_kinds = set()
        clock.advance(2)
        await drain(d)
        assert await statuses(rt) == {"done": 6}
        assert sorted(dest.calls[-1]) == sorted(f"{h}:claimed" for h in ids)
    finally:
        await rt.engine.dispose()


async def test_a_destination_wide_outage_spends_no_attempts(runtime: Any) -> None:
    rec = recorder_of(runtime)
    await new_handoff(runtime)
    clock = FakeClock()
    d = Dispatcher(replace(runtime.deps, clock=clock), [rec], policy=RetryPolicy(max_attempts=2))
    for _ in range(5):  # five outage probes: a lane failure would have dead-lettered the item after two
        rec.failures = [RetryLater("CRM down", retry_after=0.0, scope="destination")]
        await d.drain_once()
        clock.advance(1)
    async with runtime.deps.uow(read_only=True) as uow:
        (item,) = await uow.outbox.list(status=None, limit=5)
    assert item.status is OutboxStatus.PENDING and item.attempts == 0 and "paused" in (item.last_error or "")
    await d.drain_once()
    assert len(rec.order) == 1
