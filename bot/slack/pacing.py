"""Client-side pacing under Slack's rate limits, so the dispatcher waits instead of hammering.

A :class:`Pacer` is a token bucket used by reservation: each caller takes the next free slot and sleeps until
it (FIFO, no lock needed on one event loop). A ``429`` tells us Slack's own bucket is empty: :meth:`Pacer.penalize`
pushes every later slot past ``Retry-After``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: chat.postMessage: about one message per second per channel, short bursts tolerated.
POST_PER_CHANNEL = (1.0, 3.0)
#: chat.update: Tier 3, ~50 calls a minute per workspace (all channels together).
UPDATE_TIER3 = (50 / 60, 10.0)
#: views.publish: Tier 4, ~100 a minute.
PUBLISH_TIER4 = (100 / 60, 10.0)


@dataclass
class Pacer:
    """A token bucket: ``rate`` calls per second, at most ``burst`` in a row."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(default=-1.0, init=False)
    _last: float = field(default=0.0, init=False)

    def _refill(self) -> None:
        now = self.clock()
        if self._tokens == -1.0 and self._last == 0.0:
            self._tokens, self._last = self.burst, now
            return
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def wait_for_next(self) -> float:
        """Seconds until a call would be allowed (without reserving)."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    def reserve(self) -> float:
        """Take the next slot; returns how long to sleep before using it."""
        self._refill()
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def penalize(self, seconds: float) -> None:
        """Slack answered 429 with ``Retry-After: seconds``: no slot before then."""
        self._refill()
        self._tokens = min(self._tokens, -seconds * self.rate)


class Pacers:
    """One pacer per channel for posts, one per workspace for updates and Home publishes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._posts: dict[str, Pacer] = {}
        self.update = Pacer(*UPDATE_TIER3, clock=clock)
        self.publish = Pacer(*PUBLISH_TIER4, clock=clock)

    def post(self, channel: str) -> Pacer:
        pacer = self._posts.get(channel)
        if pacer is None:
            pacer = self._posts[channel] = Pacer(*POST_PER_CHANNEL, clock=self.clock)
        return pacer
