"""Fold a handoff's timeline back into its lifecycle state: the event log must explain the stored row.

:func:`replay` walks the events in order, checks that each state-changing event applies to the state the
earlier events left (a claim only from ``queued``, a transfer from the queue it names, ...), and returns the
status, holder, queue, tier and counters that result. Comparing that with :meth:`Replayed.of` the stored
handoff proves the row and its log agree (tests do; an audit tool could).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from handoff.models import OPEN_STATUSES, Event, EventKind, Handoff, Status, Tier

_HELD = frozenset({Status.CLAIMED, Status.PENDING_CUSTOMER})


class ReplayError(ValueError):
    """The timeline contains an event that cannot follow the events before it."""


@dataclass(frozen=True, slots=True)
class Replayed:
    """The lifecycle facts a timeline determines. ``transitions`` counts state changes (= ``version - 1``)."""

    status: Status
    queue: str
    tier: Tier
    claimed_by: str | None
    outcome: str | None = None
    reopen_count: int = 0
    transfer_count: int = 0
    escalation_count: int = 0
    transitions: int = 0

    @classmethod
    def of(cls, h: Handoff) -> Replayed:
        """The same facts, read from a stored handoff."""
        return cls(status=h.status, queue=h.queue, tier=h.tier, claimed_by=h.claimed_by, outcome=h.outcome,
                   reopen_count=h.reopen_count, transfer_count=h.transfer_count,
                   escalation_count=h.escalation_count, transitions=h.version - 1)


def _need(state: Replayed, event: Event, allowed: frozenset[Status]) -> None:
    if state.status not in allowed:
        raise ReplayError(f"event {event.id} ({event.kind.value}) cannot follow status {state.status.value}")


def _step(s: Replayed, e: Event) -> Replayed:
    kind, data = e.kind, e.data
    n = s.transitions + 1
    if kind is EventKind.CLAIMED:
        _need(s, e, frozenset({Status.QUEUED}))
        holder = data.get("assigned_to") or e.actor.id
        if not holder:
            raise ReplayError(f"event {e.id} (claimed) names no agent")
        return replace(s, status=Status.CLAIMED, claimed_by=str(holder), transitions=n)
    if kind is EventKind.RELEASED:
        _need(s, e, _HELD)
        return replace(s, status=Status.QUEUED, claimed_by=None, transitions=n)
    if kind is EventKind.TRANSFERRED:
        _need(s, e, OPEN_STATUSES)
        if data.get("from_queue") != s.queue:
            raise ReplayError(f"event {e.id} transfers from {data.get('from_queue')!r}, but the queue is {s.queue!r}")
        return replace(s, status=Status.QUEUED, queue=str(data["to_queue"]), claimed_by=None,
                       transfer_count=s.transfer_count + 1, transitions=n)
    if kind is EventKind.ESCALATED:
        _need(s, e, OPEN_STATUSES)
        if data.get("from_tier") != s.tier.value:
            raise ReplayError(f"event {e.id} escalates from {data.get('from_tier')!r}, but the tier is {s.tier.value}")
        return replace(s, status=Status.QUEUED, tier=Tier(str(data["to_tier"])), claimed_by=None,
                       escalation_count=s.escalation_count + 1, transitions=n)
    if kind is EventKind.PENDING_CUSTOMER:
        _need(s, e, frozenset({Status.CLAIMED}))
        return replace(s, status=Status.PENDING_CUSTOMER, transitions=n)
    if kind is EventKind.RESUMED:
        _need(s, e, frozenset({Status.PENDING_CUSTOMER}))
        return replace(s, status=Status.CLAIMED, transitions=n)
    if kind is EventKind.RESOLVED:
        _need(s, e, _HELD)
        return replace(s, status=Status.RESOLVED, outcome=str(data.get("outcome") or "resolved"), transitions=n)
    if kind is EventKind.REOPENED:
        _need(s, e, frozenset({Status.RESOLVED}))
        return replace(s, status=Status.QUEUED, claimed_by=None, outcome=None, reopen_count=s.reopen_count + 1,
                       transitions=n)
    if kind is EventKind.CLOSED:
        _need(s, e, frozenset({Status.RESOLVED}))
        return replace(s, status=Status.CLOSED, transitions=n)
    if kind is EventKind.CREATED:
        raise ReplayError(f"event {e.id}: a second 'created' in one timeline")
    return s  # notes, messages, CSAT, enrichment, updates sent: the timeline grows, the state does not change


def replay(events: Iterable[Event]) -> Replayed:
    """The lifecycle state a handoff's timeline (oldest first, starting with ``created``) leads to.

    Raises:
        ReplayError: the timeline is empty, does not start with ``created``, or has an event that does not
            apply to the state before it.
    """
    it = iter(events)
    first = next(it, None)
    if first is None or first.kind is not EventKind.CREATED:
        raise ReplayError("a timeline starts with a 'created' event")
    state = Replayed(status=Status.QUEUED, queue=str(first.data.get("queue") or ""),
                     tier=Tier(str(first.data.get("tier") or Tier.L1.value)), claimed_by=None)
    for event in it:
        state = _step(state, event)
    return state
