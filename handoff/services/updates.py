"""Scheduled customer updates: the scheduler ticks, the database remembers.

Updates go to customers who listen: a webhook (``callback_url``), or the widget open — its SSE stream or status
polls mark the handoff as listened to for ``LISTEN_SECONDS`` (:meth:`CustomerUpdates.listening`). A backlog of
50,000 handoffs whose customers closed the widget costs the scheduler nothing.

Each tick (1) keeps the schedule (rows for webhook handoffs, unheard rows dropped, bounded per tick), (2) claims
due rows with row locks, (3) decides each update (:func:`handoff.updates.next_update`), then locks the batch's
handoffs (skipping those an agent holds) and, for each that did not change meanwhile, records it as a
``customer_update_sent`` event — the outbox carries it to
SSE and the webhook — and moves ``due_at`` forward, all in one transaction. A restart loses nothing; two
schedulers never send one update twice.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from handoff.models import OPEN_STATUSES, Actor, Event, EventKind, Handoff, Status, Surface
from handoff.ports import UpdateSchedule
from handoff.services.common import Deps
from handoff.services.waits import WaitTimes
from handoff.sla.policy import SlaPolicy
from handoff.updates import DueUpdate, UpdatePolicy, next_update

log = logging.getLogger("baton.updates")

LISTEN_SECONDS = 600.0
"""A stream or status poll counts the customer as listening this long (an SSE stream reconnects within 300 s)."""
_MARKED_MAX = 100_000  # handoffs whose last mark this process remembers (to write at most once per third of it)


class CustomerUpdates:
    """The scheduled-update tick (see the module docstring); the wait comes from :meth:`WaitTimes.customer_wait_in`."""

    def __init__(self, deps: Deps, waits: WaitTimes) -> None:
        self.deps = deps
        self.waits = waits
        c = deps.config.customer_updates
        self.policy = UpdatePolicy(min_interval_seconds=c.min_interval_seconds,
                                   max_interval_seconds=c.max_interval_seconds, long_wait_seconds=c.long_wait_seconds)
        self.batch_size = c.batch_size
        self.sla = SlaPolicy(deps.config.sla)
        self._marked: dict[str, datetime] = {}  # handoff id → when this process last marked it listened to

    async def listening(self, h: Handoff) -> None:
        """The customer has the widget open (a stream opened, a status poll): updates reach them for the next
        ``LISTEN_SECONDS``. Written at most once per third of that per handoff and process."""
        if h.status not in OPEN_STATUSES:
            return
        now = self.deps.now()
        last = self._marked.get(h.id)
        if last is not None and (now - last).total_seconds() < LISTEN_SECONDS / 3:
            return
        if len(self._marked) >= _MARKED_MAX:
            self._marked.clear()
        self._marked[h.id] = now
        async with self.deps.uow() as uow:
            await uow.customer_side.listen(h.id, until=now + timedelta(seconds=LISTEN_SECONDS),
                                           first_due=now + timedelta(seconds=self.policy.min_interval_seconds),
                                           now=now)
            await uow.commit()

    def policy_for(self, h: Handoff, plan: str | None) -> UpdatePolicy:
        """The cadence for one handoff: the SLA policy's ``update_every`` for its priority/plan/queue caps the
        interval (the close-to-the-front cadence stays the shorter of the two)."""
        every = self.sla.targets(h.priority, plan, h.queue).update_every
        if every is None:
            return self.policy
        return replace(self.policy, max_interval_seconds=every,
                       min_interval_seconds=min(self.policy.min_interval_seconds, every))

    async def tick(self) -> int:
        """Send every update that is due; returns how many were recorded."""
        now = self.deps.now()
        async with self.deps.uow() as uow:
            # The first update comes one short interval after the escalation message.
            first = now + timedelta(seconds=self.policy.min_interval_seconds)
            if await uow.customer_side.ensure_schedules(now, first, limit=self.batch_size * 10):
                await uow.commit()
        sent = 0
        while True:
            n, more = await self._batch()
            sent += n
            if not more:
                return sent

    async def _batch(self) -> tuple[int, bool]:
        """One batch of due updates; ``(sent, more)``, ``more`` when a full batch made progress.

        Every update is decided first, reading without locks; then the batch's handoffs are locked in one
        statement, skipping any another transaction holds, and only the ones unchanged since they were read are
        written. So the tick never waits on an agent's action, and an agent's claim waits on the tick at most for
        its writes and commit, not for the reads of a whole batch (which, on a busy process, took seconds).
        A skipped update stays due: a later tick decides it again on the handoff's new state.
        """
        sent = progressed = 0
        async with self.deps.uow() as uow:
            now = self.deps.now()
            rows = await uow.customer_side.claim_due(now, self.batch_size)
            if not rows:
                return 0, False
            # The batch's handoffs and customers in one query each; a position and an estimate per handoff.
            handoffs = await uow.handoffs.get_many([r.handoff_id for r in rows])
            customers = await uow.customers.get_many([h.customer_id for h in handoffs.values()])
            plans: list[tuple[UpdateSchedule, Handoff | None, DueUpdate | None]] = []
            for row in rows:
                h = handoffs.get(row.handoff_id)
                if h is None:
                    plans.append((row, None, None))
                    continue
                position = await uow.handoffs.position(h)
                customer = customers.get(h.customer_id)
                wait = await self.waits.customer_wait_in(uow, h, position, customer.timezone if customer else None)
                plan = customer.plan if customer else None
                plans.append((row, h, next_update(h, row, position, wait, now, self.policy_for(h, plan))))
            locked = await uow.handoffs.lock_many([h.id for _, h, _ in plans if h is not None], skip_locked=True)
            over: list[str] = []
            moved: list[UpdateSchedule] = []
            for row, h, due in plans:
                if h is not None:
                    current = locked.get(h.id)
                    if current is None or current.version != h.version:
                        continue  # an agent is acting on it, or just did: decided again on a later tick
                progressed += 1
                if h is None or h.status in (Status.RESOLVED, Status.CLOSED):  # over: nothing more to tell
                    over.append(row.handoff_id)
                    continue
                if due is None:  # not waiting (claimed, pending): park until it waits again
                    moved.append(replace(row, due_at=None))
                    continue
                uow.record(Event(handoff_id=h.id, kind=EventKind.CUSTOMER_UPDATE_SENT, actor=Actor.system(),
                                 source=Surface.SYSTEM, at=now, data={"update": due.update, **due.facts}))
                moved.append(UpdateSchedule(h.id, due.next_due_at, row.sent + 1,
                                            now if due.callback_offered else row.callback_offered_at))
                sent += 1
            await uow.customer_side.forget_many(over)
            await uow.customer_side.advance_many(moved, now)
            await uow.commit()
        log.debug("sent %d scheduled customer updates", sent)
        return sent, len(rows) >= self.batch_size and progressed > 0
