"""The one wait the customer is told: a number, "longer than usual", or "nobody is on shift (back at …)".

Every path that tells a customer about their wait — the intake answer, ``/status``, SSE, webhooks and the
scheduled updates — turns the estimator's :class:`WaitEstimate` and the team's presence into a
:class:`CustomerWait` with :func:`customer_wait`, and shows only what that value holds. So, for one handoff at
one moment, they all say the same thing.

Who is on shift comes from :class:`TeamPresence`, built from the agents (status, ``working_hours``,
``timezone``) by :func:`team_presence`. Per-queue business hours plug in there: pass the queue's own opening
times as ``openings`` and a queue that is closed counts nobody on shift.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from handoff.eta.estimator import HORIZON_S
from handoff.eta.types import Confidence, WaitEstimate
from handoff.models import Agent, AgentStatus
from handoff.shifts import Shift, current_or_next_shift, next_shift_start, zone

WaitState = Literal["estimate", "longer_than_usual", "nobody_on_shift"]
DEFAULT_ZONE = "UTC"

WAIT_FACT_KEYS = ("wait_state", "wait_seconds", "wait_low", "wait_high", "longer_than_usual", "back_at",
                  "back_time", "back_day", "back_weekday", "back_zone")
"""The facts a customer text or event gets about the wait (all present, None when not applicable)."""


@dataclass(frozen=True, slots=True)
class TeamPresence:
    """Who can serve a queue right now.

    Attributes:
        on_shift: Agents who serve the queue and are on shift now (not offline, inside their working hours).
        back_at: When the first of them starts their next shift, when nobody is on shift and that is known.
    """

    on_shift: int
    back_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CustomerWait:
    """What the customer is told about their wait.

    Attributes:
        state: ``estimate`` (a number), ``longer_than_usual`` (no honest number), ``nobody_on_shift``.
        seconds: Point estimate; only in the ``estimate`` state.
        low: 20th percentile; only with ``seconds``.
        high: 80th percentile; only with ``seconds``.
        confidence: The estimator's confidence.
        at: The moment this was decided ("today"/"tomorrow" are relative to it, in ``zone``).
        back_at: When the team is back (in UTC); only with ``nobody_on_shift``, when known.
        zone: The zone ``back_at`` is told in: the customer's time zone when known and valid, else ``UTC``.
    """

    state: WaitState
    seconds: int | None
    low: int | None
    high: int | None
    confidence: Confidence
    at: datetime
    back_at: datetime | None = None
    zone: str = DEFAULT_ZONE

    @property
    def longer_than_usual(self) -> bool:
        """True whenever no number is given (the widget's older flag)."""
        return self.state != "estimate"

    def as_json(self) -> dict[str, Any]:
        """The ``estimate`` object of ``/status`` (and the intake answer's ``wait``)."""
        return {"state": self.state, "seconds": self.seconds, "low": self.low, "high": self.high,
                "confidence": self.confidence, "longer_than_usual": self.longer_than_usual,
                "back_at": None if self.back_at is None else self.back_at.isoformat(),
                "back_zone": None if self.back_at is None else self.zone}


def customer_zone(name: str | None) -> str:
    """The customer's zone if it is a valid IANA name, else ``UTC``."""
    return name if name and zone(name) is not None else DEFAULT_ZONE


def customer_wait(estimate: WaitEstimate | None, presence: TeamPresence, now: datetime,
                  customer_tz: str | None = None) -> CustomerWait | None:
    """Decide what to tell the customer; None when the handoff is not waiting (no estimate).

    Args:
        estimate: The estimator's answer for the handoff now.
        presence: Who can serve its queue now, and when the team is back.
        now: The moment of ``estimate`` and ``presence``.
        customer_tz: The customer's IANA time zone, if known.

    Returns:
        A number only when one is honest; "nobody on shift" whenever nobody who can serve the queue is on shift.
    """
    if estimate is None:
        return None
    tz = customer_zone(customer_tz)
    if presence.on_shift == 0:
        back = None if presence.back_at is None else presence.back_at.astimezone(UTC)
        return CustomerWait("nobody_on_shift", None, None, None, "low", now, back, tz)
    if estimate.longer_than_usual or estimate.seconds >= HORIZON_S:
        return CustomerWait("longer_than_usual", None, None, None, estimate.confidence, now, None, tz)
    return CustomerWait("estimate", estimate.seconds, estimate.low, estimate.high, estimate.confidence, now, None, tz)


def wait_facts(wait: CustomerWait | None) -> dict[str, Any]:
    """The template/event facts for ``wait`` (every key of :data:`WAIT_FACT_KEYS`; all None without a wait).

    ``back_time`` is ``HH:MM`` in ``back_zone``; ``back_day`` is ``today``, ``tomorrow`` or ``later`` (then
    ``back_weekday`` 0=Monday … 6=Sunday names the day), all as seen in the customer's zone at ``wait.at``.
    """
    facts: dict[str, Any] = dict.fromkeys(WAIT_FACT_KEYS)
    facts["longer_than_usual"] = False
    if wait is None:
        return facts
    facts.update(wait_state=wait.state, wait_seconds=wait.seconds, wait_low=wait.low, wait_high=wait.high,
                 longer_than_usual=wait.longer_than_usual)
    tz = zone(wait.zone)
    if wait.back_at is not None and tz is not None:
        local, today = wait.back_at.astimezone(tz), wait.at.astimezone(tz).date()
        days = (local.date() - today).days
        facts.update(back_at=wait.back_at.isoformat(), back_time=local.strftime("%H:%M"),
                     back_day="today" if days <= 0 else "tomorrow" if days == 1 else "later",
                     back_weekday=local.weekday(), back_zone=wait.zone)
    return facts


def agent_shift(agent: Agent, now: datetime, default_zone: str = DEFAULT_ZONE) -> tuple[bool, Shift | None]:
    """(on shift now, the shift that counts) for one agent.

    On shift: not offline and inside their working hours (no working hours: their status alone decides).
    The shift that counts is the running one for an agent on shift, else the next one they start — an offline
    agent inside their hours is expected at their next shift, not back from a break.
    """
    hours, tz = agent.working_hours, agent.timezone or default_zone
    if agent.status is AgentStatus.OFFLINE:
        return False, next_shift_start(hours, tz, now)
    shift = current_or_next_shift(hours, tz, now)
    return (shift is None and not hours) or (shift is not None and shift.starts_at <= now), shift


def team_presence(agents: Iterable[Agent], queue: str, now: datetime, *, default_zone: str = DEFAULT_ZONE,
                  openings: Sequence[Shift] = ()) -> TeamPresence:
    """Who can serve ``queue`` now, and when the first of them is back if nobody is.

    Args:
        agents: All agents (those without ``queue`` among their skills, or with no capacity, are ignored).
        queue: The queue.
        now: The moment.
        default_zone: Zone for agents' working hours when they have no ``timezone``.
        openings: The queue's own business hours, when it has any (current and next openings): outside them
            nobody counts as on shift, and the team is back at the later of the queue's and the agents' start.

    Returns:
        The count on shift and ``back_at`` (None when nobody's next shift is known).
    """
    open_now = not openings or any(o.starts_at <= now < o.ends_at for o in openings)
    on_shift, starts = 0, []
    for agent in agents:
        if queue not in agent.skills or agent.capacity <= 0:
            continue
        present, shift = agent_shift(agent, now, default_zone)
        if present and open_now:
            on_shift += 1
        elif present:
            starts.append(now)  # on shift, waiting for the queue to open
        elif shift is not None and shift.starts_at > now:
            starts.append(shift.starts_at)
    if on_shift:
        return TeamPresence(on_shift)
    if not starts:
        return TeamPresence(0)
    back = min(starts)
    if not open_now:
        opening = next((o.starts_at for o in openings if o.starts_at >= now), None)
        if opening is None:
            return TeamPresence(0)
        back = max(back, opening)
    return TeamPresence(0, back)

