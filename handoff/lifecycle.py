"""The handoff state machine: which action applies in which state, and what it changes.

Pure functions: each takes the current :class:`Handoff` and returns the next one plus the timeline event
that explains the change, or raises :class:`IllegalTransition`. Persistence and concurrency control live
in the services and the store.

    queued ──claim──▶ claimed ──resolve──▶ resolved ──close──▶ closed
      ▲  ◀──release──   │  ▲                  │
      │                 │  └──resume── pending_customer
      │                 └──pending──▶
      ├──transfer (any open state, another queue)
      ├──escalate (any open state, next tier; the SLA clock keeps running)
      └──reopen (from resolved, counted)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from handoff.checks import clean_text
from handoff.errors import AlreadyClaimed, IllegalTransition, InvalidCommand, NotHolder
from handoff.models import OPEN_STATUSES, Actor, Event, EventKind, Handoff, Status, Surface, Tier

#: How a resolution ended, as agents choose it on every surface (the API accepts any short code).
RESOLVE_OUTCOMES = ("resolved", "workaround", "duplicate", "refunded", "not_an_issue", "no_response")


def tiers_above(h: Handoff) -> tuple[Tier, ...]:
    """The tiers an open handoff may be escalated to (none at the top)."""
    order = list(Tier)
    return tuple(order[order.index(h.tier) + 1:])


@dataclass(frozen=True, slots=True)
class EscalationForm:
    """What the next tier needs so the customer repeats nothing — the same form on the API, Slack and Teams.

    ``warm``: the escalating agent stays with the customer until the next tier joins (cold: hands over now).
    """

    summary: str | None = None
    steps_taken: tuple[str, ...] = ()
    hypothesis: str | None = None
    customer_impact: str | None = None
    warm: bool = False

    def as_data(self) -> dict[str, Any]:
        """The event's data: only what was filled in, plus the handoff style."""
        data: dict[str, Any] = {k: v for k, v in (("summary", self.summary), ("hypothesis", self.hypothesis),
                                                  ("customer_impact", self.customer_impact)) if v}
        if self.steps_taken:
            data["steps_taken"] = list(self.steps_taken)
        data["warm"] = self.warm
        data["handoff_style"] = "warm" if self.warm else "cold"
        return data


@dataclass(frozen=True, slots=True)
class Transition:
    """The outcome of one action: the handoff after it and the event that records it."""

    before: Handoff
    after: Handoff
    event: Event


def _event(h: Handoff, kind: EventKind, actor: Actor, source: Surface, now: datetime,
           reason: str | None = None, data: Mapping[str, Any] | None = None) -> Event:
    # Whatever surface the words came from, control characters never reach the timeline (PostgreSQL refuses NUL).
    return Event(handoff_id=h.id, kind=kind, actor=actor, source=source, at=now,
                 reason=clean_text(reason) if reason is not None else None, data=_clean_data(data or {}))


def _clean_data(data: Mapping[str, Any]) -> dict[str, Any]:
    def clean(v: Any) -> Any:
        if isinstance(v, str):
            return clean_text(v)
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, Mapping):
            return {k: clean(x) for k, x in v.items()}
        return v

    return {k: clean(v) for k, v in data.items()}


def _require(h: Handoff, action: str, allowed: frozenset[Status] | set[Status]) -> None:
    if h.status not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise IllegalTransition(
            f"cannot {action} a handoff that is {h.status.value} (allowed from: {names})",
            handoff_id=h.id, status=h.status.value, action=action,
        )


def _require_holder(h: Handoff, agent_id: str, action: str) -> None:
    if h.claimed_by != agent_id:
        raise NotHolder(
            f"only the agent holding the claim ({h.claimed_by}) can {action} this handoff",
            handoff_id=h.id, claimed_by=h.claimed_by, action=action,
        )


def claim(h: Handoff, agent_id: str, source: Surface, now: datetime) -> Transition:
    """Take a queued handoff. Exactly one of several concurrent claimers wins (the store guarantees it)."""
    if h.status in (Status.CLAIMED, Status.PENDING_CUSTOMER):
        if h.claimed_by == agent_id:
            raise AlreadyClaimed(f"you already hold this handoff since {h.claimed_at:%H:%M:%S}",
                                 handoff_id=h.id, claimed_by=h.claimed_by)
        raise AlreadyClaimed(f"already claimed by {h.claimed_by}", handoff_id=h.id, claimed_by=h.claimed_by)
    _require(h, "claim", {Status.QUEUED})
    waited = (now - h.created_at).total_seconds()
    after = replace(h, status=Status.CLAIMED, claimed_by=agent_id, claimed_at=now,
                    first_response_at=h.first_response_at or now, updated_at=now)
    return Transition(h, after, _event(h, EventKind.CLAIMED, Actor.agent(agent_id), source, now,
                                       data={"waited_seconds": round(waited, 3), "queue": h.queue, "tier": h.tier}))


def release(h: Handoff, agent_id: str, source: Surface, now: datetime, reason: str | None = None) -> Transition:
    """Give a claimed handoff back to its queue."""
    _require(h, "release", {Status.CLAIMED, Status.PENDING_CUSTOMER})
    _require_holder(h, agent_id, "release")
    after = replace(h, status=Status.QUEUED, claimed_by=None, claimed_at=None, updated_at=now)
    return Transition(h, after, _event(h, EventKind.RELEASED, Actor.agent(agent_id), source, now, reason))


def transfer(h: Handoff, agent_id: str, source: Surface, now: datetime, *, to_queue: str,
             known_queues: frozenset[str], note: str | None = None, to_agent: str | None = None) -> Transition:
    """Move an open handoff to another queue; it waits there unclaimed (optionally suggested to ``to_agent``)."""
    _require(h, "transfer", OPEN_STATUSES)
    if to_queue not in known_queues:
        raise InvalidCommand(f"unknown queue {to_queue!r}; known: {', '.join(sorted(known_queues))}",
                             field="to_queue")
    if to_queue == h.queue and to_agent is None:
        raise IllegalTransition(f"the handoff is already in queue {to_queue!r}", handoff_id=h.id)
    after = replace(h, status=Status.QUEUED, queue=to_queue, claimed_by=None, claimed_at=None,
                    suggested_agent_id=to_agent, transfer_count=h.transfer_count + 1, updated_at=now)
    return Transition(h, after, _event(h, EventKind.TRANSFERRED, Actor.agent(agent_id), source, now, note,
                                       {"from_queue": h.queue, "to_queue": to_queue, "to_agent": to_agent}))


def escalate(h: Handoff, agent_id: str, source: Surface, now: datetime, *, to_tier: Tier | None = None,
             form: EscalationForm | None = None) -> Transition:
    """Hand an open handoff to the next support tier. The SLA clock keeps running (``sla_due_at`` is kept)."""
    _require(h, "escalate", OPEN_STATUSES)
    nxt = h.tier.next()
    if nxt is None:
        raise IllegalTransition(f"the handoff is already at the highest tier ({h.tier.value})", handoff_id=h.id)
    target = to_tier or nxt
    if target not in tiers_above(h):
        raise InvalidCommand(f"tier {target.value} is not above the current tier {h.tier.value}", field="to_tier")
    after = replace(h, status=Status.QUEUED, tier=target, claimed_by=None, claimed_at=None,
                    escalation_count=h.escalation_count + 1, updated_at=now)
    form = form or EscalationForm()
    data: dict[str, Any] = {"from_tier": h.tier.value, "to_tier": target.value, **form.as_data()}
    return Transition(h, after, _event(h, EventKind.ESCALATED, Actor.agent(agent_id), source, now, form.summary,
                                       data))


def pending_customer(h: Handoff, agent_id: str, source: Surface, now: datetime, reason: str | None = None
                     ) -> Transition:
    """The holder waits for the customer to answer."""
    _require(h, "wait for the customer on", {Status.CLAIMED})
    _require_holder(h, agent_id, "set pending")
    after = replace(h, status=Status.PENDING_CUSTOMER, updated_at=now)
    return Transition(h, after, _event(h, EventKind.PENDING_CUSTOMER, Actor.agent(agent_id), source, now, reason))


def resume(h: Handoff, actor: Actor, source: Surface, now: datetime, reason: str | None = None) -> Transition:
    """Back from pending_customer to claimed: the customer answered or the holder picked it up again."""
    _require(h, "resume", {Status.PENDING_CUSTOMER})
    if actor.type == "agent" and actor.id is not None:
        _require_holder(h, actor.id, "resume")
    after = replace(h, status=Status.CLAIMED, updated_at=now)
    return Transition(h, after, _event(h, EventKind.RESUMED, actor, source, now, reason))


def resolve(h: Handoff, agent_id: str, source: Surface, now: datetime, *, note: str | None = None,
            outcome: str = "resolved", kb_gap: bool = False) -> Transition:
    """The holder closes the customer's problem."""
    _require(h, "resolve", {Status.CLAIMED, Status.PENDING_CUSTOMER})
    _require_holder(h, agent_id, "resolve")
    after = replace(h, status=Status.RESOLVED, resolved_at=now, outcome=outcome, kb_gap=kb_gap, updated_at=now)
    handle = (now - h.claimed_at).total_seconds() if h.claimed_at else None
    return Transition(h, after, _event(h, EventKind.RESOLVED, Actor.agent(agent_id), source, now, note,
                                       {"outcome": outcome, "kb_gap": kb_gap, "handle_seconds": handle}))


def reopen(h: Handoff, actor: Actor, source: Surface, now: datetime, reason: str | None = None) -> Transition:
    """A resolved handoff comes back (the customer still has the problem): queued again and counted."""
    _require(h, "reopen", {Status.RESOLVED})
    after = replace(h, status=Status.QUEUED, claimed_by=None, claimed_at=None, resolved_at=None, outcome=None,
                    kb_gap=False, reopen_count=h.reopen_count + 1, updated_at=now)
    return Transition(h, after, _event(h, EventKind.REOPENED, actor, source, now, reason,
                                       {"reopen_count": after.reopen_count}))


def close(h: Handoff, actor: Actor, source: Surface, now: datetime, reason: str | None = None) -> Transition:
    """Final state after resolution (grace period over, or CSAT received)."""
    _require(h, "close", {Status.RESOLVED})
    after = replace(h, status=Status.CLOSED, closed_at=now, updated_at=now)
    return Transition(h, after, _event(h, EventKind.CLOSED, actor, source, now, reason))


def review(h: Handoff, reviewer: Actor, source: Surface, now: datetime, *, accurate: bool,
           note: str | None = None) -> Event:
    """A lead's verdict on a resolution (the agent quality score's accuracy): only once resolved, never by the
    agent who resolved it. Changes no state."""
    _require(h, "review", {Status.RESOLVED, Status.CLOSED})
    if reviewer.type == "agent" and reviewer.id is not None and reviewer.id == h.claimed_by:
        raise IllegalTransition(f"{reviewer.id} resolved {h.id} and cannot review their own resolution",
                                handoff_id=h.id, action="review")
    return _event(h, EventKind.REVIEWED, reviewer, source, now, note, {"accurate": accurate, "agent": h.claimed_by})


def note(h: Handoff, actor: Actor, source: Surface, now: datetime, text: str) -> Event:
    """An internal note on the timeline, allowed in every state; changes nothing else."""
    return _event(h, EventKind.NOTE_ADDED, actor, source, now, None, {"text": text})
