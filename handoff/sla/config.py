"""The ``sla:`` section of ``BATON_CONFIG`` and the business hours of queues, validated.

Durations are written the way people say them — ``90s``, ``5m``, ``4h``, ``2d`` — or as a number of seconds.
Targets are set per priority and may be overridden per customer plan and per queue (the most specific wins:
queue over plan over priority). The policy engine in :mod:`handoff.sla` reads these models; nothing here acts.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from handoff.contract import Zone
from handoff.models import Priority, Tier

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNIT = {None: 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WORKDAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri")
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def _seconds(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 90s, 5m, 4h, 2d")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * _UNIT[m.group(2)]
    raise ValueError(f"{value!r} is not a duration (write 90s, 5m, 4h, 2d or a number of seconds)")


Duration = Annotated[float, BeforeValidator(_seconds), Field(gt=0, le=365 * 86400)]
"""Seconds, parsed from ``90s`` / ``5m`` / ``4h`` / ``2d`` / a number."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Targets(_Model):
    """One policy's targets; a field left out inherits from the less specific policy."""

    first_response: Duration | None = Field(default=None, description="to the first claim")
    resolution: Duration | None = Field(default=None, description="to resolution")
    update_every: Duration | None = Field(default=None, description="customer-update cadence while waiting")
    business_hours: bool | None = Field(default=None, description="the resolution clock counts business time")


def default_priorities() -> dict[Priority, Targets]:
    """The built-in targets (from the product research); a config file overrides them field by field."""
    return {
        Priority.CRITICAL: Targets(first_response=60, resolution=4 * 3600, update_every=60, business_hours=False),
        Priority.HIGH: Targets(first_response=180, resolution=8 * 3600, update_every=60, business_hours=False),
        Priority.MEDIUM: Targets(first_response=300, resolution=24 * 3600, update_every=90, business_hours=True),
        Priority.LOW: Targets(first_response=600, resolution=72 * 3600, update_every=90, business_hours=True),
    }


class BreachActions(_Model):
    """What happens when a clock passes its target."""

    bump: bool = Field(default=True, description="raise the priority one level")
    reroute: bool = Field(default=True, description="move a waiting handoff to the queue's backup queue/agent")
    notify_supervisor: bool = True


class DynamicBumps(_Model):
    """Raises of one level each, explained on the card; ``None``/false turns one off."""

    long_wait: Duration | None = Field(default=300, description="unclaimed for longer than this")
    repeat_escalation: bool = True
    frustration: bool = True


class ManagementConfig(_Model):
    """When an escalation goes to management, where the card goes, and the acknowledgement target."""

    channels: dict[str, str] = Field(default_factory=dict, description="surface → management channel id")
    ack: Duration = 1800
    plans: list[str] = Field(default_factory=lambda: ["enterprise"])
    priorities: list[Priority] = Field(default_factory=lambda: [Priority.CRITICAL, Priority.HIGH])
    open_longer_than: Duration = 4 * 3600
    repeat_count: Annotated[int, Field(ge=2, le=1000)] = 3
    repeat_days: Annotated[int, Field(ge=1, le=365)] = 30
    words: list[str] = Field(default_factory=lambda: [
        "cancel my contract", "cancel our contract", "switching to", "terminate", "churn", "lawyer", "legal action",
        "attorney", "sue", "lawsuit", "breach of contract", "gdpr complaint", "regulator"])
    revenue_at_risk: Annotated[float, Field(ge=0)] | None = Field(
        default=None, description="account value at or above this escalates to management (None: off)")


class SlaConfig(_Model):
    """The ``sla:`` section (see README "Service levels")."""

    enabled: bool = True
    warn_at: Annotated[float, Field(gt=0, lt=1)] = 0.8
    mention: Literal["lead", "here", "none"] = "lead"
    tick_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 500
    priorities: dict[Priority, Targets] = Field(default_factory=dict, description=(
        "per priority; each field falls back to the built-in default"))
    plans: dict[str, dict[Priority, Targets]] = Field(default_factory=dict)
    queues: dict[str, dict[Priority, Targets]] = Field(default_factory=dict)
    tier_ack: dict[Tier, Duration] = Field(default_factory=lambda: {Tier.L2: 900.0, Tier.L3: 1800.0, Tier.L4: 3600.0})
    restart_on: list[Literal["transfer", "escalation"]] = Field(default_factory=list)
    on_breach: BreachActions = BreachActions()
    bumps: DynamicBumps = DynamicBumps()
    management: ManagementConfig = ManagementConfig()
    after_hours_queue: str | None = Field(default=None, description="queue that takes handoffs outside hours")


class BusinessHours(_Model):
    """When a team works: a timezone, weekly spans (``mon: ["09:00-17:00"]``) and holidays (dates)."""

    timezone: Zone = "UTC"
    weekly: dict[Day, list[str]] = Field(default_factory=lambda: {d: ["08:00-18:00"] for d in _WORKDAYS})
    holidays: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _spans(self) -> BusinessHours:
        for day, spans in self.weekly.items():
            for span in spans:
                m = _SPAN.match(span)
                if m is None or (int(m[3]), int(m[4])) <= (int(m[1]), int(m[2])) or (m[3] == "24" and m[4] != "00"):
                    raise ValueError(f"weekly.{day}: {span!r} is not a span like 09:00-17:30")
        if not any(self.weekly.values()):
            raise ValueError("weekly has no open hours: give at least one day a span like 09:00-17:00")
        return self


__all__ = [
    "BreachActions", "BusinessHours", "Duration", "DynamicBumps", "ManagementConfig", "SlaConfig", "Targets",
    "default_priorities",
]
