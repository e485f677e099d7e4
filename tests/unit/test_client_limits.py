"""The in-memory limiters and the SSE change feed, without HTTP: token buckets on a hand-moved clock, stream
slots, the ``limits:`` configuration, and a feed that still wakes a stream whose event committed out of id order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.web.ratelimit import StreamSlots, TokenBuckets
from bot.web.sse import Broadcaster, ChangeFeed, StreamSettings
from handoff.config import ConfigError, parse_config
from handoff.errors import RateLimited
from handoff.ports import FeedEvent


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_bucket_allows_the_burst_then_says_when_to_come_back() -> None:
    clock = Clock()
    b = TokenBuckets(per_second=0.5, burst=3, clock=clock)
    assert [b.take("tok") for _ in range(3)] == [None, None, None]
    assert b.take("tok") == pytest.approx(2.0)  # one token per 2 s
    assert b.take("other") is None  # buckets are per key
    clock.t += 1.0
    assert b.take("tok") == pytest.approx(1.0)  # half a token back: not yet
    clock.t += 1.0
    assert b.take("tok") is None  # recovered
    clock.t += 3600
    assert [b.take("tok") for _ in range(4)][-1] is not None  # refills to the burst, never beyond


def test_check_raises_rate_limited_with_whole_seconds() -> None:
    b = TokenBuckets(per_second=0.3, burst=1, clock=Clock())
    b.check("k", "requests")
    with pytest.raises(RateLimited) as e:
        b.check("k", "requests")
    assert e.value.retry_after == 4 and e.value.details["retry_after"] == 4  # ceil(1 / 0.3)


def test_many_keys_do_not_grow_memory_without_bound() -> None:
    clock = Clock()
    b = TokenBuckets(per_second=10, burst=5, clock=clock, max_keys=100)
    for i in range(1000):
        b.take(i)
        clock.t += 0.001
    assert len(b) <= 100
    assert b.take(999) is None  # recent keys are kept


def test_stream_slots_cap_per_token_and_per_address_and_release_once() -> None:
    slots = StreamSlots(per_token=2, per_ip=3)
    a1, a2 = slots.acquire("ho_a", "1.1.1.1"), slots.acquire("ho_a", "1.1.1.1")
    with pytest.raises(RateLimited) as e:
        slots.acquire("ho_a", "2.2.2.2")
    assert e.value.details["limit"] == "streams_per_token"
    slots.acquire("ho_b", "1.1.1.1")
    with pytest.raises(RateLimited) as e:
        slots.acquire("ho_c", "1.1.1.1")
    assert e.value.details["limit"] == "streams_per_ip"
    a1.release()
    a1.release()  # idempotent: a second release must not free someone else's place
    assert slots.open_for("ho_a") == 1 and slots.total == 2
    slots.acquire("ho_c", "1.1.1.1")
    a2.release()
    assert slots.open_for("ho_a") == 0


def test_limits_are_configurable_and_bad_values_are_named() -> None:
    cfg = parse_config({"limits": {"streams_per_token": 2, "customer_writes": {"per_second": 1, "burst": 5}}})
    assert cfg.limits.streams_per_token == 2 and cfg.limits.customer_writes.burst == 5
    assert cfg.limits.api.per_second == 500  # untouched defaults stay
    with pytest.raises(ConfigError, match=r"limits\.customer_reads\.burst"):
        parse_config({"limits": {"customer_reads": {"per_second": 1, "burst": 0}}})
    with pytest.raises(ConfigError, match=r"limits\.header_read_seconds"):
        parse_config({"limits": {"header_read_seconds": 0}})


class FakeSide:
    """Events as committed: ``visible`` grows as transactions commit, in any id order."""

    def __init__(self) -> None:
        self.visible: list[FeedEvent] = []
        self.reads: list[int] = []

    async def latest_event_id(self) -> int:
        return max((e.id for e in self.visible), default=0)

    async def changes_after(self, after_id: int, limit: int = 500) -> list[FeedEvent]:
        self.reads.append(after_id)
        return sorted((e for e in self.visible if e.id > after_id), key=lambda e: e.id)[:limit]


class NoWaits:
    invalidated = 0

    def invalidate(self) -> None:
        self.invalidated += 1


async def test_feed_wakes_each_stream_once_even_when_ids_commit_out_of_order() -> None:
    side, waits, b = FakeSide(), NoWaits(), Broadcaster()
    side.visible.append(FeedEvent(5, "ho_old", "created", frozenset({"billing"})))
    feed = ChangeFeed(side, b, waits, StreamSettings())  # type: ignore[arg-type]
    await feed.tick()
    assert side.reads == []  # nobody listens: no read at all
    first, second, queued = b.subscribe("ho_1", "billing"), b.subscribe("ho_2", "billing"), b.subscribe("ho_3", "tech")
    for s in (first, second, queued):
        s.events_due = s.status_due = False
    await feed.tick()  # starts from the newest committed event: the past is each stream's own business
    assert not first.wake.is_set() and feed.watermark == 5
    side.visible.append(FeedEvent(7, "ho_2", "customer_message", frozenset({"billing"})))  # id 7 commits first
    await feed.tick()
    assert second.events_due and not first.events_due
    second.events_due = False
    side.visible.append(FeedEvent(6, "ho_1", "claimed", frozenset({"billing"})))  # the slower transaction
    await feed.tick()
    assert first.events_due and not second.events_due  # id 6 is caught; id 7 is not repeated
    assert second.queue_due and not queued.queue_due  # a claim moves the billing line, not the technical one
    assert waits.invalidated == 1
    b.unsubscribe(first), b.unsubscribe(second), b.unsubscribe(queued)
    await feed.tick()
    assert feed.watermark is None  # idle again: the next listener starts from that moment


async def test_feed_survives_a_failed_read() -> None:
    calls: list[Any] = []
    second = asyncio.Event()

    class Failing(FakeSide):
        async def latest_event_id(self) -> int:
            calls.append(1)
            if len(calls) == 1:
                raise OSError("database restarting")
            second.set()
            return 0

    b = Broadcaster()
    b.subscribe("ho_1", "billing")
    stop = asyncio.Event()
    feed = ChangeFeed(Failing(), b, NoWaits(), StreamSettings(poll_seconds=0.01))  # type: ignore[arg-type]
    task = asyncio.create_task(feed.run(stop))
    await asyncio.wait_for(second.wait(), timeout=10)
    stop.set()
    await task
    assert feed.watermark == 0  # the second tick started the feed after the first one failed
