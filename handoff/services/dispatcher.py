"""The dispatcher: drains the outbox to its destinations, at least once, in order per lane.

Any number of dispatchers (tasks or processes) can drain one database: leases are taken with row locks
and ``SKIP LOCKED`` (see :mod:`handoff.store.outbox`). Each batch groups items into lanes — one handoff's
items for one destination — delivered in order, lanes in parallel. A failure stops its lane for this batch
and schedules a retry (exponential backoff with jitter, or the destination's ``Retry-After``); after
``max_attempts`` the item is dead-lettered (``python3 app.py outbox dead`` / ``retry ID``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from handoff.outbox import Destination, NotAttempted, OutboxItem, PermanentFailure, RetryLater, RetryPolicy
from handoff.ports import NoTelemetry, Telemetry
from handoff.services.common import Deps

log = logging.getLogger("baton.dispatcher")


@dataclass
class _Outcome:
    done: list[OutboxItem] = field(default_factory=list)
    retry: list[tuple[OutboxItem, float, str, bool]] = field(default_factory=list)  # item, delay, error, counted
    dead: list[tuple[OutboxItem, str]] = field(default_factory=list)
    release: list[int] = field(default_factory=list)
    postponed: set[int] = field(default_factory=set)  # retried without an attempt (the destination was paused)


RECORD_ATTEMPTS = 8  # recording a batch's results: 0.2 + 0.4 + … + 5 s ≈ 20 s of retries while the database is away


class Dispatcher:
    """Delivers outbox items to the destinations this process has.

    Args:
        deps: the shared use-case dependencies (unit of work, clock, config).
        destinations: the destinations this dispatcher delivers to; items for others are left alone.
        worker_id: the lease owner name; defaults to host:pid:random.
        telemetry: told each attempt's result once it is committed (delivered, retry, dead), for metrics.
    """

    def __init__(self, deps: Deps, destinations: Sequence[Destination], *, worker_id: str | None = None,
                 policy: RetryPolicy | None = None, telemetry: Telemetry | None = None) -> None:
        cfg = deps.config.outbox
        self.deps = deps
        self.telemetry: Telemetry = telemetry or NoTelemetry()
        self.destinations = {d.name: d for d in destinations}
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"
        self.policy = policy or RetryPolicy(base_seconds=cfg.backoff_base_seconds, cap_seconds=cfg.backoff_cap_seconds,
                                            max_attempts=cfg.max_attempts)
        self.batch_size = cfg.batch_size
        self.lane_limit = cfg.lane_limit
        self.lease_seconds = cfg.lease_seconds
        self.poll_seconds = cfg.poll_seconds
        self.linger_seconds = cfg.linger_seconds
        self._sem = asyncio.Semaphore(cfg.concurrency)
        self._wake = asyncio.Event()
        self._wakes: list[asyncio.Event] = []
        self._stopping = False
        self._paused: dict[str, float] = {}
        self.stats: Counter[str] = Counter()

    def notify(self) -> None:
        """Wake the loops now (called after a local commit wrote outbox items)."""
        self._wake.set()
        for wake in self._wakes:
            wake.set()

    def _clock(self) -> float:
        # Pauses are kept on the same clock as the retry schedule (``deps.now``), so that a test clock that
        # moves minutes ahead ends a Retry-After pause as it makes the rescheduled items due.
        return self.deps.now().timestamp()

    def _active_destinations(self, among: Sequence[str] | None = None) -> list[str]:
        now = self._clock()
        return [name for name in (among or self.destinations) if self._paused.get(name, 0) <= now]

    async def drain_once(self, among: Sequence[str] | None = None) -> int:
        """Lease one batch (for ``among``, default every destination) and deliver it; returns how many leased."""
        names = self._active_destinations(among)
        if not names:
            return 0
        async with self.deps.uow(autocommit=True) as uow:
            items = await uow.outbox.claim(worker=self.worker_id, destinations=names, limit=self.batch_size,
                                           lane_limit=self.lane_limit, lease_seconds=self.lease_seconds,
                                           now=self.deps.now())
            await uow.commit()
        if not items:
            return 0
        lanes: dict[object, list[OutboxItem]] = {}
        batched: dict[str, list[OutboxItem]] = {}
        for item in items:
            if hasattr(self.destinations[item.destination], "deliver_batch"):
                batched.setdefault(item.destination, []).append(item)
                continue
            key: object = (item.handoff_id, item.destination) if item.handoff_id else ("item", item.id)
            lanes.setdefault(key, []).append(item)
        outcome = _Outcome()
        keeper = asyncio.create_task(self._keep_lease([i.id for i in items]))
        try:
            await asyncio.gather(*(self._deliver_lane(lane, outcome) for lane in lanes.values()),
                                 *(self._deliver_batch(name, group, outcome) for name, group in batched.items()))
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        await self._record_soon(outcome)
        return len(items)

    async def _keep_lease(self, ids: list[int]) -> None:
        """While a batch is being delivered, move its lease forward every third of ``lease_seconds``.

        A lease that runs out makes its items claimable by any dispatcher: that is how a dead process's batch
        is taken over. A live one whose batch outlasts the lease (Slack pacing waits, a slow CRM, a busy
        process) would otherwise have the same items delivered again by another process at the same time.
        """
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                async with self.deps.uow(autocommit=True) as uow:
                    await uow.outbox.extend(ids, self.worker_id,
                                            self.deps.now() + timedelta(seconds=self.lease_seconds))
                    await uow.commit()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next beat tries again; at worst the lease runs out as it used to
                log.warning("could not extend the lease of %d outbox items: %s", len(ids), type(exc).__name__)

    async def _record_soon(self, out: _Outcome) -> None:
        """Record the batch's results; if the database is away (a restart), keep trying for about 20 s. The
        deliveries happened: recording them when it is back beats waiting out the leases and delivering again."""
        for attempt in range(RECORD_ATTEMPTS):
            try:
                await self._record(out)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                if attempt + 1 == RECORD_ATTEMPTS or self._stopping:
                    raise
                log.warning("dispatcher could not record %d results (attempt %d); retrying",
                            len(out.done) + len(out.retry) + len(out.dead), attempt + 1)
                await asyncio.sleep(min(5.0, 0.2 * 2 ** attempt))

    async def _deliver_batch(self, name: str, items: list[OutboxItem], out: _Outcome) -> None:
        dest: Any = self.destinations[name]
        if self._stopping:
            out.release.extend(i.id for i in items)
            return
        try:
            results = list(await dest.deliver_batch(items))
            if len(results) != len(items):
                raise RuntimeError(f"{name}.deliver_batch returned {len(results)} outcomes for {len(items)} items")
        except Exception as exc:
            log.exception("batch delivery to %s raised", name)
            results = [exc] * len(items)
        failed_lanes: set[object] = set()
        for item, result in zip(items, results, strict=True):
            lane = (item.handoff_id, item.destination) if item.handoff_id else ("item", item.id)
            if lane in failed_lanes or isinstance(result, NotAttempted):
                out.release.append(item.id)
                continue
            if result is None:
                out.done.append(item)
                continue
            failed_lanes.add(lane)
            if isinstance(result, PermanentFailure):
                out.dead.append((item, f"permanent: {result}"))
            elif isinstance(result, RetryLater):
                self._retry_later(name, item, result, out)
            else:
                self._fail(item, out, f"{type(result).__name__}: {result}", None)

    async def _deliver_lane(self, lane: list[OutboxItem], out: _Outcome) -> None:
        async with self._sem:
            for i, item in enumerate(lane):
                dest = self.destinations[item.destination]
                paused_for = self._paused.get(dest.name, 0) - self._clock()
                if self._stopping or paused_for > 0:
                    if paused_for > 0:  # a destination-wide pause: wait it out without spending an attempt
                        out.retry.append((item, paused_for, "destination paused", False))
                        out.postponed.add(item.id)
                        out.release.extend(x.id for x in lane[i + 1:])
                    else:
                        out.release.extend(x.id for x in lane[i:])
                    return
                try:
                    await dest.deliver(item)
                except RetryLater as exc:
                    self._retry_later(dest.name, item, exc, out)
                    out.release.extend(x.id for x in lane[i + 1:])
                    return
                except PermanentFailure as exc:
                    log.error("outbox item %s to %s failed permanently: %s", item.id, dest.name, exc)
                    out.dead.append((item, f"permanent: {exc}"))
                    out.release.extend(x.id for x in lane[i + 1:])
                    return
                except Exception as exc:
                    log.exception("outbox item %s to %s raised", item.id, dest.name)
                    self._fail(item, out, f"{type(exc).__name__}: {exc}", None)
                    out.release.extend(x.id for x in lane[i + 1:])
                    return
                out.done.append(item)

    def _retry_later(self, name: str, item: OutboxItem, exc: RetryLater, out: _Outcome) -> None:
        """A lane-scoped failure spends an attempt; a destination-wide one (an outage, a workspace rate limit,
        a revoked token) pauses the destination and spends none, so hours of outage only delay delivery."""
        if exc.scope == "destination":
            if exc.retry_after is not None:
                pause = exc.retry_after
                self._paused[name] = self._clock() + pause
            else:  # no hint: back off this item as for its next attempt, without spending it
                pause = self.policy.delay(max(1, item.attempts))
            out.retry.append((item, pause, f"{name} paused: {exc}" if str(exc) else f"{name} paused", False))
            return
        if not exc.spend_attempt:  # rate-limited lane: wait it out; a long 429 storm must not dead-letter it
            out.retry.append((item, self.policy.delay(max(1, item.attempts), exc.retry_after), str(exc), False))
            return
        self._fail(item, out, str(exc) or "retry later", exc.retry_after)

    def _fail(self, item: OutboxItem, out: _Outcome, error: str, retry_after: float | None) -> None:
        if self.policy.exhausted(item.attempts):
            log.error("outbox item %s to %s dead after %d attempts: %s", item.id, item.destination, item.attempts,
                      error)
            out.dead.append((item, error))
        else:
            out.retry.append((item, self.policy.delay(item.attempts, retry_after), error, True))

    async def _record(self, out: _Outcome) -> None:
        now = self.deps.now()
        async with self.deps.uow(autocommit=True) as uow:
            await uow.outbox.complete([i.id for i in out.done], self.worker_id, now)
            for item, delay, error, counted in out.retry:
                await uow.outbox.reschedule(item.id, self.worker_id, at=now + timedelta(seconds=delay), error=error,
                                            count_attempt=counted)
            for item, error in out.dead:
                await uow.outbox.bury(item.id, self.worker_id, error, now)
            await uow.outbox.release(out.release, self.worker_id)
            await uow.commit()
        self.stats.update(delivered=len(out.done), retried=len(out.retry), dead=len(out.dead),
                          released=len(out.release))
        self._report(out, now)

    def _report(self, out: _Outcome, now: datetime) -> None:
        """Tell the telemetry what this batch's attempts came to (after the commit: only what really happened)."""
        try:
            for item in out.done:
                self.telemetry.outbox_delivery(item.destination, "delivered",
                                               max(0.0, (now - item.created_at).total_seconds()))
            for item, _, _, _ in out.retry:
                if item.id not in out.postponed:
                    self.telemetry.outbox_delivery(item.destination, "retry", None)
            for item, _ in out.dead:
                self.telemetry.outbox_delivery(item.destination, "dead", None)
        except Exception:  # counting must never cost a delivery
            log.exception("dispatcher telemetry failed")

    async def run(self, stop: asyncio.Event) -> None:
        """Drain until ``stop`` is set; an in-flight batch finishes, leased items not started are released.

        One loop per destination, so a slow or paced destination (Slack's one post per second per channel, a
        CRM timing out) never holds back the others.
        """
        log.info("dispatcher %s delivering to: %s", self.worker_id, ", ".join(self.destinations) or "(nothing)")
        if not self.destinations:
            await stop.wait()
            return
        await asyncio.gather(*(self._loop([name], stop) for name in self.destinations))

    async def _loop(self, among: list[str], stop: asyncio.Event) -> None:
        wake = asyncio.Event()
        self._wakes.append(wake)
        while not stop.is_set():
            try:
                leased = await self.drain_once(among)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher batch failed; backing off")
                leased = 0
                await asyncio.sleep(min(5.0, self.poll_seconds * 4))
            if leased >= self.batch_size:
                continue  # a full batch: more is waiting
            if leased:
                # A partial batch: the next commits are landing now. Give them the linger too, so a steady intake
                # costs one lease transaction per few handoffs, not one per handoff.
                await asyncio.sleep(self.linger_seconds)
                continue
            wake.clear()
            waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
            done, pending = await asyncio.wait(waiters, timeout=self.poll_seconds,
                                               return_when=asyncio.FIRST_COMPLETED)
            for w in pending:
                w.cancel()
            if done and self.linger_seconds and not stop.is_set():
                # Woken by a commit: let the next few commits land too, so a busy intake costs one lease
                # transaction per batch rather than per handoff (a few ms against Slack's ~1 s pacing).
                await asyncio.sleep(self.linger_seconds)

    def stop_soon(self) -> None:
        self._stopping = True
