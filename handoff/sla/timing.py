"""Clock arithmetic, pure: start, pause, resume, stop, and when a clock must next be looked at.

Counted time is wall time, or the business time of a calendar for clocks whose policy says so. A clock's
``paused_seconds`` is counted time spent paused (excluded from ``elapsed``). All functions return new
:class:`~handoff.sla.clocks.SlaClock` values; the store persists them, the engine records the events.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from handoff.sla.clocks import ClockKind, ClockOutcome, SlaClock

#: Clocks that exist to trigger an action, not to measure a promise: never warned, kept out of compliance.
WATCHES = frozenset({ClockKind.LONG_WAIT, ClockKind.MANAGEMENT_WATCH})


class Calendar(Protocol):
    """Business time (see :mod:`handoff.sla.calendar`)."""

    def is_open(self, t: datetime) -> bool: ...

    def add(self, start: datetime, seconds: float) -> datetime: ...

    def between(self, a: datetime, b: datetime) -> float: ...

    def next_open(self, t: datetime) -> datetime: ...


class WallTime:
    """The calendar that is always open: counted time is wall time."""

    def is_open(self, t: datetime) -> bool:
        return True

    def add(self, start: datetime, seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    def between(self, a: datetime, b: datetime) -> float:
        return max(0.0, (b - a).total_seconds())

    def next_open(self, t: datetime) -> datetime:
        return t


WALL = WallTime()


def elapsed(c: SlaClock, now: datetime, cal: Calendar) -> float:
    """Counted seconds of the clock at ``now`` (paused time excluded, a pause in progress included)."""
    end = c.stopped_at or now
    paused = c.paused_seconds + (cal.between(c.paused_at, end) if c.paused_at is not None else 0.0)
    return max(0.0, cal.between(c.started_at, end) - paused)


def _schedule(c: SlaClock, now: datetime, cal: Calendar, warn_ratio: float) -> SlaClock:
    """Set ``warn_at``/``due_at`` of a running clock from what it has counted so far."""
    spent = elapsed(c, now, cal)
    due = cal.add(now, max(0.0, c.target_seconds - spent))
    warn = None
    if c.kind not in WATCHES and c.warned_at is None:
        warn = cal.add(now, max(0.0, c.target_seconds * warn_ratio - spent))
    return replace(c, due_at=due, warn_at=warn)


def start(handoff_id: str, kind: ClockKind, target: float, now: datetime, cal: Calendar, warn_ratio: float, *,
          policy: str = "", business_hours: bool = False, calendar: str | None = None) -> SlaClock:
    c = SlaClock(handoff_id=handoff_id, kind=kind, target_seconds=target, started_at=now, policy=policy,
                 business_hours=business_hours, calendar=calendar)
    return _schedule(c, now, cal, warn_ratio)


def pause(c: SlaClock, now: datetime) -> SlaClock:
    if not c.running:
        return c
    return replace(c, paused_at=now, warn_at=None, due_at=None)


def resume(c: SlaClock, now: datetime, cal: Calendar, warn_ratio: float) -> SlaClock:
    if c.paused_at is None or c.stopped_at is not None:
        return c
    resumed = replace(c, paused_seconds=c.paused_seconds + cal.between(c.paused_at, now), paused_at=None)
    return _schedule(resumed, now, cal, warn_ratio)


def stop(c: SlaClock, now: datetime, cal: Calendar, outcome: ClockOutcome | None = None) -> SlaClock:
    """Stop the clock: met, breached (by time or because it breached before), or ``outcome`` when given."""
    if c.stopped_at is not None:
        return c
    spent = elapsed(c, now, cal)
    if c.paused_at is not None:
        c = replace(c, paused_seconds=c.paused_seconds + cal.between(c.paused_at, now), paused_at=None)
    if outcome is None:
        outcome = ClockOutcome.BREACHED if c.breached_at is not None or spent > c.target_seconds else ClockOutcome.MET
    return replace(c, stopped_at=now, elapsed_seconds=round(spent, 3), outcome=outcome, warn_at=None, due_at=None)


def next_at(c: SlaClock) -> datetime | None:
    """When the engine must look at the clock next: its warning point, then its target; None when nothing is left."""
    if not c.running:
        return None
    if c.warn_at is not None and c.warned_at is None:
        return c.warn_at
    if c.breached_at is None:
        return c.due_at
    return None


__all__ = ["WALL", "WATCHES", "Calendar", "WallTime", "elapsed", "next_at", "pause", "resume", "start", "stop"]
