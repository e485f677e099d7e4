"""The simulated support floor: demand curve, topics, handle times, priorities and six agents with shifts.

The "truth" here deliberately differs from the estimator's priors (medians, spreads, per-agent speed), so
the estimator has to learn from the history it observes, as it would in production.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

from handoff.models import Priority

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)
"""Day 0 of the simulation (a Monday); simulated days are weekdays, weekends skipped."""

TOPICS = ("technical", "billing", "accounts", "sales", "general")
TOPIC_MIX = {"technical": 0.30, "billing": 0.20, "accounts": 0.15, "sales": 0.13, "general": 0.22}

HANDLE_TIME = {  # topic: (median seconds, log-space sigma) of the true lognormal handle time
    "technical": (660.0, 0.70),
    "billing": (400.0, 0.55),
    "accounts": (330.0, 0.60),
    "sales": (660.0, 0.60),
    "general": (270.0, 0.65),
}

PRIORITY_MIX = {Priority.CRITICAL: 0.04, Priority.HIGH: 0.14, Priority.MEDIUM: 0.52, Priority.LOW: 0.30}

DAY_FACTOR = (0.90, 1.15, 1.22, 1.12, 0.80)  # Monday..Friday
HOURLY_RATE = (  # (hour of day, arrivals per hour at day factor 1), linear in between; none outside 08-18
    (8.0, 10.0),
    (9.0, 22.0),
    (10.0, 30.0),
    (11.5, 36.0),
    (12.5, 29.0),
    (13.5, 36.0),
    (14.0, 56.0),
    (16.0, 56.0),
    (16.5, 36.0),
    (17.0, 24.0),
    (18.0, 10.0),
)
OPEN_H, CLOSE_H = 8.0, 18.0


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """One simulated agent.

    Attributes:
        id: Name.
        skills: Queues they take.
        capacity: Chats held at once.
        start_h: Shift start (hour of day).
        end_h: Shift end (hour of day).
        speed: Multiplies the topic's handle time (0.9 = 10% faster than typical).
        closes: A closing shift keeps picking until their queues are empty.
    """

    id: str
    skills: frozenset[str]
    capacity: int
    start_h: float
    end_h: float
    speed: float
    closes: bool = False


AGENTS = (
    AgentSpec("ana", frozenset({"technical", "general"}), 2, 8.0, 16.5, 0.90),
    AgentSpec("chen", frozenset({"billing", "accounts", "general"}), 3, 8.0, 16.5, 1.10),
    AgentSpec("fay", frozenset({"sales", "accounts", "billing", "general"}), 3, 8.5, 17.0, 1.00),
    AgentSpec("eli", frozenset({"technical", "sales", "general"}), 2, 9.0, 17.5, 1.05),
    AgentSpec("ben", frozenset({"technical", "accounts"}), 2, 10.0, 19.0, 0.95, closes=True),
    AgentSpec("dara", frozenset({"billing", "sales", "general"}), 2, 10.5, 19.0, 1.00, closes=True),
)

# Away/busy spells: lunch for long shifts, plus random breaks (away) and calls/meetings (busy).
LUNCH_AFTER_H, LUNCH_JITTER_H, LUNCH_MEDIAN_S, LUNCH_SIGMA = 4.0, 0.75, 2100.0, 0.25
SPELL_EVERY_S = 110 * 60.0
BREAK_SHARE, BREAK_MEDIAN_S, BREAK_SIGMA = 0.55, 600.0, 0.5
MEETING_MEDIAN_S, MEETING_SIGMA = 1080.0, 0.5


def hourly_rate(hour: float) -> float:
    """Arrivals per hour at day factor 1 for an hour of day (fractional)."""
    if hour < OPEN_H or hour >= CLOSE_H:
        return 0.0
    for (h0, r0), (h1, r1) in pairwise(HOURLY_RATE):
        if h0 <= hour < h1:
            return r0 + (r1 - r0) * (hour - h0) / (h1 - h0)
    return HOURLY_RATE[-1][1]


PEAK_RATE = max(r for _, r in HOURLY_RATE) * max(DAY_FACTOR)


def lognormal(median: float, sigma: float, z: float) -> float:
    """The lognormal value with this median and sigma at standard-normal draw ``z``."""
    return median * math.exp(sigma * z)
