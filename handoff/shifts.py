"""Working hours ("09:00-17:00" in a time zone): is someone on shift now, and when does their next shift start.

One parser for every reader: routing (availability), the wait estimator (who can pick work when) and the
customer's wait (nobody on shift, and when the team is back). Overnight spans ("22:00-06:00") and "24:00" as
an end are allowed; an unreadable value or zone means "unknown" (``None``), never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from handoff.checks import zone

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class Shift:
    """One concrete shift: from ``starts_at`` (inclusive) to ``ends_at`` (exclusive), timezone-aware."""

    starts_at: datetime
    ends_at: datetime


@lru_cache(maxsize=256)
def _parse(hours: str) -> tuple[time, time, bool] | None:
    """(start, end, ends at midnight) or None when unreadable."""
    m = _HOURS.match(hours)
    if m is None:
        return None
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2 != 0):
        return None
    midnight = h2 == 24
    return time(h1, m1), time(0, 0) if midnight else time(h2, m2), midnight


def within_hours(hours: str | None, zone_name: str, now: datetime) -> bool | None:
    """Whether ``now`` falls in ``hours`` ("09:00-17:00", overnight spans allowed) in ``zone_name``; None if unknown."""
    if not hours:
        return None
    parsed = _parse(hours)
    tz = zone(zone_name)
    if parsed is None or tz is None:
        return None
    start, end, midnight = parsed
    local = _local_time(tz, now)
    if midnight:
        return local >= start
    return start <= local < end if start <= end else (local >= start or local < end)


@lru_cache(maxsize=1024)
def _local_time(tz: ZoneInfo, now: datetime) -> time:
    return now.astimezone(tz).time()


def _shifts(hours: str, zone_name: str, now: datetime) -> Iterator[Shift]:
    parsed = _parse(hours)
    tz = zone(zone_name)
    if parsed is None or tz is None:
        return
    start, end, midnight = parsed
    if start == end and not midnight:
        return  # an empty span: never on shift
    overnight = midnight or end < start
    today = now.astimezone(tz).date()
    for offset in range(-1, 9):  # yesterday's shift may still run (overnight); a week ahead is plenty
        day = today + timedelta(days=offset)
        begins = datetime.combine(day, start, tz)
        ends = datetime.combine(day + timedelta(days=1) if overnight else day, end, tz)
        if ends > now:
            yield Shift(begins, ends)


def current_or_next_shift(hours: str | None, zone_name: str, now: datetime) -> Shift | None:
    """The shift running at ``now``, else the next one to start; None when ``hours`` or the zone is unknown."""
    if not hours:
        return None
    return _cached(hours, zone_name, _minute(now), False)


def next_shift_start(hours: str | None, zone_name: str, now: datetime) -> Shift | None:
    """The first shift that starts after ``now`` (skipping one that is running); None when unknown."""
    if not hours:
        return None
    return _cached(hours, zone_name, _minute(now), True)


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


@lru_cache(maxsize=2048)
def _cached(hours: str, zone_name: str, minute: datetime, after: bool) -> Shift | None:
    # Shift edges fall on whole minutes, so every moment of one minute has the same answer: computed once a
    # minute per (hours, zone), not once per agent per estimate.
    if after:
        return next((s for s in _shifts(hours, zone_name, minute) if s.starts_at > minute), None)
    return next(_shifts(hours, zone_name, minute), None)

__all__ = ["Shift", "current_or_next_shift", "next_shift_start", "within_hours", "zone"]
