"""SLA clocks as facts: what is being timed for one handoff, against which target, and how it ended.

A handoff has one clock per :class:`ClockKind` that applies to it. A clock runs from ``started_at``; while it
is paused (the handoff waits for the customer) ``paused_at`` is set and ``due_at``/``warn_at`` are None;
``paused_seconds`` is the paused time so far. When it stops, ``stopped_at``, ``elapsed_seconds`` (counted time:
business seconds when ``business_hours``) and ``outcome`` are set. A stopped clock is the compliance record
analytics read: target, actual, paused time, breached or not.

This module holds the data only; the policy that sets targets, the calendar that counts business time and the
engine that moves clocks live beside it in :mod:`handoff.sla`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ClockKind(StrEnum):
    FIRST_RESPONSE = "first_response"  # created → first claim
    RESOLUTION = "resolution"  # created → resolved
    TIER_ACK = "tier_ack"  # tier escalation → claimed at the new tier
    MANAGEMENT_ACK = "management_ack"  # management escalation → acknowledged on the management card
    # Watches: deadlines that trigger an action rather than measure a promise (not in compliance figures).
    LONG_WAIT = "long_wait"  # waiting unclaimed longer than sla.bumps.long_wait → priority +1
    MANAGEMENT_WATCH = "management_watch"  # an enterprise critical/high handoff open too long → management


class ClockOutcome(StrEnum):
    MET = "met"  # stopped before its target
    BREACHED = "breached"  # stopped after its target (or still open past it, once stopped)
    CANCELLED = "cancelled"  # no longer applies (e.g. closed without resolution, superseded by a restart)


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One SLA clock of one handoff (see the module docstring)."""

    handoff_id: str
    kind: ClockKind
    target_seconds: float
    started_at: datetime
    policy: str = ""  # which policy set the target, for explanations ("high · plan enterprise")
    business_hours: bool = False  # counts business time of ``calendar`` rather than wall time
    calendar: str | None = None  # the queue whose business hours count (None: the default hours)
    warn_at: datetime | None = None
    due_at: datetime | None = None
    paused_at: datetime | None = None
    paused_seconds: float = 0.0
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    stopped_at: datetime | None = None
    elapsed_seconds: float | None = None
    outcome: ClockOutcome | None = None
    id: int | None = None

    @property
    def running(self) -> bool:
        return self.stopped_at is None and self.paused_at is None

    @property
    def open(self) -> bool:
        return self.stopped_at is None

    @property
    def state(self) -> str:
        """``met`` / ``breached`` (stopped), ``paused``, ``breached`` / ``warning`` / ``on_track`` (running)."""
        if self.stopped_at is not None:
            return self.outcome.value if self.outcome else "met"
        if self.breached_at is not None:
            return "breached"
        if self.paused_at is not None:
            return "paused"
        return "warning" if self.warned_at is not None else "on_track"
