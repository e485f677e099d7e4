"""Business time: when a team works, and how much of it lies between two instants.

A :class:`Calendar` is a timezone, weekly spans of local wall time (``mon: ["09:00-12:00", "13:00-17:30"]``) and
holidays (whole local days closed). Spans are local: 09:00-17:00 stays 09:00-17:00 across a daylight-saving
change, so such a day may hold 7 or 9 hours of wall time — zoneinfo turns each local span into UTC instants.
:meth:`Calendar.add` and :meth:`Calendar.between` walk span by span (a few steps per day, never one per minute):
a month of business time is a few dozen steps. Weeks are not skipped in bulk: DST and holidays make them unequal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from handoff.shifts import Shift
from handoff.sla.config import BusinessHours

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HORIZON_DAYS = 3 * 366  # no calendar looks further than this for its next open hour


def _local(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    """The UTC instant of local ``hhmm`` on ``day``; "24:00" is midnight after; a skipped hour moves forward."""
    h, m = (int(x) for x in hhmm.split(":"))
    if h == 24:
        return datetime.combine(day + timedelta(days=1), time(0, 0), zone).astimezone(UTC)
    t = datetime.combine(day, time(h, m), zone)
    # A wall time inside a spring-forward gap does not exist: fold=0 maps it after the gap; keep the later one.
    return max(t.astimezone(UTC), t.replace(fold=1).astimezone(UTC))


class Calendar:
    """Business hours of one team (see the module docstring). Build with :meth:`from_config`."""

    def __init__(self, zone: str, weekly: dict[int, list[tuple[str, str]]], holidays: frozenset[date]) -> None:
        self.zone = ZoneInfo(zone)
        self.weekly = weekly
        self.holidays = holidays
        if not any(weekly.values()):
            raise ValueError("a calendar needs open hours on at least one weekday")

    @classmethod
    def from_config(cls, hours: BusinessHours) -> Calendar:
        weekly: dict[int, list[tuple[str, str]]] = {i: [] for i in range(7)}
        for day, spans in hours.weekly.items():
            for span in spans:
                a, b = span.split("-")
                weekly[_DAYS.index(day)].append((a, b))
        for day_spans in weekly.values():
            day_spans.sort()
        return cls(hours.timezone, weekly, frozenset(hours.holidays))

    @classmethod
    def always(cls) -> Calendar:
        return cls("UTC", {i: [("00:00", "24:00")] for i in range(7)}, frozenset())

    # ------------------------------------------------------------------------------------------ spans

    def _day_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        return [(_local(day, a, self.zone), _local(day, b, self.zone)) for a, b in self.weekly[day.weekday()]]

    def spans_from(self, t: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open spans (UTC) that end after ``t``, in order, the first clipped to start at ``t`` at the earliest."""
        day = t.astimezone(self.zone).date() - timedelta(days=1)  # a span of yesterday may run past midnight UTC
        for _ in range(_HORIZON_DAYS):
            for a, b in self._day_spans(day):
                if b > t:
                    yield max(a, t), b
            day += timedelta(days=1)

    # ------------------------------------------------------------------------------------------ queries

    def is_open(self, t: datetime) -> bool:
        return any(a <= t < b for a, b in self._day_spans(t.astimezone(self.zone).date()))

    def next_open(self, t: datetime) -> datetime:
        """``t`` if open now, else when the team next opens."""
        for a, _ in self.spans_from(t):
            return a
        raise ValueError(f"this calendar has no open hours within {_HORIZON_DAYS} days")

    def next_close(self, t: datetime) -> datetime | None:
        """When the open span around ``t`` ends; None when closed at ``t``."""
        for a, b in self.spans_from(t):
            return b if a <= t else None
        return None

    def between(self, a: datetime, b: datetime) -> float:
        """Business seconds in ``[a, b)``."""
        if b <= a:
            return 0.0
        total = 0.0
        for s, e in self.spans_from(a):
            if s >= b:
                break
            total += (min(e, b) - s).total_seconds()
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant when ``seconds`` of business time have passed after ``start``."""
        left = max(0.0, seconds)
        for s, e in self.spans_from(start):
            span = (e - s).total_seconds()
            if left <= span:
                return s + timedelta(seconds=left)
            left -= span
        raise ValueError(f"this calendar has no open hours within {_HORIZON_DAYS} days")


class Calendars:
    """The calendar of each queue: its own ``hours``, else the default ``business_hours`` of BATON_CONFIG."""

    def __init__(self, config: object) -> None:
        default = getattr(config, "business_hours", None) or BusinessHours()
        self.default = Calendar.from_config(default)
        # Hours someone wrote down (a queue's own, or business_hours in the file) — not the built-in default.
        self._default_explicit = "business_hours" in (getattr(config, "model_fields_set", None) or ())
        self.always = Calendar.always()
        self._queues: dict[str, Calendar] = {}
        for name, q in (getattr(config, "queues", None) or {}).items():
            if getattr(q, "hours", None) is not None:
                self._queues[name] = Calendar.from_config(q.hours)

    def for_queue(self, queue: str) -> Calendar:
        return self._queues.get(queue, self.default)

    def configured(self, queue: str) -> Calendar | None:
        """The queue's hours when the configuration states them (its own, or an explicit ``business_hours``);
        None under the built-in default, which then only raises priorities after hours."""
        if queue in self._queues:
            return self._queues[queue]
        return self.default if self._default_explicit else None

    def openings(self, queue: str, now: datetime, count: int = 2) -> list[Shift]:
        """The current (if open) and next open spans of a queue with configured hours, as shifts."""
        cal = self.configured(queue)
        if cal is None:
            return []
        out: list[Shift] = []
        for a, b in cal.spans_from(now):
            out.append(Shift(a, b))
            if len(out) >= count:
                break
        return out


__all__ = ["Calendar", "Calendars"]
