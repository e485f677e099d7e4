"""Client-side pacing under a platform's rate limits, so the dispatcher waits instead of hammering.

A :class:`Pacer` is a token bucket used by reservation: each caller takes the next free slot and sleeps until
it (FIFO, no lock needed on one event loop). A ``429`` tells us the platform's own bucket is empty:
:meth:`Pacer.penalize` pushes every later slot past ``Retry-After``. Slack and Teams each configure their rates.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from handoff.outbox import RetryLater

MAX_PACED_WAIT = 20.0  # longer than this and the item goes back to the outbox instead of holding a lane


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


async def take_slot(pacers: Sequence[Pacer], scope: str, what: str) -> None:
    """Wait for the next slot of every pacer that governs a call (e.g. per conversation and per app).

    Raises:
        RetryLater: the wait would be longer than :data:`MAX_PACED_WAIT`; the item goes back to the outbox
            (with ``scope`` — ``lane`` or ``destination`` — saying what is congested) instead of holding a lane.
    """
    wait = max((p.wait_for_next() for p in pacers), default=0.0)
    if wait > MAX_PACED_WAIT:
        raise RetryLater(f"pacing {what} calls ({wait:.0f} s until the next slot)", retry_after=wait, scope=scope,
                         spend_attempt=False)
    delay = max((p.reserve() for p in pacers), default=0.0)
    if delay > 0:
        await asyncio.sleep(delay)


class SurfaceHealth:
    """Whether a platform accepts our credentials; a rejection parks deliveries and degrades readiness."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.ok = True
        self.detail = "ok"
        self.failures = 0

    def failed(self, error: str) -> None:
        self.failures += 1
        self.ok = False
        self.detail = f"{self.platform} rejects the bot's credentials ({error}); deliveries are parked in the outbox"

    def succeeded(self) -> None:
        if not self.ok:
            self.ok, self.detail, self.failures = True, "ok", 0
