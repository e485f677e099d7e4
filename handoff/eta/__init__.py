"""Honest wait-time estimates per queue: when will an agent pick this handoff, give or take how much.

Pure domain code: the service loads a :class:`QueueSnapshot` and a :class:`HandleTimeHistory` from the
store and calls :func:`estimate_wait` on every queue change.
"""

from handoff.eta.customer_wait import (
    WAIT_FACT_KEYS,
    CustomerWait,
    TeamPresence,
    WaitState,
    agent_shift,
    customer_wait,
    customer_zone,
    team_presence,
    wait_facts,
)
from handoff.eta.distributions import (
    ABSENCE_MEDIAN_S,
    ABSENCE_SIGMA,
    DEFAULT_PRIOR_MEDIAN_HANDLE_S,
    MAX_HISTORY,
    PRIOR_MEDIAN_HANDLE_S,
    PRIOR_SIGMA,
    PRIOR_WEIGHT,
    HandleTimeModel,
)
from handoff.eta.estimator import HORIZON_S, SAMPLES, estimate_wait
from handoff.eta.types import (
    AgentLoad,
    Confidence,
    HandleTimeHistory,
    InProgress,
    QueueSnapshot,
    WaitEstimate,
    WaitingHandoff,
)

__all__ = [
    "ABSENCE_MEDIAN_S",
    "ABSENCE_SIGMA",
    "DEFAULT_PRIOR_MEDIAN_HANDLE_S",
    "HORIZON_S",
    "MAX_HISTORY",
    "PRIOR_MEDIAN_HANDLE_S",
    "PRIOR_SIGMA",
    "PRIOR_WEIGHT",
    "SAMPLES",
    "WAIT_FACT_KEYS",
    "AgentLoad",
    "Confidence",
    "CustomerWait",
    "HandleTimeHistory",
    "HandleTimeModel",
    "InProgress",
    "QueueSnapshot",
    "TeamPresence",
    "WaitEstimate",
    "WaitState",
    "WaitingHandoff",
    "agent_shift",
    "customer_wait",
    "customer_zone",
    "estimate_wait",
    "team_presence",
    "wait_facts",
]
