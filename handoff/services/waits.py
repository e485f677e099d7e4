"""Wait estimates from the database: build a :class:`QueueSnapshot`, ask :func:`estimate_wait`, and turn the
answer into the one :class:`CustomerWait` every customer-facing path shows (:meth:`WaitTimes.customer_wait_in`).

The snapshot is global (the first waiting handoffs in pick order, the queue depth per queue and priority, agents,
their open claims, recent handle times and arrivals) and costs five bounded queries. One task per process
(:meth:`WaitTimes.run`) refreshes it once per ``ttl`` while it is being read — never a request: intake answers
read it from memory (no thundering herd of concurrent intakes reloading it), and a queue change that wakes a
hundred waiting customers' streams reads it once. Each estimate itself is about a millisecond of arithmetic.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from handoff.eta import (
    AgentLoad,
    CustomerWait,
    HandleTimeHistory,
    InProgress,
    QueueSnapshot,
    WaitEstimate,
    WaitingHandoff,
    agent_shift,
    customer_wait,
    estimate_wait,
    team_presence,
)
from handoff.eta.customer_wait import DEFAULT_ZONE
from handoff.models import POSITION_LIMIT, Agent, Handoff, Priority, Status
from handoff.ports import UnitOfWork
from handoff.services.common import Deps
from handoff.shifts import Shift

log = logging.getLogger("baton.waits")

MAX_WAITING = 2000
HISTORY_DAYS = 14
HISTORY_PER_QUEUE = 200
ARRIVAL_WINDOW = timedelta(hours=1)
SLOW_TTL_SECONDS = 30.0  # handle-time history and arrival rates: re-read at most this often
_MEMO_SIZE = 4096
STALE_OK_SECONDS = 10.0
"""An intake answer reuses a snapshot at most this old (the refresher keeps it within ``ttl`` under traffic)."""


class Openings(Protocol):
    """A queue's business hours as shifts (:meth:`handoff.sla.calendar.Calendars.openings`)."""

    def openings(self, queue: str, now: datetime, count: int = 2) -> Sequence[Shift]: ...


@dataclass(frozen=True, slots=True)
class _Snapshot:
    waiting: tuple[WaitingHandoff, ...]
    agents: tuple[AgentLoad, ...]
    people: tuple[Agent, ...]
    history: HandleTimeHistory
    arrivals: Mapping[str, Mapping[Priority, float]]
    depth: Mapping[str, Mapping[int, int]]  # queue → priority rank → handoffs waiting

    def ahead(self, queue: str, rank: int) -> int:
        """Waiting handoffs of ``queue`` at ``rank`` or better: who is ahead of a newcomer at that rank."""
        return sum(n for r, n in self.depth.get(queue, {}).items() if r <= rank)


class WaitTimes:
    """Honest wait estimates per handoff, recomputed from the current queue.

    Args:
        deps: Shared collaborators.
        ttl: Seconds a loaded queue snapshot is reused (0 disables caching, e.g. in tests).
        default_zone: Time zone of agents' working hours when an agent has none (the rules' business hours).
    """

    def __init__(self, deps: Deps, ttl: float = 1.0, default_zone: str = DEFAULT_ZONE,
                 calendars: Openings | None = None) -> None:
        self.deps = deps
        self.calendars = calendars
        self.ttl = ttl
        self.default_zone = default_zone
        self._cached: tuple[float, _Snapshot] | None = None
        self._slow: tuple[float, HandleTimeHistory, Mapping[str, Mapping[Priority, float]]] | None = None
        self._stale = False
        self._generation = 0  # bumped by invalidate(): a load started before it is stale for strict readers
        self._loading: tuple[int, asyncio.Task[_Snapshot]] | None = None
        self._wanted = False  # read since the last refresh: the refresher loads it again
        # The same handoff, place and snapshot give the same answer: kept for the snapshot's life.
        self._memo: dict[tuple[str, str, Priority, int, str | None], tuple[_Snapshot, CustomerWait | None]] = {}
        self.loads = 0  # snapshot loads made (tests and the bench read it)

    async def run(self, stop: asyncio.Event) -> None:
        """The process's one refresher: every ``ttl`` seconds, reload the snapshot if anyone read it since the
        last load (an idle process reads nothing). Requests never wait for it once a snapshot exists."""
        if self.ttl <= 0:
            return
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.ttl)
            except TimeoutError:
                pass
            if stop.is_set() or not self._wanted:
                continue
            self._wanted = False
            try:
                await self._shared_load(stale_ok=False)
            except Exception as exc:  # the database is away: the next round retries; readers keep the last one
                log.warning("wait snapshot refresh failed (%s); retrying", type(exc).__name__)

    def invalidate(self) -> None:
        """The queue just changed: the next read that needs the current queue loads it again.

        Intake answers (:meth:`intake_wait`) still reuse the snapshot for up to ``ttl``: a burst of intakes would
        otherwise reload the whole waiting list once per handoff, since each intake itself changes the queue.
        """
        self._stale = True
        self._generation += 1

    async def estimate(self, handoff: Handoff, position: int) -> WaitEstimate | None:
        """The wait of a queued handoff; None when it is not waiting (claimed, resolved...)."""
        if handoff.status is not Status.QUEUED:
            return None
        if self.ttl <= 0:
            async with self.deps.uow(read_only=True) as uow:
                return await self.estimate_in(uow, handoff, position)
        return await self.estimate_in(None, handoff, position)  # cached or one shared load: no transaction here

    async def estimate_in(self, uow: UnitOfWork | None, handoff: Handoff, position: int) -> WaitEstimate | None:
        """As :meth:`estimate`, inside a unit of work the caller already holds."""
        if handoff.status is not Status.QUEUED:
            return None
        return self._estimate(await self._snapshot(uow), handoff, position, self.deps.now())

    @staticmethod
    def _estimate(snap: _Snapshot, handoff: Handoff, position: int, now: datetime) -> WaitEstimate:
        own = WaitingHandoff(handoff.id, handoff.queue, handoff.priority, handoff.created_at)
        queue = QueueSnapshot(handoff=own, agents=snap.agents, waiting=snap.waiting, arrivals_per_hour=snap.arrivals)
        ahead = max(0, position - 1)
        if position > POSITION_LIMIT:  # "more than 1,000 ahead": the depth aggregate says how many more
            ahead = max(ahead, snap.ahead(handoff.queue, handoff.priority.rank) - 1)
        return estimate_wait(queue, snap.history, now, known_ahead=ahead)

    async def customer_wait(self, handoff: Handoff, position: int, customer_tz: str | None = None
                            ) -> CustomerWait | None:
        """What the customer is told about their wait now; None when the handoff is not waiting.

        Args:
            handoff: The handoff.
            position: Its place in its queue (the store's ``position``).
            customer_tz: The customer's time zone, for "the team is back at …".
        """
        if handoff.status is not Status.QUEUED:
            return None
        return await self._wait(handoff, position, customer_tz, stale_ok=False)

    async def intake_wait(self, handoff: Handoff, position: int, customer_tz: str | None = None
                          ) -> CustomerWait | None:
        """:meth:`customer_wait` for the intake answer: the same value, from a snapshot at most ``ttl`` old even
        if the queue changed since (the intake's own handoff is always counted: the estimator takes it apart)."""
        # No reload per intake: a burst of intakes reads the queue once a second, not once each.
        return await self._wait(handoff, position, customer_tz, stale_ok=True)

    async def _wait(self, handoff: Handoff, position: int, customer_tz: str | None, *,
                    stale_ok: bool) -> CustomerWait | None:
        if handoff.status is not Status.QUEUED:
            return None
        if self.ttl <= 0:
            async with self.deps.uow(read_only=True) as uow:
                return await self.customer_wait_in(uow, handoff, position, customer_tz, stale_ok=stale_ok)
        # Cached, or one load shared by every concurrent reader: no connection is held while waiting for it.
        return await self.customer_wait_in(None, handoff, position, customer_tz, stale_ok=stale_ok)

    async def customer_wait_in(self, uow: UnitOfWork | None, handoff: Handoff, position: int,
                               customer_tz: str | None = None, *, stale_ok: bool = False,
                               load_here: bool = False) -> CustomerWait | None:
        """As :meth:`customer_wait`, inside a unit of work the caller already holds (the one code path)."""
        if handoff.status is not Status.QUEUED:
            return None
        snap = await self._snapshot(uow, stale_ok, load_here)
        key = (handoff.id, handoff.queue, handoff.priority, position, customer_tz)
        memo = self._memo.get(key)
        if memo is not None and memo[0] is snap:  # the intake's promise, then its answer: one simulation
            return memo[1]
        now = self.deps.now()
        estimate = self._estimate(snap, handoff, position, now)
        openings = self.calendars.openings(handoff.queue, now) if self.calendars is not None else ()
        presence = team_presence(snap.people, handoff.queue, now, default_zone=self.default_zone, openings=openings)
        wait = customer_wait(estimate, presence, now, customer_tz)
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = (snap, wait)
        return wait

    def _fresh(self, stale_ok: bool = False) -> _Snapshot | None:
        if self._cached is None or self.ttl <= 0:
            return None
        age = time.monotonic() - self._cached[0]
        if stale_ok and age < max(self.ttl, STALE_OK_SECONDS):
            self._wanted = True  # the refresher brings it up to date for the next reader
            return self._cached[1]
        if not self._stale and age < self.ttl:
            self._wanted = True
            return self._cached[1]
        return None

    async def promise_in(self, uow: UnitOfWork, handoff: Handoff, position: int,
                         customer_tz: str | None = None) -> float | None:
        """The wait (seconds) an intake answer promises, inside the intake's own transaction, so it is stored
        with the handoff (analytics compares it with the actual wait). A missing snapshot is loaded in ``uow``
        (never a second connection while one is held); the intake answer reads the same snapshot."""
        wait = await self.customer_wait_in(uow, handoff, position, customer_tz, stale_ok=True, load_here=True)
        return None if wait is None or wait.seconds is None else float(wait.seconds)

    async def _snapshot(self, uow: UnitOfWork | None, stale_ok: bool = False, load_here: bool = False) -> _Snapshot:
        fresh = self._fresh(stale_ok)
        if fresh is not None:
            return fresh
        if load_here and uow is not None:  # no snapshot yet (start, or idle for long): the caller's connection
            snap = await self._load_in(uow)
            self._cached, self._stale = (time.monotonic(), snap), False
            return snap
        if self.ttl > 0:
            return await self._shared_load(stale_ok)
        if uow is None:
            async with self.deps.uow(read_only=True) as own:
                return await self._load_in(own)
        return await self._load_in(uow)

    async def _shared_load(self, stale_ok: bool) -> _Snapshot:
        """One load at a time, whoever asks (no thundering herd): concurrent readers await the load in flight
        when it is recent enough for them — any load for ``stale_ok`` readers, one started after the last
        :meth:`invalidate` for the others."""
        loading = self._loading
        if loading is None or not (stale_ok or loading[0] == self._generation):
            loading = (self._generation, asyncio.ensure_future(self._load_and_keep()))
            self._loading = loading
        try:
            return await asyncio.shield(loading[1])  # one reader cancelled must not cancel the others' load
        finally:
            if loading[1].done() and self._loading is loading:
                self._loading = None

    async def _load_and_keep(self) -> _Snapshot:
        generation = self._generation
        async with self.deps.uow(read_only=True) as own:
            snap = await self._load_in(own)
        self._cached = (time.monotonic(), snap)
        self._stale = generation != self._generation  # invalidated while loading: strict readers load again
        return snap

    async def _load_in(self, uow: UnitOfWork) -> _Snapshot:
        self.loads += 1
        now = self.deps.now()
        side = uow.customer_side
        depth = await side.queue_depth()
        waiting = tuple(WaitingHandoff(r.id, r.queue, Priority(r.priority), r.created_at)
                        for r in await side.queued(MAX_WAITING, queues=sorted(depth)))
        claims: dict[str, list[InProgress]] = defaultdict(list)
        for c in await side.open_claims():
            claims[c.agent_id].append(InProgress(c.queue, c.claimed_at))
        people = tuple(await uow.agents.list())
        agents = tuple(_load(a, claims.get(a.id, ()), now, self.default_zone) for a in people)
        history, arrivals = await self._slow_parts(uow)
        return _Snapshot(waiting, agents, people, history, arrivals, depth)

    async def _slow_parts(self, uow: UnitOfWork) -> tuple[HandleTimeHistory, Mapping[str, Mapping[Priority, float]]]:
        """Handle times (14 days) and arrival rates (an hour): they move over minutes, not seconds, and with a deep
        backlog their queries cost tens of ms — read once per ``SLOW_TTL_SECONDS``, not with every snapshot."""
        clock = time.monotonic()
        if self._slow is not None and self.ttl > 0 and clock - self._slow[0] < SLOW_TTL_SECONDS:
            return self._slow[1], self._slow[2]
        now = self.deps.now()
        side = uow.customer_side
        history = HandleTimeHistory(by_queue=await side.handle_times(now - timedelta(days=HISTORY_DAYS),
                                                                     HISTORY_PER_QUEUE))
        hours = ARRIVAL_WINDOW.total_seconds() / 3600
        arrivals = {q: {Priority(p): n / hours for p, n in by_p.items()}
                    for q, by_p in (await side.arrivals(now - ARRIVAL_WINDOW)).items()}
        self._slow = (clock, history, arrivals)
        return history, arrivals


def _load(agent: Agent, work: Sequence[InProgress], now: datetime, default_zone: str) -> AgentLoad:
    """The estimator's view of an agent, with their shift: one not on shift yet starts on time, and nobody picks
    work after their shift ends (the same reading of working hours as "nobody on shift" and routing)."""
    _, shift = agent_shift(agent, now, default_zone)
    if shift is None:
        return AgentLoad.from_agent(agent, in_progress=work)
    starts = shift.starts_at if shift.starts_at > now else None
    return AgentLoad.from_agent(agent, in_progress=work, shift_starts_at=starts, shift_ends_at=shift.ends_at)

