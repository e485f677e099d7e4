"""Request bodies of agent actions and the shapes the API answers with."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from handoff.contract import CleanModel, IntakeWarning, WorkingHours, Zone
from handoff.models import Tier

AgentId = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=10_000)]


class _Body(CleanModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorOut(BaseModel):
    """Every error answer: a stable machine-readable ``error`` code and a sentence for people."""

    model_config = ConfigDict(extra="allow")
    error: str = Field(description="stable code, e.g. validation_error, not_found, already_claimed")
    message: str = Field(description="what is wrong and, where it helps, what to send instead")
    errors: list[dict[str, Any]] | None = Field(default=None, description="422: each field problem (loc, msg, type)")
    details: dict[str, Any] | None = Field(default=None, description="facts about the error, e.g. the holder")


class ClaimBody(_Body):
    agent_id: AgentId


class ReleaseBody(_Body):
    agent_id: AgentId
    reason: Text | None = None


class TransferBody(_Body):
    agent_id: AgentId
    to_queue: Annotated[str, Field(min_length=1, max_length=64)]
    to_agent: AgentId | None = None
    note: Text | None = None


class EscalateBody(_Body):
    """The structured handoff form: what the next tier needs so the customer repeats nothing."""

    agent_id: AgentId
    to_tier: Tier | None = None
    summary: Text | None = None
    steps_taken: Annotated[list[Text], Field(max_length=50)] = []
    hypothesis: Text | None = None
    customer_impact: Text | None = None
    warm: StrictBool = False


class ResolveBody(_Body):
    agent_id: AgentId
    note: Text | None = None
    outcome: Annotated[str, Field(max_length=32, pattern=r"^[a-z_]{1,32}$")] = "resolved"
    kb_gap: StrictBool = False


class ReviewBody(_Body):
    """A reviewer's verdict on a resolution: the accuracy part of the agent quality score."""

    agent_id: AgentId = Field(description="the reviewer (not the agent who resolved it)")
    accurate: StrictBool
    note: Text | None = None


class ConversationCountBody(_Body):
    """How many AI conversations the widget had in one hour: the escalation rate's denominator."""

    source: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] = "widget"
    hour: datetime = Field(description="any instant in the hour (ISO 8601 with an offset); it counts the whole hour")
    conversations: Annotated[StrictInt, Field(ge=0, le=100_000_000)]


class ConversationCountOut(BaseModel):
    source: str
    hour: datetime
    conversations: int


class AnalyticsOut(BaseModel):
    """A period's metric set, the period before it and the change, and each grouping's rows (see the
    endpoint's description for what every figure means)."""

    model_config = ConfigDict(extra="allow")
    period: dict[str, str]
    previous: dict[str, str]
    timezone: str
    currency: str
    conversations_source: str | None = Field(description="widget (reported counts), evaluations, or none")
    metrics: dict[str, float | int | None]
    previous_metrics: dict[str, float | int | None]
    change: dict[str, float | None] = Field(description="(now - before) / before per metric; null without a before")
    groups: dict[str, list[dict[str, Any]]] = Field(description="group_by dimension → one row per key")


class ReasonBody(_Body):
    agent_id: AgentId | None = None
    reason: Text | None = None


class AgentBody(_Body):
    agent_id: AgentId


class NoteBody(_Body):
    agent_id: AgentId
    text: Annotated[str, Field(min_length=1, max_length=10_000)]


class ReasonOut(BaseModel):
    code: str
    detail: str
    weight: float


class IntakeOut(BaseModel):
    id: str
    status: str
    priority: str
    queue: str
    topic: str
    urgency: str
    why: str
    position: int
    estimated_wait_seconds: int | None
    customer_message: str
    status_url: str
    customer_token: str
    sla_due_at: datetime
    created: bool
    warnings: list[IntakeWarning] = Field(default=[], description="what the body lacks; accepted anyway")
    wait: dict[str, Any] | None = Field(default=None, description=(
        "the same object as /status's estimate: state (estimate | longer_than_usual | nobody_on_shift), seconds, "
        "low, high, back_at — a caller need not read the text to know that nobody is on shift"))


class HandoffOut(BaseModel):
    id: str
    source: str
    conversation_id: str
    status: str
    priority: str
    queue: str
    topic: str
    tier: str
    urgency: str
    trigger: dict[str, Any]
    why: str
    reasons: list[ReasonOut]
    rules_version: str
    summary: str | None
    claimed_by: str | None
    claimed_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    suggested_agent_id: str | None
    reopen_count: int
    transfer_count: int
    escalation_count: int
    outcome: str | None
    sla_due_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int
    position: int | None = None


class EventOut(BaseModel):
    id: int | None
    kind: str
    actor: str
    source: str
    at: datetime
    reason: str | None
    data: dict[str, Any]


class ReplyOut(BaseModel):
    to_customer: bool
    why_internal: str | None
    event: EventOut


class DetailOut(HandoffOut):
    customer: dict[str, Any] | None
    transcript: list[dict[str, Any]]
    timeline: list[EventOut]


class ListOut(BaseModel):
    items: list[HandoffOut]
    next_cursor: str | None


class EvaluateOut(BaseModel):
    escalate: bool
    urgency: str
    reasons: list[ReasonOut]
    topic: str
    priority: str
    queue: str
    why: str
    rules_version: str
    model_version: str = ""  # sha of the intent model file ("" when the rules configure none)
    model_data: str = ""  # sha of the data that model was trained on
    suggested_agent_id: str | None
    backup_agent_id: str | None
    flag_for_lead: bool
    suggested_customer_message: str
    warnings: list[IntakeWarning] = Field(default=[], description="what the body lacks; accepted anyway")


class AgentIn(_Body):
    display_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    tier: Tier | None = None
    skills: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=100)] | None = None
    capacity: Annotated[StrictInt, Field(ge=1, le=100)] | None = None
    status: Literal["available", "busy", "away", "offline"] | None = None
    languages: Annotated[list[Annotated[str, Field(max_length=16)]], Field(max_length=20)] | None = None
    timezone: Zone | None = None
    working_hours: WorkingHours | None = None
    handles: Annotated[dict[Annotated[str, Field(max_length=32)], Annotated[str, Field(max_length=200)]],
                       Field(max_length=20)] | None = None


class AgentOut(BaseModel):
    id: str
    display_name: str
    tier: str
    skills: list[str]
    capacity: int
    status: str
    languages: list[str]
    timezone: str | None
    working_hours: str | None
    handles: dict[str, str]
