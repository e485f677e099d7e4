"""The SLA engine's domain: clocks, policies, business-hours calendars, warnings, breaches and bumps."""

from handoff.sla.clocks import ClockKind, ClockOutcome, SlaClock

__all__ = ["ClockKind", "ClockOutcome", "SlaClock"]
