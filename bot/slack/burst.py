"""Burst mode: when more than N handoffs arrive for one channel within a window, post one grouped card.

Which handoffs belong to a group is persisted in each handoff's Slack ref (``group:<channel>:<ts>``); the
sliding window and the debounce of the grouped card's updates are in memory (a restart starts a new window,
which is harmless: the next arrival decides again).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class Group:
    """One grouped card in a channel and the handoffs it stands for."""

    channel: str
    queue: str
    ts: str
    first_at: datetime
    last_at: datetime
    members: list[str] = field(default_factory=list)
    pushed_at: float = 0.0  # monotonic time of the last chat.update of the grouped card
    dirty: bool = False


class BurstTracker:
    """Counts arrivals per channel and keeps the live group of each channel."""

    def __init__(self, threshold: int, window_seconds: float) -> None:
        self.threshold = threshold
        self.window = timedelta(seconds=window_seconds)
        self._arrivals: dict[str, deque[tuple[datetime, str]]] = {}
        self.groups: dict[str, Group] = {}

    def arrive(self, channel: str, handoff_id: str, at: datetime) -> bool:
        """Record an arrival; True when it should join (or open) a grouped card instead of its own card."""
        q = self._arrivals.setdefault(channel, deque())
        if all(h != handoff_id for _, h in q):
            q.append((at, handoff_id))
        while len(q) > 10_000 or (q and q[0][0] < at - 2 * self.window):
            q.popleft()
        # Deliveries run concurrently and may arrive out of order: count neighbours on both sides in time.
        recent = sum(1 for t, _ in q if abs((t - at).total_seconds()) <= self.window.total_seconds())
        return recent > self.threshold

    def live_group(self, channel: str, at: datetime) -> Group | None:
        """The channel's group if its burst is still going (an arrival within the window)."""
        g = self.groups.get(channel)
        return g if g is not None and at - g.last_at <= self.window else None
