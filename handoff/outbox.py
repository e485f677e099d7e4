"""The transactional outbox, domain side: what an outbox item is, who gets which event, how retries back off.

A state change and every message it causes are committed together (see :mod:`handoff.store.uow`); the
:class:`~handoff.services.dispatcher.Dispatcher` delivers them afterwards, at least once, with the item's
idempotency key, in order per (handoff, destination).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from handoff.models import Event, EventKind


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DELIVERING = "delivering"
    DONE = "done"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """An item to be written in the same transaction as the change that caused it."""

    destination: str
    kind: str
    handoff_id: str | None
    payload: Mapping[str, Any]
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """An item as stored and claimed by a dispatcher."""

    id: int
    destination: str
    kind: str
    handoff_id: str | None
    payload: Mapping[str, Any]
    idempotency_key: str
    attempts: int
    status: OutboxStatus
    created_at: datetime
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Backlog:
    """One destination's outbox as ``/readyz`` reports it.

    ``pending`` counts items waiting or being delivered; ``failing`` those of them whose last attempt failed;
    ``dead_recent`` items dead-lettered within the readiness window (dead items stay until an operator
    replays them with ``python3 app.py outbox retry ID``); ``last_error`` is the newest error of a live or
    dead item.
    """

    destination: str
    pending: int = 0
    failing: int = 0
    dead: int = 0
    dead_recent: int = 0
    oldest_pending_at: datetime | None = None
    last_error: str | None = None

    @property
    def degraded(self) -> bool:
        return self.failing > 0 or self.dead_recent > 0


class RetryLater(Exception):
    """A delivery failed in a way that may pass (timeout, 5xx, 429). ``retry_after`` in seconds, if known.

    ``scope="destination"`` asks the dispatcher to pause the whole destination (a workspace-wide rate limit,
    an outage); ``"lane"`` only this (handoff, destination) lane. ``spend_attempt=False`` (a rate limit: never
    the item's fault) retries the lane after ``retry_after`` without counting towards dead-lettering.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, scope: str = "lane",
                 spend_attempt: bool = True) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.scope = scope
        self.spend_attempt = spend_attempt


class PermanentFailure(Exception):
    """A delivery that can never succeed as it is (bad request, unknown channel): dead-lettered at once."""


class NotAttempted(Exception):
    """From :meth:`BatchDestination.deliver_batch`: this item was skipped (an earlier item of its lane failed).

    The dispatcher gives it back without spending an attempt.
    """


class Destination(Protocol):
    """A port for one outbound channel (logging, Slack, Teams, customer webhook, a CRM).

    ``subscribes`` tells which events produce an item for it; ``deliver`` sends one item and must be
    idempotent on ``item.idempotency_key``: the dispatcher guarantees at-least-once, not exactly-once.
    """

    name: str

    def subscribes(self, event: Event) -> bool: ...

    async def deliver(self, item: OutboxItem) -> None: ...


class BatchDestination(Destination, Protocol):
    """A destination that delivers many items per call (CRM batch endpoints).

    ``deliver_batch`` gets every leased item for this destination, lanes in order (an item follows the
    earlier items of its lane), and returns one outcome per item, in the same order: ``None`` for delivered,
    or the exception the item failed with (:class:`RetryLater`, :class:`PermanentFailure`, any other
    exception = retry), or :class:`NotAttempted` for items after a failure in their lane.
    """

    async def deliver_batch(self, items: Sequence[OutboxItem]) -> Sequence[BaseException | None]: ...


def event_payload(event: Event, event_id: int | None) -> dict[str, Any]:
    """The facts every destination receives about an event; destinations load anything else by id."""
    return {
        "event_id": event_id,
        "handoff_id": event.handoff_id,
        "kind": event.kind.value,
        "actor": str(event.actor),
        "source": event.source.value,
        "at": event.at.isoformat(),
        "reason": event.reason,
        "data": dict(event.data),
    }


@dataclass(frozen=True)
class OutboxRouting:
    """Which destinations receive which events. Built once by the composition root."""

    destinations: Sequence[Destination] = field(default_factory=list)

    def messages_for(self, event: Event, event_id: int | None) -> list[OutboxMessage]:
        if event.kind in TIMELINE_ONLY:
            return []
        payload = event_payload(event, event_id)
        return [
            OutboxMessage(
                destination=d.name,
                kind=event.kind.value,
                handoff_id=event.handoff_id,
                payload=payload,
                # With no id yet, the key ends with ":" and the store appends the id it takes (one statement).
                idempotency_key=f"{d.name}:{event.handoff_id}:{'' if event_id is None else event_id}",
            )
            for d in self.destinations
            if d.subscribes(event)
        ]


#: Events that live on the timeline only and cause no side effect anywhere: an SLA clock change always rides
#: with the event that caused it (created, claimed, pending…), which refreshes cards and cases already.
REPORT = "report"  # an outbox kind no event makes: the scheduled daily/weekly report (handoff.services.reports)
TIMELINE_ONLY = frozenset({EventKind.SLA_CLOCK, EventKind.REVIEWED})  # the record, no messages


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; ``Retry-After`` wins when the destination names one."""

    base_seconds: float = 1.0
    cap_seconds: float = 300.0
    max_attempts: int = 8
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempts + 1``."""
        if retry_after is not None:
            return max(0.0, retry_after) + float(self.rng.uniform(0, min(1.0, self.base_seconds)))
        ceiling = min(self.cap_seconds, self.base_seconds * (2 ** max(0, attempts - 1)))
        return float(ceiling / 2 + self.rng.uniform(0, ceiling / 2))

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
