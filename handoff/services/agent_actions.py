"""What agents do to a handoff, from any surface: claim, release, transfer, escalate, resolve, reopen, notes.

Every action is the same shape: read the handoff, let :mod:`handoff.lifecycle` decide, write the new state
only if nobody else changed it meanwhile (optimistic concurrency on ``version``), record the event — the
unit of work commits state, event and outbox items together. A lost race is retried on fresh state, where
the lifecycle gives the clean answer ("already claimed by …").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from handoff import lifecycle
from handoff.errors import AlreadyClaimed, ConcurrentUpdate, IllegalTransition, InvalidCommand, NotFound
from handoff.lifecycle import EscalationForm, Transition
from handoff.models import Actor, Agent, AgentStatus, Event, EventKind, Handoff, Surface, Tier
from handoff.ports import UnitOfWork
from handoff.services.common import Deps
from handoff.sla.clocks import ClockKind

_RETRIES = 8


class AgentActions:
    """Agent-facing use cases. ``source`` tags where the action came from (Slack, Teams, API, CLI)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def _apply(self, handoff_id: str, agent_id: str | None,
                     step: Callable[[Handoff, datetime], Transition]) -> Handoff:
        for _ in range(_RETRIES):
            async with self.deps.uow() as uow:
                current = await self._load(uow, handoff_id)
                now = self.deps.now()
                if agent_id is not None:
                    await uow.agents.ensure(agent_id, now)
                tr = step(current, now)
                try:
                    saved = await uow.handoffs.save(tr.after, current.version)
                except ConcurrentUpdate:
                    continue
                uow.record(tr.event)
                await uow.commit()
                return saved
        raise ConcurrentUpdate(f"handoff {handoff_id} is changing too fast; try again", handoff_id=handoff_id)

    @staticmethod
    async def _load(uow: UnitOfWork, handoff_id: str) -> Handoff:
        h = await uow.handoffs.get(handoff_id)
        if h is None:
            raise NotFound(f"no handoff {handoff_id}", handoff_id=handoff_id)
        return h

    async def claim(self, handoff_id: str, agent_id: str, source: Surface) -> Handoff:
        return await self._apply(handoff_id, agent_id, lambda h, now: lifecycle.claim(h, agent_id, source, now))

    async def claim_next(self, queue: str | None, agent_id: str, source: Surface) -> Handoff:
        """Claim the most urgent waiting handoff of ``queue`` (None: of any queue) — "claim next" everywhere.

        The order is the domain's (priority, then age); one that someone else claimed a moment earlier is
        skipped for the next.

        Raises:
            InvalidCommand: an unknown queue, or nothing is waiting.
        """
        if queue is not None and queue not in self.deps.config.queues:
            raise InvalidCommand(f"unknown queue {queue!r}", field="queue")
        for _ in range(3):
            async with self.deps.uow(read_only=True) as uow:
                waiting = await uow.handoffs.queued(queue, 10)
            if not waiting:
                break
            for h in waiting:
                try:
                    return await self.claim(h.id, agent_id, source)
                except AlreadyClaimed:
                    continue
        where = f"in {self.deps.config.label(queue)}" if queue is not None else "in any queue"
        raise InvalidCommand(f"nothing is waiting {where}", field="queue")

    async def release(self, handoff_id: str, agent_id: str, source: Surface, reason: str | None = None) -> Handoff:
        return await self._apply(handoff_id, agent_id,
                                 lambda h, now: lifecycle.release(h, agent_id, source, now, reason))

    async def transfer(self, handoff_id: str, agent_id: str, source: Surface, *, to_queue: str,
                       note: str | None = None, to_agent: str | None = None) -> Handoff:
        queues = self.deps.config.queue_names
        return await self._apply(handoff_id, agent_id, lambda h, now: lifecycle.transfer(
            h, agent_id, source, now, to_queue=to_queue, known_queues=queues, note=note, to_agent=to_agent))

    async def escalate(self, handoff_id: str, agent_id: str, source: Surface, *, to_tier: Tier | None = None,
                       form: EscalationForm | None = None) -> Handoff:
        return await self._apply(handoff_id, agent_id, lambda h, now: lifecycle.escalate(
            h, agent_id, source, now, to_tier=to_tier, form=form))

    async def pending_customer(self, handoff_id: str, agent_id: str, source: Surface,
                               reason: str | None = None) -> Handoff:
        return await self._apply(handoff_id, agent_id,
                                 lambda h, now: lifecycle.pending_customer(h, agent_id, source, now, reason))

    async def resume(self, handoff_id: str, agent_id: str, source: Surface) -> Handoff:
        return await self._apply(handoff_id, agent_id,
                                 lambda h, now: lifecycle.resume(h, Actor.agent(agent_id), source, now))

    async def resolve(self, handoff_id: str, agent_id: str, source: Surface, *, note: str | None = None,
                      outcome: str = "resolved", kb_gap: bool = False) -> Handoff:
        return await self._apply(handoff_id, agent_id, lambda h, now: lifecycle.resolve(
            h, agent_id, source, now, note=note, outcome=outcome, kb_gap=kb_gap))

    async def reopen(self, handoff_id: str, actor: Actor, source: Surface, reason: str | None = None) -> Handoff:
        agent = actor.id if actor.type == "agent" else None
        return await self._apply(handoff_id, agent, lambda h, now: lifecycle.reopen(h, actor, source, now, reason))

    async def close(self, handoff_id: str, actor: Actor, source: Surface, reason: str | None = None) -> Handoff:
        agent = actor.id if actor.type == "agent" else None
        return await self._apply(handoff_id, agent, lambda h, now: lifecycle.close(h, actor, source, now, reason))

    async def add_note(self, handoff_id: str, actor: Actor, source: Surface, text: str) -> Event:
        """Append an internal note; it changes no state, so it needs no version check."""
        async with self.deps.uow() as uow:
            h = await self._load(uow, handoff_id)
            now = self.deps.now()
            if actor.type == "agent" and actor.id:
                await uow.agents.ensure(actor.id, now)
            event = lifecycle.note(h, actor, source, now, text)
            uow.record(event)
            ids = await uow.commit()
        return replace(event, id=ids[0])

    async def review(self, handoff_id: str, reviewer_id: str, source: Surface, *, accurate: bool,
                     note: str | None = None) -> Event:
        """A reviewer's verdict on a resolution (:func:`handoff.lifecycle.review`); it changes no state."""
        async with self.deps.uow() as uow:
            h = await self._load(uow, handoff_id)
            now = self.deps.now()
            await uow.agents.ensure(reviewer_id, now)
            event = lifecycle.review(h, Actor.agent(reviewer_id), source, now, accurate=accurate, note=note)
            uow.record(event)
            ids = await uow.commit()
        return replace(event, id=ids[0])

    async def acknowledge(self, handoff_id: str, agent_id: str, source: Surface,
                          clock: str = "management_ack") -> Event:
        """Acknowledge an escalation (the management card's button; ``tier_ack`` for a tier escalation): stops that
        acknowledgement clock. Once: a second acknowledgement is refused with who and when.

        Raises:
            NotFound: no such handoff.
            InvalidCommand: ``clock`` is not an acknowledgement clock.
            IllegalTransition: nothing is waiting for an acknowledgement (or it was acknowledged already).
        """
        if clock not in (ClockKind.MANAGEMENT_ACK.value, ClockKind.TIER_ACK.value):
            raise InvalidCommand(f"cannot acknowledge {clock!r}; use management_ack or tier_ack", field="clock")
        async with self.deps.uow() as uow:
            h = await uow.handoffs.lock(handoff_id)  # two clicks at once: the second waits and sees the first
            if h is None:
                raise NotFound(f"no handoff {handoff_id}", handoff_id=handoff_id)
            now = self.deps.now()
            clocks = [c for c in await uow.sla.for_handoff(handoff_id) if c.kind.value == clock]
            if not any(c.open for c in clocks):
                done = [e for e in await uow.events.for_handoff(handoff_id)
                        if e.kind is EventKind.ACKNOWLEDGED and e.data.get("clock") == clock]
                if done:
                    raise IllegalTransition(f"already acknowledged by {done[-1].actor.id} at {done[-1].at:%H:%M} UTC",
                                            handoff_id=handoff_id, acknowledged_by=done[-1].actor.id)
                raise IllegalTransition("nothing is waiting for an acknowledgement on this handoff",
                                        handoff_id=handoff_id)
            await uow.agents.ensure(agent_id, now)
            event = Event(handoff_id=h.id, kind=EventKind.ACKNOWLEDGED, actor=Actor.agent(agent_id), source=source,
                          at=now, reason=f"acknowledged by {agent_id}", data={"clock": clock})
            uow.record(event)
            ids = await uow.commit()
        return replace(event, id=ids[0])

    async def update_agent(self, agent_id: str, changes: Mapping[str, Any], *, create: bool = True) -> Agent:
        """Change an agent (status, skills, capacity, …) at runtime; create it first unless ``create`` is false.

        Raises:
            NotFound: the agent does not exist and ``create`` is false.
        """
        async with self.deps.uow() as uow:
            now = self.deps.now()
            if not create and await uow.agents.get(agent_id) is None:
                raise NotFound(f"no agent {agent_id!r}", agent_id=agent_id)
            current = await uow.agents.ensure(agent_id, now)
            fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()}
            if "status" in fields:
                fields["status"] = AgentStatus(fields["status"])
            if "tier" in fields:
                fields["tier"] = Tier(fields["tier"])
            updated = await uow.agents.upsert(replace(current, **fields), now)
            await uow.commit()
        return updated
