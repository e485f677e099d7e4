"""What the numbers mean: periods, the metric set of a group of handoffs, period-over-period change, and the
per-agent quality score. Pure functions over the store's sums (:class:`handoff.store.analytics.Sums`-shaped);
no I/O, so the definitions below are the whole truth about every figure Baton reports.

Definitions (a *cohort* is the handoffs created in the period):

- escalation_rate: handoffs / AI conversations (what widgets report per hour, else ``/v1/evaluate`` calls).
- first_response_*: created → first response (the first claim), over the cohort's answered handoffs.
- resolution_*: created → resolved, over its resolved handoffs; resolution_rate = resolved / handoffs.
- reescalation_rate: handoffs reopened, or whose customer came back within ``reescalation_days`` of the
  resolution (the AI took over again and could not finish), / handoffs.
- transfer_rate, tier_escalation_rate: handoffs transferred (or escalated a tier) at least once / handoffs.
- first_contact_resolution_rate: resolved with no transfer, no tier escalation and no re-escalation / resolved.
- sla_compliance: the cohort's stopped promise clocks (first response, resolution, tier and management
  acknowledgement) that met their target / all of them (watches are not promises).
- csat_*: ratings 1-5; promoters 4-5, detractors 1-2.
- cost_per_resolution: claim → resolution hours x ``hourly_cost`` / resolved.
- wait_error_*: actual first response - the wait the intake answer promised (positive: we were late).
- avoidable_rate: resolved within ``quick_resolve_minutes`` of the claim with the KB-gap box ticked, / resolved
  — the AI could have answered had the knowledge base held the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_PERIOD = timedelta(days=400)
#: Lower is better for these (the dashboard and reports colour a rise red).
LOWER_IS_BETTER = frozenset({
    "escalation_rate", "first_response_mean_s", "first_response_p50_s", "first_response_p90_s",
    "resolution_mean_s", "resolution_p50_s", "resolution_p90_s", "reescalation_rate", "transfer_rate",
    "tier_escalation_rate", "sla_breached", "detractor_share", "detractors", "cost_per_resolution",
    "wait_error_abs_mean_s", "avoidable_rate", "avoidable"})


DIMENSIONS = ("reason", "topic", "priority", "queue", "agent", "plan", "hour", "weekday", "day", "confidence")
"""What a cohort can be grouped by: ``reason`` is the trigger reason, ``agent`` the final holder, ``plan`` the
customer's plan, ``hour``/``weekday``/``day`` the creation time in the report's time zone, ``confidence`` the
AI's confidence at hand-off in bands of 0.2."""

CONFIDENCE_BANDS = ("0.0-0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", "0.8-1.0")
NO_KEY = "(none)"  # the group of handoffs without a value (unclaimed: no agent; no confidence given)


@dataclass(frozen=True, slots=True)
class Tuning:
    """The thresholds behind a few measures (``analytics:`` in ``BATON_CONFIG``)."""

    timezone: str = "UTC"
    quick_resolve_seconds: float = 600.0  # resolved this fast after the claim, with a KB gap: avoidable
    reescalation_days: float = 7.0  # the same customer back within this long after a resolution: re-escalated


@dataclass(frozen=True, slots=True)
class Sums:
    """The additive figures of one group (sums and counts) plus its percentiles, straight from SQL."""

    handoffs: int = 0
    responded: int = 0
    first_response_sum: float = 0.0
    first_response_p50: float | None = None
    first_response_p90: float | None = None
    resolved: int = 0
    resolution_sum: float = 0.0
    resolution_p50: float | None = None
    resolution_p90: float | None = None
    reescalated: int = 0
    transferred: int = 0
    tier_escalated: int = 0
    first_contact: int = 0
    sla_met: int = 0
    sla_breached: int = 0
    csat_responses: int = 0
    csat_sum: float = 0.0
    csat_1: int = 0
    csat_2: int = 0
    csat_3: int = 0
    csat_4: int = 0
    csat_5: int = 0
    handle_seconds: float = 0.0
    wait_promised: int = 0
    wait_error_sum: float = 0.0
    wait_error_abs_sum: float = 0.0
    avoidable: int = 0
    confidence_count: int = 0
    confidence_sum: float = 0.0
    reviewed: int = 0
    accurate: int = 0


SUM_FIELDS = tuple(Sums.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Conversations:
    """AI conversations in a period: what widgets reported, and ``/v1/evaluate`` calls where they did not."""

    total: int
    reported: int  # hours with a widget-reported count
    evaluations: int


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)`` in UTC, and the zone its days and hours are read in."""

    start: datetime
    end: datetime
    timezone: str = "UTC"

    @property
    def previous(self) -> Period:
        """The period of the same length just before this one."""
        length = self.end - self.start
        return Period(self.start - length, self.start, self.timezone)

    def days(self) -> list[str]:
        """Every local day the period touches, oldest first (YYYY-MM-DD)."""
        tz = ZoneInfo(self.timezone)
        first, last = self.start.astimezone(tz).date(), (self.end - timedelta(microseconds=1)).astimezone(tz).date()
        return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]

    def as_json(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def local_day(day: date, tz: str) -> tuple[datetime, datetime]:
    """The UTC instants a local day starts and ends at (DST-correct: a day may last 23 or 25 hours)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def parse_period(start: str | None, end: str | None, now: datetime, tz: str, default_days: int = 7) -> Period:
    """A period from API/CLI text: ISO instants (``2026-11-01T00:00:00Z``) or local dates (``2026-11-01``).

    A date ``to`` is inclusive (its whole day counts); without ``to`` the period ends now, without ``from`` it
    starts ``default_days`` earlier.

    Raises:
        ValueError: unreadable text, an empty or reversed period, or one longer than 400 days.
    """
    def read(text: str, field: str, is_end: bool) -> datetime:
        text = text.strip()
        try:
            if len(text) == 10:
                d = date.fromisoformat(text)
                if not 1970 <= d.year <= 2999:
                    raise ValueError
                return local_day(d, tz)[1 if is_end else 0]
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if not 1970 <= value.year <= 2999:
                raise ValueError
            if value.tzinfo is None:
                value = value.replace(tzinfo=ZoneInfo(tz))
            return value.astimezone(UTC)
        except (ValueError, OverflowError):
            raise ValueError(f"{field}: {text[:40]!r} is not a date (YYYY-MM-DD) or an ISO 8601 instant "
                             "between 1970 and 2999") from None

    stop = read(end, "to", True) if end else now
    begin = read(start, "from", False) if start else stop - timedelta(days=default_days)
    if begin >= stop:
        raise ValueError("from must be before to")
    if stop - begin > MAX_PERIOD:
        raise ValueError(f"the period is longer than {MAX_PERIOD.days} days; ask for less")
    return Period(begin, stop, tz)


def _ratio(a: float, b: float) -> float | None:
    return None if not b else round(a / b, 4)


def _mean(total: float, n: int, digits: int = 1) -> float | None:
    return None if not n else round(total / n, digits)


def _round(v: float | None, digits: int = 1) -> float | None:
    return None if v is None else round(v, digits)


def metrics(s: Sums, *, conversations: int | None = None, hourly_cost: float = 0.0) -> dict[str, Any]:
    """The metric set of one group (flat keys, numbers or None when not computable; rates are fractions)."""
    promoters, detractors = s.csat_4 + s.csat_5, s.csat_1 + s.csat_2
    handle_hours = s.handle_seconds / 3600
    return {
        "handoffs": s.handoffs,
        "conversations": conversations,
        "escalation_rate": _ratio(s.handoffs, conversations) if conversations else None,
        "responded": s.responded,
        "first_response_mean_s": _mean(s.first_response_sum, s.responded),
        "first_response_p50_s": _round(s.first_response_p50),
        "first_response_p90_s": _round(s.first_response_p90),
        "resolved": s.resolved,
        "resolution_rate": _ratio(s.resolved, s.handoffs),
        "resolution_mean_s": _mean(s.resolution_sum, s.resolved),
        "resolution_p50_s": _round(s.resolution_p50),
        "resolution_p90_s": _round(s.resolution_p90),
        "first_contact_resolution_rate": _ratio(s.first_contact, s.resolved),
        "reescalated": s.reescalated,
        "reescalation_rate": _ratio(s.reescalated, s.handoffs),
        "transferred": s.transferred,
        "transfer_rate": _ratio(s.transferred, s.handoffs),
        "tier_escalated": s.tier_escalated,
        "tier_escalation_rate": _ratio(s.tier_escalated, s.handoffs),
        "sla_met": s.sla_met,
        "sla_breached": s.sla_breached,
        "sla_compliance": _ratio(s.sla_met, s.sla_met + s.sla_breached),
        "csat_responses": s.csat_responses,
        "csat_mean": _mean(s.csat_sum, s.csat_responses, 2),
        "csat_1": s.csat_1, "csat_2": s.csat_2, "csat_3": s.csat_3, "csat_4": s.csat_4, "csat_5": s.csat_5,
        "promoters": promoters,
        "detractors": detractors,
        "promoter_share": _ratio(promoters, s.csat_responses),
        "detractor_share": _ratio(detractors, s.csat_responses),
        "handle_hours": round(handle_hours, 2),
        "cost_per_resolution": round(handle_hours * hourly_cost / s.resolved, 2) if s.resolved else None,
        "wait_promised": s.wait_promised,
        "wait_error_mean_s": _mean(s.wait_error_sum, s.wait_promised),
        "wait_error_abs_mean_s": _mean(s.wait_error_abs_sum, s.wait_promised),
        "avoidable": s.avoidable,
        "avoidable_rate": _ratio(s.avoidable, s.resolved),
        "confidence_mean": _mean(s.confidence_sum, s.confidence_count, 3),
        "reviewed": s.reviewed,
        "accurate": s.accurate,
    }


def change(current: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, float | None]:
    """Relative change per numeric key: (now - before) / before; None without a non-zero 'before'."""
    out: dict[str, float | None] = {}
    for key, now in current.items():
        before = previous.get(key)
        ok = isinstance(now, int | float) and isinstance(before, int | float) and not isinstance(now, bool)
        out[key] = round((now - before) / abs(before), 4) if ok and before else None
    return out


@dataclass(frozen=True, slots=True)
class AgentScore:
    """A 100-point quality score from four 25-point parts, with the inputs each part came from.

    - response: full marks at or below ``target`` median first response, none at 4x it, linear between;
    - first_contact_resolution: 25 x the share resolved without transfer, tier escalation or re-escalation;
    - csat: 25 x (mean - 1) / 4 on the 1-5 scale;
    - accuracy: 25 x the share a reviewer marked accurate (``POST /v1/handoffs/{id}/review``); with no reviews,
      the share of resolutions that held (not reopened, the customer not back) — ``accuracy_source`` says which.

    A part without inputs (no ratings yet) is left out and the others are scaled to 100; ``missing`` names it.
    """

    score: float | None
    components: dict[str, float | None]
    inputs: dict[str, Any]
    missing: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"score": self.score, "components": self.components, "inputs": self.inputs,
                "missing": list(self.missing)}


def agent_score(s: Sums, target_seconds: float) -> AgentScore:
    p50 = s.first_response_p50
    response = None if p50 is None else 25.0 * min(1.0, max(0.0, (4 * target_seconds - p50) / (3 * target_seconds)))
    fcr = None if not s.resolved else 25.0 * s.first_contact / s.resolved
    csat_mean = s.csat_sum / s.csat_responses if s.csat_responses else None
    csat = None if csat_mean is None else 25.0 * (csat_mean - 1) / 4
    if s.reviewed:
        accuracy_rate: float | None = s.accurate / s.reviewed
        source = "reviews"
    elif s.resolved:
        accuracy_rate = max(0.0, s.resolved - s.reescalated) / s.resolved
        source = "resolutions that held"
    else:
        accuracy_rate, source = None, "none"
    accuracy = None if accuracy_rate is None else 25.0 * accuracy_rate
    parts = {"response": response, "first_contact_resolution": fcr, "csat": csat, "accuracy": accuracy}
    have = [v for v in parts.values() if v is not None]
    score = round(sum(have) * 4 / len(have), 1) if have else None
    return AgentScore(
        score=score, components={k: _round(v) for k, v in parts.items()},
        inputs={"handled": s.handoffs, "first_response_p50_s": _round(p50), "target_seconds": target_seconds,
                "resolved": s.resolved, "first_contact_resolution_rate": _ratio(s.first_contact, s.resolved),
                "csat_mean": _round(csat_mean, 2), "csat_responses": s.csat_responses,
                "accuracy_rate": _round(accuracy_rate, 4), "accuracy_source": source, "reviewed": s.reviewed},
        missing=tuple(k for k, v in parts.items() if v is None))
