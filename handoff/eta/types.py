"""Inputs and output of the wait-time estimator: plain frozen dataclasses the service fills from the DB."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from handoff.models import Agent, AgentStatus, Priority

Confidence = Literal["high", "medium", "low"]


@dataclass(frozen=True, slots=True)
class WaitingHandoff:
    """A handoff waiting to be picked.

    Attributes:
        id: Handoff id; used to skip the estimated handoff if it also appears in ``QueueSnapshot.waiting``.
        queue: The queue it waits in.
        priority: Agents pick the highest priority first, then the oldest (``created_at``), then ``id``.
        created_at: When it entered the queue.
    """

    id: str
    queue: str
    priority: Priority
    created_at: datetime

    @property
    def rank(self) -> tuple[int, datetime, str]:
        """Pick order: smaller is picked first."""
        return (self.priority.rank, self.created_at, self.id)

    def outranks(self, other: WaitingHandoff) -> bool:
        """True when an agent able to take both would pick this one first."""
        return self.rank < other.rank


@dataclass(frozen=True, slots=True)
class InProgress:
    """A handoff an agent is handling now.

    Attributes:
        queue: Its queue, which selects the handle-time distribution used for the remaining time.
        started_at: When the agent claimed it.
    """

    queue: str
    started_at: datetime


@dataclass(frozen=True, slots=True)
class AgentLoad:
    """One agent as the estimator sees them.

    Attributes:
        id: Agent id.
        queues: Queues the agent takes work from (their skills).
        status: Only ``AVAILABLE`` agents pick work now; ``AWAY``/``BUSY`` ones are expected back after a while;
            ``OFFLINE`` ones only if ``shift_starts_at`` is in the future.
        capacity: How many handoffs the agent holds at once.
        in_progress: What they hold now (may exceed ``capacity`` after a manual assignment).
        status_since: When ``status`` last changed; sharpens the expected return of an away/busy agent.
        shift_starts_at: Start of a shift that has not begun yet (``None``: on shift now, or no schedule).
        shift_ends_at: The agent picks nothing at or after this time (``None``: no known end).
    """

    id: str
    queues: frozenset[str]
    status: AgentStatus
    capacity: int
    in_progress: tuple[InProgress, ...] = ()
    status_since: datetime | None = None
    shift_starts_at: datetime | None = None
    shift_ends_at: datetime | None = None

    @classmethod
    def from_agent(
        cls,
        agent: Agent,
        *,
        in_progress: Sequence[InProgress] = (),
        status_since: datetime | None = None,
        shift_starts_at: datetime | None = None,
        shift_ends_at: datetime | None = None,
    ) -> AgentLoad:
        """Build from the domain ``Agent`` (skills become queues) plus what the store knows about their load.

        Args:
            agent: The agent record.
            in_progress: Their open handoffs.
            status_since: When their status last changed.
            shift_starts_at: Start of a shift that has not begun yet.
            shift_ends_at: End of the current shift.

        Returns:
            The estimator's view of the agent.
        """
        return cls(
            id=agent.id,
            queues=frozenset(agent.skills),
            status=agent.status,
            capacity=agent.capacity,
            in_progress=tuple(in_progress),
            status_since=status_since,
            shift_starts_at=shift_starts_at,
            shift_ends_at=shift_ends_at,
        )


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """Everything that decides when ``handoff`` gets picked, as of one moment.

    Attributes:
        handoff: The handoff whose wait is estimated (for a not-yet-created one, use ``created_at=now``).
        agents: Agents who can take ``handoff.queue``, plus any agent who shares a queue with the waiting
            handoffs that outrank it (passing every agent is fine; irrelevant ones are ignored).
        waiting: Other waiting handoffs, any queue; those that do not outrank ``handoff`` are ignored.
        arrivals_per_hour: Recent arrival rate per queue and priority. Arrivals of a higher priority than
            ``handoff`` jump ahead of it; leave empty to ignore future arrivals.
    """

    handoff: WaitingHandoff
    agents: tuple[AgentLoad, ...]
    waiting: tuple[WaitingHandoff, ...] = ()
    arrivals_per_hour: Mapping[str, Mapping[Priority, float]] = field(default_factory=dict)

    @property
    def queue(self) -> str:
        """The queue of the estimated handoff."""
        return self.handoff.queue


@dataclass(frozen=True, slots=True)
class HandleTimeHistory:
    """Recently completed handle times (claim to resolve), in seconds, per queue, oldest first.

    Attributes:
        by_queue: Samples per queue; only the most recent ``MAX_HISTORY`` of each are used.
        prior_median_s: Per-queue overrides of ``PRIOR_MEDIAN_HANDLE_S`` (e.g. from configuration).
    """

    by_queue: Mapping[str, Sequence[float]] = field(default_factory=dict)
    prior_median_s: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    """How long until an agent picks the handoff, from ``now``.

    Attributes:
        seconds: Point estimate (the median of the simulated waits).
        low: 20th percentile.
        high: 80th percentile.
        confidence: ``high``, ``medium`` or ``low``.
        longer_than_usual: Show "longer than usual" instead of a number: no eligible agent is present now,
            or the range is too wide to be honest about a number.
        basis: Short explanation, e.g. ``"position 3, 5 ahead, 2/3 agents available, ..."``.
    """

    seconds: int
    low: int
    high: int
    confidence: Confidence
    longer_than_usual: bool
    basis: str
