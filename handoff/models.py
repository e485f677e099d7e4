"""Domain types: plain frozen dataclasses, no persistence or transport concerns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

POSITION_LIMIT = 1000
"""A place in line is counted exactly up to this many handoffs ahead; ``POSITION_LIMIT + 1`` reads "more than
1,000 ahead" (customers are told so, and wait estimates count deeper queues from the queue-depth aggregates)."""


class Status(StrEnum):
    QUEUED = "queued"
    CLAIMED = "claimed"
    PENDING_CUSTOMER = "pending_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset({Status.QUEUED, Status.CLAIMED, Status.PENDING_CUSTOMER})


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for critical … 3 for low: smaller is more urgent."""
        return _PRIORITY_ORDER.index(self)

    def bumped(self, levels: int = 1) -> Priority:
        return _PRIORITY_ORDER[max(0, self.rank - levels)]


_PRIORITY_ORDER = (Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM, Priority.LOW)


class Urgency(StrEnum):
    IMMEDIATE = "immediate"
    RAPID = "rapid"
    SCHEDULED = "scheduled"
    NONE = "none"


class Tier(StrEnum):
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"
    L4 = "L4"
    MANAGEMENT = "management"

    def next(self) -> Tier | None:
        order = list(Tier)
        i = order.index(self)
        return order[i + 1] if i + 1 < len(order) else None


class Surface(StrEnum):
    """Where an action came from; stored on every event."""

    API = "api"
    SLACK = "slack"
    TEAMS = "teams"
    WIDGET = "widget"
    CLI = "cli"
    SYSTEM = "system"
    CRM = "crm"


class ActorType(StrEnum):
    AGENT = "agent"
    CUSTOMER = "customer"
    SYSTEM = "system"
    AI = "ai"


class AgentStatus(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    AWAY = "away"
    OFFLINE = "offline"


class EventKind(StrEnum):
    CREATED = "created"
    CLAIMED = "claimed"
    RELEASED = "released"
    TRANSFERRED = "transferred"
    ESCALATED = "escalated"
    PENDING_CUSTOMER = "pending_customer"
    RESUMED = "resumed"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    NOTE_ADDED = "note_added"
    AGENT_MESSAGE = "agent_message"
    CUSTOMER_MESSAGE = "customer_message"
    ENRICHED = "enriched"  # a CRM told us more about the customer (cards re-render)
    CUSTOMER_UPDATE_SENT = "customer_update_sent"
    CSAT_RECEIVED = "csat_received"
    CALLBACK_REQUESTED = "callback_requested"
    # The SLA engine (handoff/sla): clocks, warnings, breaches, bumps, management escalation.
    SLA_CLOCK = "sla_clock"  # a clock started, paused, resumed, restarted or stopped (data: clock, action, …)
    SLA_WARNING = "sla_warning"  # a clock passed its warning point (80 % of its target by default)
    SLA_BREACHED = "sla_breached"  # a clock passed its target; data lists the actions taken
    PRIORITY_CHANGED = "priority_changed"  # a dynamic bump or a breach raised the priority (data: from, to, code)
    MANAGEMENT_ESCALATED = "management_escalated"  # a management trigger fired (data: triggers, channel)
    ACKNOWLEDGED = "acknowledged"  # someone acknowledged an escalation or a management card (stops an ack clock)
    REVIEWED = "reviewed"  # a lead reviewed a resolution (data: accurate, agent) — the quality score's accuracy


@dataclass(frozen=True, slots=True)
class Actor:
    type: ActorType
    id: str | None = None

    @classmethod
    def agent(cls, agent_id: str) -> Actor:
        return cls(ActorType.AGENT, agent_id)

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorType.SYSTEM, None)

    def __str__(self) -> str:
        return f"{self.type}:{self.id}" if self.id else str(self.type)


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason behind a decision: a stable code, a human detail, and how much it weighed."""

    code: str
    detail: str
    weight: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, "weight": self.weight}


@dataclass(frozen=True, slots=True)
class Decision:
    """What the escalation rules concluded about one conversation, and why."""

    escalate: bool
    urgency: Urgency
    reasons: tuple[Reason, ...]
    topic: str
    priority: Priority
    queue: str
    why: str
    rules_version: str
    suggested_agent_id: str | None = None
    backup_agent_id: str | None = None
    assign: bool = False
    flag_for_lead: bool = False
    routing: tuple[Mapping[str, Any], ...] = ()
    model_version: str = ""  # short sha256 of the intent model file ("" without a model)
    model_data: str = ""  # short sha256 of the data the model was trained on


@dataclass(frozen=True, slots=True)
class Event:
    """One line of a handoff's append-only timeline: who did what, when, from where, and why."""

    handoff_id: str
    kind: EventKind
    actor: Actor
    source: Surface
    at: datetime
    reason: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Handoff:
    """The aggregate. Changed only through :mod:`handoff.lifecycle`; ``version`` guards concurrent writers."""

    id: str
    source: str
    conversation_id: str
    customer_id: str
    status: Status
    priority: Priority
    queue: str
    topic: str
    tier: Tier
    trigger_reason: str
    created_at: datetime
    updated_at: datetime
    sla_due_at: datetime
    customer_token: str
    version: int = 1
    trigger_detail: str | None = None
    urgency: Urgency = Urgency.SCHEDULED
    why: str = ""
    reasons: tuple[Reason, ...] = ()
    rules_version: str = ""
    summary: str | None = None
    locale: str = "en"
    callback_url: str | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    suggested_agent_id: str | None = None
    reopen_count: int = 0
    transfer_count: int = 0
    escalation_count: int = 0
    outcome: str | None = None
    kb_gap: bool = False  # the resolver said the knowledge base lacked the answer (analytics: avoidable)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class Agent:
    """A human who can take handoffs. ``id`` is Baton's id; ``handles`` maps a surface to its user id there."""

    id: str
    display_name: str
    tier: Tier = Tier.L1
    skills: tuple[str, ...] = ()
    capacity: int = 3
    status: AgentStatus = AgentStatus.AVAILABLE
    languages: tuple[str, ...] = ("en",)
    timezone: str | None = None
    handles: Mapping[str, str] = field(default_factory=dict)
    working_hours: str | None = None
    manager_of: tuple[str, ...] = ()

    @property
    def public_name(self) -> str | None:
        """The name a customer may see: the display name, unless it is only the id (an agent registered on
        first use from Slack is called ``U0EMMA…`` until a real name is known). None: say "a specialist"."""
        name = self.display_name.strip()
        return name if name and name != self.id else None


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    email: str | None
    name: str | None
    company: str | None = None
    plan: str = "free"
    account_value: float = 0.0
    vip: bool = False
    locale: str = "en"
    timezone: str | None = None
    tenure_days: int | None = None
    flags: tuple[str, ...] = ()
    external_id: str | None = None
    created_at: datetime | None = None
