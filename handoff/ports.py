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

from handoff.analytics import Conversations, Sums, Tuning
from handoff.auth import ApiKey
from handoff.chat.state import ChatStateRepository
from handoff.contract import CustomerIn, HandoffIn
from handoff.models import Agent, Customer, Event, Handoff, Status
from handoff.outbox import Backlog, OutboxItem, OutboxMessage
from handoff.sla.clocks import SlaClock


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

    async def get_many(self, handoff_ids: Sequence[str]) -> dict[str, Handoff]: ...

    async def find_by_conversation(self, source: str, conversation_id: str) -> Handoff | None: ...

    async def add(self, handoff: Handoff, body: HandoffIn, routing: Sequence[Mapping[str, Any]] = (), *,
                  promised_wait_seconds: float | None = None) -> None:
        """A new handoff with its transcript and the wait the intake answer promises, written by the commit
        (which raises :class:`handoff.errors.ConversationExists`, writing nothing, if the conversation has one)."""
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

    async def lock_many(self, handoff_ids: Sequence[str], *, skip_locked: bool = False) -> dict[str, Handoff]: ...

    async def append_message(self, handoff_id: str, *, role: str, text: str, at: datetime,
                             author: str | None) -> int:
        """Add a customer↔agent message after the transcript; returns its ``seq``."""
        ...

    async def messages_after(self, handoff_id: str, after_seq: int, limit: int = 200) -> Sequence[TranscriptLine]: ...

    async def count_recent_for_customer(self, customer_id: str, since: datetime, exclude: str | None) -> int: ...

    async def context(self, handoff_id: str) -> Mapping[str, Any]:
        """What intake stored beside the state: ``ai`` (summary, steps, confidence), ``technical``, ``routing``."""
        ...

    async def queued(self, queue: str | None, limit: int) -> Sequence[Handoff]:
        """Waiting handoffs, most urgent first (priority, then age), optionally of one queue."""
        ...

    async def held_by(self, agent_id: str, limit: int) -> Sequence[Handoff]:
        """Open handoffs an agent holds (claimed or waiting on the customer), oldest claim first."""
        ...


class CustomerRepository(Protocol):
    async def upsert(self, customer: CustomerIn, now: datetime) -> Customer: ...

    async def get(self, customer_id: str) -> Customer | None: ...

    async def get_many(self, customer_ids: Sequence[str]) -> dict[str, Customer]: ...

    async def find_by_email(self, email: str) -> Customer | None: ...

    async def enrich(self, customer_id: str, changes: Mapping[str, Any], now: datetime) -> Customer | None:
        """Overwrite what a CRM knows better (name, company, plan, account_value, vip); None if unknown."""
        ...


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

    async def by_handle(self, surface: str, handle: str) -> Agent | None:
        """The agent whose ``handles[surface]`` is ``handle`` (a Slack user id), if any."""
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

    async def get_many(self, handoff_ids: Sequence[str], system: str, kind: str) -> dict[str, ExternalRef]: ...

    async def put_many(self, refs: Sequence[tuple[str, str, Mapping[str, Any]]], system: str, kind: str,
                       now: datetime) -> None:
        """:meth:`put` for several (handoff id, external id, data) in one statement."""
        ...

    async def find(self, system: str, kind: str, external_id: str) -> ExternalRef | None:
        """The handoff behind an outside id (a Slack thread ts, a Salesforce Case id)."""
        ...

    async def for_handoff(self, handoff_id: str) -> Sequence[ExternalRef]: ...


class EventRepository(Protocol):
    async def append_many(self, events: Sequence[Event]) -> list[int]:
        """Write events in one statement; their ids, in order."""
        ...

    async def for_handoff(self, handoff_id: str) -> Sequence[Event]: ...

    async def for_customer(self, customer_id: str, kinds: Sequence[str]) -> Sequence[Event]:
        """Events of these kinds across all of a customer's handoffs, oldest first (CRM contact statistics)."""
        ...


@dataclass(frozen=True, slots=True)
class QueuedRow:
    """A waiting handoff as the wait-time estimator needs it."""

    id: str
    queue: str
    priority: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OpenClaim:
    """Work an agent holds now."""

    agent_id: str
    queue: str
    claimed_at: datetime


@dataclass(frozen=True, slots=True)
class UpdateSchedule:
    """When the next scheduled customer update of a waiting handoff is due (one row per handoff)."""

    handoff_id: str
    due_at: datetime | None
    sent: int
    callback_offered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Csat:
    handoff_id: str
    score: int
    comment: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """A committed event as the change feed sees it: which handoff, what kind, the queues it touches."""

    id: int
    handoff_id: str
    kind: str
    queues: frozenset[str]


class CustomerSideRepository(Protocol):
    """Reads and writes of the customer side: queue snapshots, the update schedule, CSAT, the customer timeline."""

    async def queued(self, limit: int, queues: Sequence[str] | None = None) -> Sequence[QueuedRow]:
        """Waiting handoffs in pick order (priority, age, id), at most ``limit``."""
        ...

    async def queue_depth(self) -> Mapping[str, Mapping[int, int]]:
        """Waiting handoffs per queue and priority rank (one aggregate; the wait estimate of a deep queue)."""
        ...

    async def open_claims(self) -> Sequence[OpenClaim]: ...

    async def handle_times(self, since: datetime, per_queue: int) -> Mapping[str, Sequence[float]]:
        """Claim→resolve seconds of handoffs resolved since ``since``, per queue, oldest first."""
        ...

    async def arrivals(self, since: datetime) -> Mapping[str, Mapping[str, int]]:
        """Handoffs created since ``since`` per queue and priority."""
        ...

    async def events_after(self, handoff_id: str, after_id: int, kinds: Sequence[str], limit: int) -> Sequence[Event]:
        """Events of one handoff with ``id > after_id`` and a kind in ``kinds``, by id."""
        ...

    async def event(self, event_id: int) -> Event | None: ...

    async def feed_after(self, after_id: int, kinds: Sequence[str], limit: int) -> Sequence[FeedEvent]:
        """Events of any handoff with ``id > after_id`` and a kind in ``kinds``, by id, with the queues touched
        (the handoff's current queue and any queue named in the event)."""
        ...

    async def last_event_id(self) -> int:
        """The highest event id committed so far (0 when there is none)."""
        ...

    async def ensure_schedules(self, now: datetime, first_due: datetime, limit: int = 1000) -> int:
        """Bounded upkeep: rows for waiting webhook handoffs, due rows nobody listens to dropped, parked rows of
        handoffs waiting again made due (each step at most ``limit`` rows)."""
        ...

    async def listen(self, handoff_id: str, *, until: datetime, first_due: datetime, now: datetime) -> None:
        """The widget is open: schedule updates until ``until`` (the first at ``first_due`` if none was)."""
        ...

    async def forget_many(self, handoff_ids: Sequence[str]) -> None:
        """Drop the schedule rows of handoffs that are over."""
        ...

    async def advance_many(self, rows: Sequence[UpdateSchedule], now: datetime) -> None:
        """Write each row's ``due_at``, ``sent`` and ``callback_offered_at`` (one statement)."""
        ...

    async def claim_due(self, now: datetime, limit: int) -> Sequence[UpdateSchedule]:
        """Due rows, locked until commit (``FOR UPDATE SKIP LOCKED``; SQLite serializes writers)."""
        ...

    async def add_csat(self, csat: Csat) -> bool:
        """Store the rating; False (nothing written) when the handoff already has one."""
        ...

    async def csat(self, handoff_id: str) -> Csat | None: ...

    async def timeline_mark(self, handoff_id: str, kinds: Sequence[str], flag: str) -> tuple[int, bool]:
        """(the id of the handoff's last event of ``kinds`` or 0, whether one of them is of kind ``flag``)."""
        ...


class OutboxRepository(Protocol):
    async def enqueue(self, messages: Sequence[OutboxMessage], now: datetime) -> None:
        """Write items that no event derives (the scheduled reports), in this transaction."""
        ...

    async def claim(self, *, worker: str, destinations: Sequence[str], limit: int, lane_limit: int,
                    lease_seconds: float, now: datetime) -> list[OutboxItem]:
        """Lease due items: the head of each (handoff, destination) lane and the items right behind it."""
        ...

    async def complete(self, ids: Sequence[int], worker: str, now: datetime) -> None: ...

    async def extend(self, ids: Sequence[int], worker: str, until: datetime) -> None:
        """Move the lease of items this worker is still delivering forward to ``until``."""
        ...

    async def reschedule(self, item_id: int, worker: str, *, at: datetime, error: str, count_attempt: bool) -> None: ...

    async def release(self, ids: Sequence[int], worker: str) -> None:
        """Give leased items back untouched (shutdown, or a lane stopped by an earlier failure)."""
        ...

    async def bury(self, item_id: int, worker: str, error: str, now: datetime) -> None: ...

    async def list(self, *, status: str | None, limit: int) -> Sequence[OutboxItem]: ...

    async def retry(self, item_id: int, now: datetime) -> bool: ...

    async def counts(self) -> Mapping[str, int]: ...

    async def backlog(self, *, dead_since: datetime) -> Mapping[str, Backlog]:
        """Per destination with live or dead items: backlog, failures, and items dead since ``dead_since``."""
        ...


class ApiKeyRepository(Protocol):
    """Stored API keys (hashes only)."""

    async def add(self, key: ApiKey) -> None: ...

    async def by_hash(self, key_hash: str) -> ApiKey | None: ...

    async def by_id(self, key_id: str) -> ApiKey | None: ...

    async def list(self) -> Sequence[ApiKey]: ...

    async def revoke(self, key_id: str, now: datetime) -> bool:
        """Mark the key revoked; False when there is no such key or it was revoked already."""
        ...

    async def touch(self, key_id: str, now: datetime) -> None:
        """Record that the key was used at ``now``."""
        ...


class RetentionRepository(Protocol):
    """The purge's queries (see :mod:`handoff.services.retention`)."""

    async def purgeable(self, cutoff: datetime, limit: int) -> Sequence[str]:
        """Unpurged handoffs that ended before ``cutoff``, locked until commit."""
        ...

    async def purge(self, ids: Sequence[str], now: datetime) -> Mapping[str, int]:
        """Remove and scrub personal data of these handoffs; counts per kind of row."""
        ...


class SlaClockRepository(Protocol):
    """The SLA clocks of handoffs (see :mod:`handoff.sla`)."""

    async def for_handoff(self, handoff_id: str) -> Sequence[SlaClock]: ...

    async def for_handoffs(self, handoff_ids: Any) -> Mapping[str, Sequence[SlaClock]]: ...

    async def add(self, clock: SlaClock, now: datetime) -> SlaClock: ...

    async def add_many(self, clocks: Sequence[SlaClock], now: datetime) -> list[SlaClock]: ...

    async def save(self, clock: SlaClock, now: datetime) -> None: ...

    async def save_many(self, clocks: Sequence[SlaClock], now: datetime) -> None: ...

    async def claim_due(self, now: datetime, limit: int) -> Sequence[SlaClock]: ...



class WatermarkRepository(Protocol):
    """How far periodic jobs have read, with a lease (see :mod:`handoff.store.watermarks`)."""

    async def claim(self, name: str, owner: str, now: datetime, *, initial: datetime, lease_seconds: float,
                    every_seconds: float = 0.0) -> datetime | None: ...

    async def advance(self, name: str, owner: str, value: datetime, now: datetime) -> None: ...


class AnalyticsRepository(Protocol):
    """Analytics reads (:mod:`handoff.store.analytics`); a fixed number of statements each."""

    async def cohort(self, since: datetime, until: datetime, groups: Sequence[str] = (),
                     tune: Tuning = ...) -> dict[str, dict[str | None, Sums]]: ...

    async def clocks(self, since: datetime, until: datetime) -> Mapping[str, tuple[int, int]]: ...

    async def conversations(self, since: datetime, until: datetime) -> Conversations: ...

    async def notable(self, since: datetime, until: datetime, limit: int = 5) -> Sequence[Mapping[str, Any]]: ...

    async def report_conversations(self, source: str, hour: datetime, conversations: int, now: datetime) -> None: ...

    async def add_evaluations(self, counts: Mapping[tuple[str, datetime], int], now: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """Waiting (``queued``) handoffs of one queue and priority, and when the oldest of them was created."""

    queue: str
    priority: str
    count: int
    oldest_created_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxDepth:
    """Outbox items of one destination in one status (``pending``, ``delivering``, ``dead``), oldest first."""

    destination: str
    status: str
    count: int
    oldest_created_at: datetime | None


@dataclass(frozen=True, slots=True)
class StateGauges:
    """The state of the whole deployment as the database holds it (what ``/metrics`` exports as gauges).

    ``open_by_status`` counts claimed and pending_customer handoffs; ``clocks_running`` the SLA clocks neither
    stopped nor paused, by kind. Only what the database has rows for: absent keys mean zero.
    """

    queues: Sequence[QueueDepth]
    open_by_status: Mapping[str, int]
    outbox: Sequence[OutboxDepth]
    clocks_running: Mapping[str, int]


class GaugeRepository(Protocol):
    """Aggregate reads of current state, a fixed number of GROUP BY statements whatever the data size."""

    async def queue_depth(self) -> Sequence[QueueDepth]:
        """Queued handoffs by (queue, priority), with the oldest ``created_at`` of each group."""
        ...

    async def snapshot(self) -> StateGauges:
        """Everything ``/metrics`` exports from the database, read in one transaction."""
        ...


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
    customer_side: CustomerSideRepository
    chat: ChatStateRepository
    api_keys: ApiKeyRepository
    retention: RetentionRepository
    sla: SlaClockRepository
    watermarks: WatermarkRepository
    analytics: AnalyticsRepository
    gauges: GaugeRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...

    def record(self, event: Event) -> None: ...

    def wake_timers(self) -> None:
        """Run every process's timer ticks right after this commit (PostgreSQL NOTIFY; no-op on SQLite)."""
        ...

    async def rollback(self) -> None: ...

    async def commit(self) -> list[int]:
        """Commit; returns the ids given to the recorded events.

        Raises:
            ConversationExists: the new handoff's conversation has one already; nothing was written.
        """
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class CommitObserver(Protocol):
    """Called by a unit of work's commit with the events about to be written, inside the transaction; returns
    more events to write with them (the SLA keeper: :meth:`handoff.services.sla.SlaEngine.observe`)."""

    async def observe(self, uow: Any, events: Sequence[Event]) -> list[Event]: ...


class Notifier(Protocol):
    """Wakes local dispatchers after a commit that wrote outbox items (best effort; they also poll)."""

    def notify(self) -> None: ...


JSON = dict[str, Any]


class Telemetry(Protocol):
    """What the use cases report as they act, for an edge that counts it (``bot/web/metrics.py``: Prometheus).

    Called after the fact is committed, from the event loop: implementations must be cheap and never raise.
    Arguments are bounded vocabularies (destination names, clock kinds), never ids or personal data.
    """

    def outbox_delivery(self, destination: str, result: str, seconds: float | None) -> None:
        """One outbox item's attempt ended: ``result`` is ``delivered`` (``seconds`` from the item's creation to
        its delivery), ``retry`` (scheduled again) or ``dead`` (dead-lettered); ``seconds`` is None for the last two."""
        ...

    def sla_alert(self, kind: str, clock: str) -> None:
        """The SLA engine recorded a ``warning`` or a ``breach`` of a clock of kind ``clock``."""
        ...


class NoTelemetry:
    """The default :class:`Telemetry`: counts nothing."""

    def outbox_delivery(self, destination: str, result: str, seconds: float | None) -> None:
        return None

    def sla_alert(self, kind: str, clock: str) -> None:
        return None
