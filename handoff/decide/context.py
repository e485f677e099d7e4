"""What the decision needs to know beyond the conversation: the time, the customer's history, the agents."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from handoff.models import Agent


@dataclass(frozen=True)
class AgentSnapshot:
    """An agent as routing sees them right now.

    Attributes:
        agent: the agent (skills, tier, capacity, status, languages, timezone, working hours).
        open_count: handoffs they hold that are still open.
        csat: recent customer satisfaction, 1-5.
        median_first_response_s: recent median seconds to first response.
        resolution_rate: share of their recent handoffs resolved, 0-1.
        past_successes_with_customer: earlier handoffs with this customer that ended resolved.
    """

    agent: Agent
    open_count: int = 0
    csat: float | None = None
    median_first_response_s: float | None = None
    resolution_rate: float | None = None
    past_successes_with_customer: int = 0


@dataclass(frozen=True)
class DecisionContext:
    """The facts the repositories supply for one decision (the engine itself does no I/O).

    Attributes:
        now: the decision time, timezone-aware (UTC).
        recent_escalations_30d: this customer's escalations in the last 30 days.
        agents: the agents who could take it, with their load and performance.
        account_manager_id: the customer's named account manager, if any.
        queue_open: whether a queue's team is working at ``now`` (its business hours); None: the rules file's
            ``business_hours`` decide (the engine alone, e.g. ``/v1/evaluate`` in tests).
    """

    now: datetime
    recent_escalations_30d: int = 0
    agents: Sequence[AgentSnapshot] = ()
    account_manager_id: str | None = None
    queue_open: Callable[[str, datetime], bool] | None = None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("DecisionContext.now must be timezone-aware")
