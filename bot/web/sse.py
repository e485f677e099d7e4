"""Server-Sent Events for the waiting customer: the handoff's timeline, in customer wording, resumable.

The stream *is* the events table: each customer-facing event goes out with its event id as the SSE ``id``,
so a reconnect with ``Last-Event-ID`` continues exactly after the last one seen — no gaps, no repeats
(writes to one handoff are serialized by its row lock, so its ids commit in order). Position and estimate are
current state, not history: they go out as ``status`` events without an id, on connect and whenever they change.

An idle stream touches no database connection. Streams sleep on an in-process :class:`Broadcaster`, woken by
an outbox destination (:class:`SseDestination`, at once, for this process's commits) and by one shared
:class:`ChangeFeed` (one short read per tick for every stream of the process, for commits by other
processes). A woken stream reads through a semaphore shared by all streams, so however many are open, they
never hold more than ``limits.stream_db_reads`` pooled connections at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from handoff.models import Event
from handoff.outbox import OutboxItem
from handoff.services.common import Deps
from handoff.services.customer import CustomerSide
from handoff.services.waits import WaitTimes
from handoff.updates import CUSTOMER_KINDS, QUEUE_KINDS
from templates import Renderer
from templates.customer import QueueLabels, event_json

log = logging.getLogger("baton.sse")


@dataclass(eq=False)
class Subscriber:
    handoff_id: str
    queue: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    events_due: bool = True  # its own handoff has (or may have) new events: read them
    status_due: bool = True  # its own handoff changed: recompute now
    queue_due: bool = False  # its queue changed: recompute soon (throttled; a busy queue must not storm the DB)


class Broadcaster:
    """Wakes the streams of one handoff, or of every handoff waiting in a queue (their place in line moved).

    ``reads`` is the one gate every stream's database read goes through (at most ``db_reads`` at once).
    """

    def __init__(self, db_reads: int = 4) -> None:
        self._subs: dict[str, set[Subscriber]] = defaultdict(set)
        self.closing = False
        self.reads = asyncio.Semaphore(db_reads)

    def subscribe(self, handoff_id: str, queue: str) -> Subscriber:
        sub = Subscriber(handoff_id, queue)
        self._subs[handoff_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self._subs.get(sub.handoff_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.handoff_id]

    def wake_handoff(self, handoff_id: str) -> None:
        for sub in self._subs.get(handoff_id, ()):
            sub.events_due = sub.status_due = True
            sub.wake.set()

    def wake_queue(self, queue: str) -> None:
        for subs in self._subs.values():
            for sub in subs:
                if sub.queue == queue:
                    sub.queue_due = True
                    sub.wake.set()

    def close(self) -> None:
        self.closing = True
        for subs in self._subs.values():
            for sub in subs:
                sub.wake.set()

    @property
    def count(self) -> int:
        return sum(len(s) for s in self._subs.values())


class ChangeFeed:
    """One database poll per tick for all streams of this process: events committed anywhere wake their streams.

    PostgreSQL may commit a lower event id after a higher one (two handoffs, two transactions), so each read
    looks ``lookback`` ids behind the newest one seen and skips the ids already handled. A wake-up missed anyway
    (a transaction slower than ``lookback`` later events) costs a delay, not an event: every stream re-reads its
    own timeline at its periodic refresh.
    """

    def __init__(self, side: CustomerSide, broadcaster: Broadcaster, waits: WaitTimes, settings: StreamSettings,
                 *, lookback: int = 256, batch: int = 1000) -> None:
        self.side, self.broadcaster, self.waits, self.settings = side, broadcaster, waits, settings
        self.lookback, self.batch = lookback, batch
        self.watermark: int | None = None  # None: (re)start from the newest event at the next tick with listeners
        self._seen: set[int] = set()
        self._start = 0
        self.reads = 0  # database reads made (one per tick with listeners): for tests and /readyz

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every ``settings.poll_seconds`` until ``stop`` is set."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.poll_seconds)
            except TimeoutError:
                pass
            if stop.is_set():
                return
            try:
                await self.tick()
            except Exception:
                log.exception("SSE change feed read failed; the next tick retries")

    async def tick(self) -> None:
        """One read for every stream; nothing when no stream listens (a stream reads its own past on connect)."""
        if self.broadcaster.count == 0:
            self.watermark = None
            return
        self.reads += 1
        if self.watermark is None:  # streams read their own past on connect: start from now
            self.watermark = self._start = await self.side.latest_event_id()
            self._seen = set()
            return
        low = max(self._start, self.watermark - self.lookback)
        for e in await self.side.changes_after(low, self.batch):
            if e.id in self._seen:
                continue
            self._seen.add(e.id)
            self.watermark = max(self.watermark, e.id)
            self.broadcaster.wake_handoff(e.handoff_id)
            if e.kind in _QUEUE_KIND_VALUES:
                self.waits.invalidate()
                for q in e.queues:
                    self.broadcaster.wake_queue(q)
        floor = self.watermark - self.lookback
        self._seen = {i for i in self._seen if i > floor}


class SseDestination:
    """Outbox destination that wakes local streams: the handoff's own, and every stream waiting in its queue."""

    name = "customer_sse"

    def __init__(self, broadcaster: Broadcaster, waits: WaitTimes, deps: Deps) -> None:
        self.broadcaster = broadcaster
        self.waits = waits
        self.deps = deps

    def subscribes(self, event: Event) -> bool:
        return event.kind in CUSTOMER_KINDS or event.kind in QUEUE_KINDS

    async def deliver(self, item: OutboxItem) -> None:
        p = item.payload
        data: Mapping[str, Any] = p.get("data") or {}
        if item.handoff_id:
            self.broadcaster.wake_handoff(item.handoff_id)
        if p.get("kind") not in _QUEUE_KIND_VALUES:
            return
        self.waits.invalidate()
        queues = {str(q) for q in (data.get("queue"), data.get("from_queue"), data.get("to_queue")) if q}
        if item.handoff_id and not queues:  # release/escalate/reopen/resolve carry no queue: read the current one
            async with self.deps.uow(read_only=True) as uow:
                h = await uow.handoffs.get(item.handoff_id)
            if h is not None:
                queues.add(h.queue)
        for q in queues:
            self.broadcaster.wake_queue(q)


_QUEUE_KIND_VALUES = frozenset(k.value for k in QUEUE_KINDS)


def sse_message(data: Mapping[str, Any], *, event: str, id: int | None = None) -> str:
    """One SSE message; JSON on a single ``data:`` line (JSON escapes newlines, so it cannot break framing)."""
    head = f"id: {id}\n" if id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


@dataclass
class StreamSettings:
    poll_seconds: float = 1.0  # the change feed's tick (commits of other processes arrive this late at most)
    status_every_seconds: float = 30.0  # an idle stream re-reads its timeline and status this often (time moves)
    queue_status_gap_seconds: float = 2.0  # at most one queue-triggered recompute per stream this often
    heartbeat_seconds: float = 15.0
    max_seconds: float = 300.0  # the browser reconnects with Last-Event-ID; bounds stale connections


async def customer_stream(side: CustomerSide, broadcaster: Broadcaster, renderer: Renderer,
                          labels: QueueLabels, handoff_id: str, queue: str, last_id: int,
                          status_json: Callable[[str], Awaitable[dict[str, Any]]],
                          disconnected: Callable[[], Awaitable[bool]],
                          cfg: StreamSettings | None = None) -> AsyncIterator[str]:
    """Yield SSE text for one customer: timeline events after ``last_id``, then live ones, plus status changes.

    The database is read only when the stream is woken (its handoff or its queue changed) or at its periodic
    refresh, and always through ``broadcaster.reads``; between those it holds no connection.
    """
    cfg = cfg or StreamSettings()
    sub = broadcaster.subscribe(handoff_id, queue)
    started = last_status_at = last_beat = time.monotonic()
    last_status: dict[str, Any] | None = None
    try:
        yield "retry: 2000\n\n"
        while not broadcaster.closing:
            sub.wake.clear()
            refresh = time.monotonic() - last_status_at >= cfg.status_every_seconds
            if sub.events_due or refresh:
                sub.events_due = False
                async with broadcaster.reads:
                    new = await side.events_after(handoff_id, last_id)
                for ce in new:
                    body = event_json(renderer, event_id=ce.id, handoff_id=handoff_id, at=ce.at, locale=ce.locale,
                                      message=ce.message, queue_labels=labels)
                    yield sse_message(body, event=ce.message.type, id=ce.id)
                    last_id = ce.id
                    sub.status_due = True
            now = time.monotonic()
            queue_ready = sub.queue_due and now - last_status_at >= cfg.queue_status_gap_seconds
            if sub.status_due or queue_ready or refresh:
                sub.status_due = sub.queue_due = False
                last_status_at = now
                async with broadcaster.reads:
                    status = await status_json(handoff_id)
                sub.queue = str(status.get("queue", sub.queue))
                if status != last_status:
                    last_status = status
                    last_beat = now
                    yield sse_message(status, event="status")
            now = time.monotonic()
            if now - last_beat >= cfg.heartbeat_seconds:
                last_beat = now
                yield ": keep-alive\n\n"
            if now - started >= cfg.max_seconds or await disconnected():
                return
            timeout = min(cfg.heartbeat_seconds - (now - last_beat), cfg.status_every_seconds - (now - last_status_at),
                          cfg.max_seconds - (now - started))
            if sub.queue_due:  # a throttled queue change is pending: come back when its gap is over
                timeout = min(timeout, cfg.queue_status_gap_seconds - (now - last_status_at))
                sub.wake.clear()
                if sub.status_due:  # its own handoff changed meanwhile: no waiting
                    continue
            try:
                await asyncio.wait_for(sub.wake.wait(), timeout=max(0.05, timeout))
            except TimeoutError:
                pass
    finally:
        broadcaster.unsubscribe(sub)
