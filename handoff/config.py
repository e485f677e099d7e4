"""Baton's own configuration file (``BATON_CONFIG``): queues, agents, limits, outbox tuning.

Validated at start; an invalid file stops the service with messages that name the key and the problem.
The escalation rules live in their own file (``rules:``), validated by :mod:`handoff.decide`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from handoff.contract import WorkingHours, Zone
from handoff.models import Agent, AgentStatus, Tier
from handoff.sla.config import BusinessHours, SlaConfig

DEFAULT_QUEUES = ("technical", "billing", "accounts", "sales", "general")


class ConfigError(Exception):
    """The configuration is invalid; the message names each offending key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Name = Annotated[str, Field(min_length=1, max_length=200)]
QueueName = Annotated[str, Field(min_length=1, max_length=64)]


class QueueConfig(_Model):
    display_name: Name | None = None
    channels: dict[str, str] = Field(default_factory=dict, description="surface → channel id (slack: C…)")
    lead: Name | None = Field(default=None, description="agent id of the queue lead, flagged on unrouted handoffs")
    supervisor: Name | None = Field(default=None, description="agent id told about SLA breaches (else the lead)")
    backup: QueueName | None = Field(default=None, description="queue a breached waiting handoff moves to")
    backup_agent: Name | None = Field(default=None, description="agent suggested when a breach re-routes")
    hours: BusinessHours | None = Field(default=None, description="this queue's business hours (else the default)")
    labels: dict[Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")],
                 Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=dict, description="locale → the name customers read (es: Facturación); built-in "
                                          "translations cover the five default queues")


class AgentConfig(_Model):
    id: Name
    display_name: Name | None = None
    tier: Tier = Tier.L1
    skills: list[str] = Field(default_factory=list)
    capacity: Annotated[int, Field(ge=1, le=100)] = 3
    status: AgentStatus = AgentStatus.AVAILABLE
    languages: list[str] = Field(default_factory=lambda: ["en"])
    timezone: Zone | None = None
    working_hours: WorkingHours | None = None
    handles: dict[str, str] = Field(default_factory=dict, description="surface → user id (slack: U…)")
    manager_of: list[str] = Field(default_factory=list, description="customer emails this agent manages")

    def to_agent(self) -> Agent:
        return Agent(id=self.id, display_name=self.display_name or self.id, tier=self.tier,
                     skills=tuple(self.skills), capacity=self.capacity, status=self.status,
                     languages=tuple(self.languages), timezone=self.timezone, handles=dict(self.handles),
                     working_hours=self.working_hours, manager_of=tuple(m.lower() for m in self.manager_of))


class Rate(_Model):
    """A token bucket: ``burst`` requests at once, refilled at ``per_second``."""

    per_second: Annotated[float, Field(gt=0, le=1_000_000)]
    burst: Annotated[int, Field(ge=1, le=1_000_000)]


class Limits(_Model):
    """Sizes, rates, timeouts and connection caps (rates and caps are per process: N processes allow N times)."""

    max_messages: Annotated[int, Field(ge=1, le=100_000)] = 500
    max_message_chars: Annotated[int, Field(ge=1, le=10_000_000)] = 10_000
    max_body_bytes: Annotated[int, Field(ge=1024, le=100 * 1024 * 1024)] = 1024 * 1024
    body_read_seconds: Annotated[float, Field(gt=0, le=600, description=(
        "the whole request body must arrive within this long after the headers, else 408"))] = 30.0
    header_read_seconds: Annotated[float, Field(gt=0, le=600, description=(
        "the request line and headers must arrive within this long, else the connection is closed"))] = 10.0
    max_header_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024)] = 32 * 1024
    keep_alive_seconds: Annotated[int, Field(ge=1, le=600)] = 5
    max_connections: Annotated[int, Field(ge=10, le=1_000_000, description=(
        "open connections (SSE streams included) per process; beyond it uvicorn answers 503"))] = 2000
    streams_per_token: Annotated[int, Field(ge=1, le=10_000)] = 5
    streams_per_ip: Annotated[int, Field(ge=1, le=1_000_000)] = 50
    stream_db_reads: Annotated[int, Field(ge=1, le=1000, description=(
        "SSE streams of one process read the database through at most this many connections at once"))] = 4
    customer_writes: Rate = Rate(per_second=0.5, burst=10)
    customer_reads: Rate = Rate(per_second=2.0, burst=30)
    api: Rate = Rate(per_second=500.0, burst=1000)


class OutboxConfig(_Model):
    batch_size: Annotated[int, Field(ge=1, le=5000)] = 200
    lane_limit: Annotated[int, Field(ge=1, le=1000)] = 50
    lease_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    poll_seconds: Annotated[float, Field(gt=0, le=60)] = 0.5
    linger_seconds: Annotated[float, Field(ge=0, le=5, description=(
        "after a wake-up, wait this long so one batch carries the items of several commits"))] = 0.01
    concurrency: Annotated[int, Field(ge=1, le=1000)] = 32
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    backoff_base_seconds: Annotated[float, Field(gt=0, le=3600)] = 1.0
    backoff_cap_seconds: Annotated[float, Field(gt=0, le=86400)] = 300.0
    log_destination: bool = True


class ChatConfig(_Model):
    """Chat-surface tuning (Slack, Teams)."""

    burst_threshold: Annotated[int, Field(ge=1, le=10_000, description=(
        "more new handoffs than this for one channel within burst_window_seconds → one grouped card"))] = 10
    burst_window_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0


class CustomerUpdatesConfig(_Model):
    """How often a waiting customer hears from us, and when a long wait earns a callback offer."""

    min_interval_seconds: Annotated[float, Field(ge=5, le=3600)] = 60.0
    max_interval_seconds: Annotated[float, Field(ge=5, le=3600)] = 90.0
    long_wait_seconds: Annotated[float, Field(ge=0, le=86400)] = 600.0
    tick_seconds: Annotated[float, Field(gt=0, le=300)] = 5.0
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 100

    @model_validator(mode="after")
    def _order(self) -> CustomerUpdatesConfig:
        if self.max_interval_seconds < self.min_interval_seconds:
            raise ValueError("max_interval_seconds must not be below min_interval_seconds")
        return self


class ReportsConfig(_Model):
    """Where and when the scheduler posts the daily operations report and the weekly trend."""

    slack_channel: Annotated[str, Field(max_length=255)] | None = Field(
        default=None, description="Slack channel id (C…) for the reports; none: not posted to Slack")
    teams_channel: Annotated[str, Field(max_length=255)] | None = Field(
        default=None, description="Teams channel id (19:…@thread.tacv2) for the reports; none: not posted to Teams")
    daily_at: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "08:00"
    weekly_on: Annotated[int, Field(ge=0, le=6, description="0 = Monday")] = 0
    weekly: bool = True
    tick_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0


class AnalyticsConfig(_Model):
    """How figures are computed: the report's time zone, the cost of an agent hour, a few thresholds."""

    timezone: Zone | None = Field(default=None, description="report time zone (hour, weekday, day); "
                                                            "default: the default business hours' zone")
    hourly_cost: Annotated[float, Field(ge=0, le=100_000)] = 40.0
    currency: Annotated[str, Field(min_length=1, max_length=8)] = "USD"
    quick_resolve_minutes: Annotated[float, Field(gt=0, le=1440, description=(
        "resolved this fast after the claim, with the KB-gap box ticked: the escalation was avoidable"))] = 10.0
    reescalation_days: Annotated[float, Field(gt=0, le=90)] = 7.0
    response_target_seconds: Annotated[float, Field(gt=0, le=86400, description=(
        "the agent score's full response marks at or below this median first response; none at 4x"))] = 300.0
    reports: ReportsConfig = ReportsConfig()


class MetricsConfig(_Model):
    """``GET /metrics`` (Prometheus text format)."""

    public: bool = Field(default=False, description=(
        "serve /metrics without an API key (for a scraper on a private network); by default it needs an "
        "admin-scope key as 'Authorization: Bearer <key>'"))


class BatonConfig(_Model):
    queues: dict[QueueName, QueueConfig] = Field(default_factory=lambda: {q: QueueConfig() for q in DEFAULT_QUEUES})
    agents: list[AgentConfig] = Field(default_factory=list)
    limits: Limits = Limits()
    outbox: OutboxConfig = OutboxConfig()
    chat: ChatConfig = ChatConfig()
    metrics: MetricsConfig = MetricsConfig()
    rules: str | None = Field(default=None, description="path of the rules file; the bundled one if unset")
    customer_token_grace_hours: Annotated[float, Field(ge=0, le=24 * 365)] = 24.0
    customer_updates: CustomerUpdatesConfig = CustomerUpdatesConfig()
    sla: SlaConfig = SlaConfig()
    business_hours: BusinessHours = Field(default_factory=BusinessHours, description="default business hours")
    analytics: AnalyticsConfig = AnalyticsConfig()

    @model_validator(mode="after")
    def _check(self) -> BatonConfig:
        if not self.queues:
            raise ValueError("at least one queue is needed")
        ids = [a.id for a in self.agents]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"agent ids must be unique; repeated: {', '.join(dupes)}")
        for name, q in self.queues.items():
            if q.lead is not None and q.lead not in ids:
                raise ValueError(f"queues.{name}.lead: {q.lead!r} is not one of the agents")
            if q.supervisor is not None and q.supervisor not in ids:
                raise ValueError(f"queues.{name}.supervisor: {q.supervisor!r} is not one of the agents")
            if q.backup is not None and q.backup not in self.queues:
                raise ValueError(f"queues.{name}.backup: {q.backup!r} is not one of the queues")
        for where, names in (("sla.queues", self.sla.queues), ):
            unknown = sorted(set(names) - set(self.queues))
            if unknown:
                raise ValueError(f"{where}: unknown queue(s) {', '.join(unknown)}")
        if self.sla.after_hours_queue is not None and self.sla.after_hours_queue not in self.queues:
            raise ValueError(f"sla.after_hours_queue: {self.sla.after_hours_queue!r} is not one of the queues")
        return self

    @property
    def queue_names(self) -> frozenset[str]:
        return frozenset(self.queues)

    def label(self, queue: str) -> str:
        """How people see a queue: its ``display_name``, else its id in title case (``technical`` → Technical)."""
        q = self.queues.get(queue)
        if q is not None and q.display_name:
            return q.display_name
        return queue.replace("_", " ").title()

    def channel_for(self, queue: str, surface: str, default: str | None = None) -> str | None:
        """The channel a queue's cards go to on a surface (``slack``, ``teams``), else ``default`` (may be None)."""
        q = self.queues.get(queue)
        return (q.channels.get(surface) if q is not None else None) or default

    def queues_in(self, channel: str, surface: str, default: str | None = None) -> tuple[str, ...]:
        """Every queue whose cards land in ``channel`` on ``surface`` (a channel may serve several queues)."""
        return tuple(sorted(name for name in self.queues if self.channel_for(name, surface, default) == channel))


def _describe(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {path}: {err['msg']}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "<config>") -> BatonConfig:
    """Validate already-parsed YAML/JSON data.

    Raises:
        ConfigError: naming each bad key and what is wrong with it.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"invalid configuration in {source}: the top level must be a mapping")
    try:
        return BatonConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def load_config(path: str | Path | None) -> BatonConfig:
    """Read ``BATON_CONFIG``; built-in defaults when ``path`` is None."""
    if path is None:
        return BatonConfig()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read BATON_CONFIG {p}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML in {p}: {exc}") from None
    return parse_config(data, str(p))
