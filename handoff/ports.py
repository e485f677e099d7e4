"""Ports: the interfaces the use cases need from persistence and the outside world.

The store (:mod:`handoff.store`) implements the repositories and the unit of work; tests may use fakes.
Chat surfaces, customer channels and CRMs are outbox :class:`~handoff.outbox.Destination` s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from handoff.contract import CustomerIn, HandoffIn
from handoff.models import Agent, Customer, Event, Handoff, Status
from handoff.outbox import OutboxItem


@dataclass(frozen=True, slots=True)
class Page:
    items: Sequence[Handoff]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    role: str
    text: str
    ts: datetime | None
    confidence: float | None
    seq: int
    author: str | None = None


@dataclass(frozen=True, slots=True)
class AgentPerformance:
    handled: int
    median_first_response_s: float | None
    resolution_rate: float | None
    csat: float | None = None


class HandoffRepository(Protocol):
    async def get(self, handoff_id: str) -> Handoff | None: ...

    async def find_by_conversation(self, source: str, conversation_id: str) -> Handoff | None: ...

    async def add(self, handoff: Handoff, body: HandoffIn, routing: Sequence[Mapping[str, Any]] = ()) -> bool:
        """Insert a new handoff with its transcript; False (and nothing written) if the conversation exists."""
        ...

    async def save(self, handoff: Handoff, expected_version: int) -> Handoff:
        """Write the new state if nobody changed it since ``expected_version``; returns it with version+1.

        Raises:
            ConcurrentUpdate: the row's version moved on.
        """
        ...

    async def list(self, *, status: Status | None, queue: str | None, limit: int, cursor: str | None) -> Page: ...

    async def position(self, handoff: Handoff) -> int:
        """1-based place in its queue among queued handoffs (priority first, then age); 0 when not queued."""
        ...

    async def transcript(self, handoff_id: str) -> Sequence[TranscriptLine]: ...

    async def lock(self, handoff_id: str) -> Handoff | None:
        """Read the handoff and hold its row until commit (serializes appends to its conversation)."""
        ...

    async def append_message(self, handoff_id: str, *, role: str, text: str, at: datetime,
                             author: str | None) -> int:
        """Add a customer↔agent message after the transcript; returns its ``seq``."""
        ...

    async def messages_after(self, handoff_id: str, after_seq: int, limit: int = 200) -> Sequence[TranscriptLine]: ...

    async def count_recent_for_customer(self, customer_id: str, since: datetime, exclude: str | None) -> int: ...


class CustomerRepository(Protocol):
    async def upsert(self, customer: CustomerIn, now: datetime) -> Customer: ...

    async def get(self, customer_id: str) -> Customer | None: ...

    async def find_by_email(self, email: str) -> Customer | None: ...


class AgentRepository(Protocol):
    async def get(self, agent_id: str) -> Agent | None: ...

    async def ensure(self, agent_id: str, now: datetime) -> Agent:
        """The agent, registered with defaults if seen for the first time."""
        ...

    async def upsert(self, agent: Agent, now: datetime) -> Agent: ...

    async def list(self) -> Sequence[Agent]: ...

    async def open_counts(self) -> Mapping[str, int]:
        """Open handoffs held per agent id."""
        ...

    async def performance(self, since: datetime) -> Mapping[str, AgentPerformance]:
        """Per agent, over handoffs they claimed since ``since``: response times and resolution rate."""
        ...

    async def successes_with(self, customer_id: str) -> Mapping[str, int]:
        """Per agent, earlier handoffs of this customer they resolved."""
        ...


@dataclass(frozen=True, slots=True)
class ExternalRef:
    """Where a handoff lives in another system: a Slack message, a Teams activity, a CRM case."""

    handoff_id: str
    system: str
    kind: str
    external_id: str
    data: Mapping[str, Any]


class ExternalRefRepository(Protocol):
    async def get(self, handoff_id: str, system: str, kind: str) -> ExternalRef | None: ...

    async def put(self, handoff_id: str, system: str, kind: str, external_id: str, data: Mapping[str, Any],
                  now: datetime) -> None:
        """Create or replace the reference (idempotent: a replay writes the same row)."""
        ...

    async def find(self, system: str, kind: str, external_id: str) -> ExternalRef | None:
        """The handoff behind an outside id (a Slack thread ts, a Salesforce Case id)."""
        ...

    async def for_handoff(self, handoff_id: str) -> Sequence[ExternalRef]: ...


class EventRepository(Protocol):
    async def for_handoff(self, handoff_id: str) -> Sequence[Event]: ...


class OutboxRepository(Protocol):
    async def claim(self, *, worker: str, destinations: Sequence[str], limit: int, lane_limit: int,
                    lease_seconds: float, now: datetime) -> list[OutboxItem]:
        """Lease due items: the head of each (handoff, destination) lane and the items right behind it."""
        ...

    async def complete(self, ids: Sequence[int], worker: str, now: datetime) -> None: ...

    async def reschedule(self, item_id: int, worker: str, *, at: datetime, error: str, count_attempt: bool) -> None: ...

    async def release(self, ids: Sequence[int], worker: str) -> None:
        """Give leased items back untouched (shutdown, or a lane stopped by an earlier failure)."""
        ...

    async def bury(self, item_id: int, worker: str, error: str, now: datetime) -> None: ...

    async def list(self, *, status: str | None, limit: int) -> Sequence[OutboxItem]: ...

    async def retry(self, item_id: int, now: datetime) -> bool: ...

    async def counts(self) -> Mapping[str, int]: ...


class UnitOfWork(Protocol):
    """One database transaction. Rolls back unless :meth:`commit` is called.

    Events passed to :meth:`record` are written with the transaction, and so are the outbox items the
    routing derives from them: a state change and its side effects commit together or not at all.
    """

    handoffs: HandoffRepository
    customers: CustomerRepository
    agents: AgentRepository
    events: EventRepository
    outbox: OutboxRepository
    refs: ExternalRefRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...

    def record(self, event: Event) -> None: ...

    async def rollback(self) -> None: ...

    async def commit(self) -> list[int]:
        """Commit; returns the ids given to the recorded events."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class Notifier(Protocol):
    """Wakes local dispatchers after a commit that wrote outbox items (best effort; they also poll)."""

    def notify(self) -> None: ...


JSON = dict[str, Any]
