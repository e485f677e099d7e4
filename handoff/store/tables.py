"""Typed SQLAlchemy models. Queries use their ``__table__`` with Core statements for speed on hot paths."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: Json, list[Any]: Json}


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(64), default="free")
    account_value: Mapped[float] = mapped_column(Float, default=0.0)
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(35), default="en")
    timezone: Mapped[str | None] = mapped_column(String(64))
    tenure_days: Mapped[int | None] = mapped_column(Integer)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class QueueRow(Base):
    __tablename__ = "queues"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    channels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lead: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class AgentRow(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(16), default="L1")
    skills: Mapped[list[Any]] = mapped_column(default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=3)
    status: Mapped[str] = mapped_column(String(16), default="available")
    languages: Mapped[list[Any]] = mapped_column(default=list)
    timezone: Mapped[str | None] = mapped_column(String(64))
    working_hours: Mapped[str | None] = mapped_column(String(16))
    handles: Mapped[dict[str, Any]] = mapped_column(default=dict)
    manager_of: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class HandoffRow(Base):
    __tablename__ = "handoffs"
    __table_args__ = (
        UniqueConstraint("source", "conversation_id", name="uq_handoffs_conversation"),
        # With id, the place-in-line count is an index-only scan (its tie-break compares ids).
        Index("ix_handoffs_queue_order", "status", "queue", "priority_rank", "created_at", "id"),
        Index("ix_handoffs_customer", "customer_id", "created_at"),
        Index("ix_handoffs_claimed_by", "claimed_by", "status"),
        Index("ix_handoffs_queue_created", "queue", "created_at"),
        Index("ix_handoffs_created", "created_at"),  # analytics: a period's cohort
        # Waiting handoffs whose customer gets webhooks: the update schedule finds them without a queue scan.
        Index("ix_handoffs_waiting_webhook", "id", postgresql_where=text("status = 'queued' AND callback_url IS NOT "
                                                                         "NULL"),
              sqlite_where=text("status = 'queued' AND callback_url IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(24))
    priority: Mapped[str] = mapped_column(String(16))
    priority_rank: Mapped[int] = mapped_column(Integer)
    queue: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16))
    trigger_reason: Mapped[str] = mapped_column(String(64))
    trigger_detail: Mapped[str | None] = mapped_column(Text)
    why: Mapped[str] = mapped_column(Text, default="")
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    routing: Mapped[list[Any]] = mapped_column(default=list)
    rules_version: Mapped[str] = mapped_column(String(64), default="")
    summary: Mapped[str | None] = mapped_column(Text)
    ai: Mapped[dict[str, Any]] = mapped_column(default=dict)
    technical: Mapped[dict[str, Any] | None] = mapped_column(Json)
    locale: Mapped[str] = mapped_column(String(35), default="en")
    callback_url: Mapped[str | None] = mapped_column(String(2000))
    customer_token: Mapped[str] = mapped_column(String(64))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    suggested_agent_id: Mapped[str | None] = mapped_column(String(200))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)
    escalation_count: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(64))
    kb_gap: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"),
                                         doc="the resolver said the knowledge base lacked the answer")
    promised_wait_seconds: Mapped[float | None] = mapped_column(Float, doc="the wait the intake answer promised")
    sla_due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)
    purged_at: Mapped[datetime | None] = mapped_column(doc="personal data removed by `app.py purge` at this time")


class MessageRow(Base):
    """A transcript line: the AI conversation, then customer↔agent messages."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("handoff_id", "seq", name="uq_messages_seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    handoff_id: Mapped[str] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    ts: Mapped[datetime | None]
    confidence: Mapped[float | None] = mapped_column(Float)
    author: Mapped[str | None] = mapped_column(String(200), doc="the agent id for agent messages")


class EventRow(Base):
    """The append-only timeline: who, what, when, from where, why."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_handoff", "handoff_id", "id"),
                      Index("ix_events_kind_at", "kind", "at"))  # analytics: reviews, breaches… in a period

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    handoff_id: Mapped[str] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime]


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # Work is found through (status, id); the lane check through a partial index of live items only, so
        # delivered items piling up cost nothing (and an id-only index would tempt the planner into O(n²)).
        Index("ix_outbox_lane", "handoff_id", "destination", "id",
              postgresql_where=text("status IN ('pending', 'delivering')"),
              sqlite_where=text("status IN ('pending', 'delivering')")),
        Index("ix_outbox_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    destination: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    handoff_id: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class ExternalRefRow(Base):
    """Where a handoff lives elsewhere: a Slack message ts, a Teams activity id, a Salesforce Case id."""

    __tablename__ = "external_refs"
    __table_args__ = (
        UniqueConstraint("handoff_id", "system", "kind", name="uq_external_refs"),
        Index("ix_external_refs_lookup", "system", "kind", "external_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    handoff_id: Mapped[str] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    system: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CustomerUpdateRow(Base):
    """The next scheduled update for a customer who listens (a webhook, or the widget open: an SSE stream or
    status polls until ``listening_until``); claimed by scheduler ticks with row locks. Nobody listening, no row."""

    __tablename__ = "customer_updates"
    __table_args__ = (Index("ix_customer_updates_due", "due_at"),)

    handoff_id: Mapped[str] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), primary_key=True)
    due_at: Mapped[datetime | None] = mapped_column(doc="NULL while the handoff is not waiting")
    listening_until: Mapped[datetime | None] = mapped_column(doc="the widget was open lately (NULL: webhook only)")
    sent: Mapped[int] = mapped_column(Integer, default=0)
    callback_offered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class CsatRow(Base):
    """One satisfaction rating per handoff (the primary key makes "once" hold under concurrency)."""

    __tablename__ = "csat_responses"

    handoff_id: Mapped[str] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class ChatChannelRow(Base):
    """Per chat surface and channel: the live burst group and the broken-channel notices already sent."""

    __tablename__ = "chat_channels"

    surface: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(255), primary_key=True)
    group_message_id: Mapped[str | None] = mapped_column(String(255))
    group_queue: Mapped[str | None] = mapped_column(String(64))
    group_first_at: Mapped[datetime | None]
    group_last_at: Mapped[datetime | None]
    group_dirty: Mapped[bool] = mapped_column(Boolean, default=False)
    notices: Mapped[dict[str, Any]] = mapped_column(default=dict, doc="error → when the lead was told")
    updated_at: Mapped[datetime]


class ChatReferenceRow(Base):
    """How to reach a conversation proactively (a Teams conversation reference), captured when the app joins it."""

    __tablename__ = "chat_references"

    surface: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True, doc="a channel id, or user:<id> for a 1:1 chat")
    reference: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class ApiKeyRow(Base):
    """An API key for ``/v1``: only its SHA-256 is stored; the prefix lets an admin recognise it."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class SlaClockRow(Base):
    """One SLA clock of one handoff (:class:`handoff.sla.SlaClock`); a stopped one is its compliance record.

    ``next_at`` is when the engine must look at the clock next (its warning point, then its target); NULL when
    nothing is pending (paused, stopped, or warned and breached). Ticks claim rows with ``next_at <= now``.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        UniqueConstraint("handoff_id", "kind", "started_at", name="uq_sla_clocks_start"),
        Index("ix_sla_clocks_next", "next_at"),
        Index("ix_sla_clocks_stopped", "stopped_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    handoff_id: Mapped[str] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    policy: Mapped[str] = mapped_column(String(200), default="")
    target_seconds: Mapped[float] = mapped_column(Float)
    business_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    calendar: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    warn_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    next_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    warned_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    elapsed_seconds: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime]


class WatermarkRow(Base):
    """How far a periodic job has read (a CRM's closed cases), and who is reading now (a lease)."""

    __tablename__ = "watermarks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    polled_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class ConversationStatRow(Base):
    """How many AI conversations a source had in one hour (the escalation rate's denominator).

    ``conversations`` is what the widget reports (``POST /v1/stats/conversations``, the latest report for the
    hour wins); ``evaluations`` counts ``POST /v1/evaluate`` calls, the denominator when a widget reports none.
    """

    __tablename__ = "conversation_stats"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    conversations: Mapped[int | None] = mapped_column(Integer)
    evaluations: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


customers = cast(Table, CustomerRow.__table__)
queues = cast(Table, QueueRow.__table__)
agents = cast(Table, AgentRow.__table__)
handoffs = cast(Table, HandoffRow.__table__)
messages = cast(Table, MessageRow.__table__)
events = cast(Table, EventRow.__table__)
outbox = cast(Table, OutboxRow.__table__)
external_refs = cast(Table, ExternalRefRow.__table__)
customer_updates = cast(Table, CustomerUpdateRow.__table__)
csat_responses = cast(Table, CsatRow.__table__)
chat_channels = cast(Table, ChatChannelRow.__table__)
chat_references = cast(Table, ChatReferenceRow.__table__)
api_keys = cast(Table, ApiKeyRow.__table__)
sla_clocks = cast(Table, SlaClockRow.__table__)
watermarks = cast(Table, WatermarkRow.__table__)
conversation_stats = cast(Table, ConversationStatRow.__table__)
