"""In-memory limits of one process: token buckets per key (requests) and counted slots per key (open streams).

Both are per process on purpose: no shared store sits on the request path. Behind a load balancer, N processes
therefore allow N times the configured budget (the README says so); the caps still bound what one client can
take from any one process, which is what protects the database pool and the other customers.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from handoff.errors import RateLimited

Clock = Callable[[], float]


class TokenBuckets:
    """One token bucket per key: ``burst`` requests at once, refilled at ``per_second``.

    Keys idle long enough to be full again are forgotten (least recently used first) once more than
    ``max_keys`` are tracked, so a flood of distinct keys cannot grow memory without bound.
    """

    def __init__(self, per_second: float, burst: int, *, clock: Clock = time.monotonic,
                 max_keys: int = 100_000) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("per_second must be > 0 and burst >= 1")
        self.per_second, self.burst, self.clock, self.max_keys = per_second, float(burst), clock, max_keys
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()  # key → (tokens, at)

    def take(self, key: Hashable) -> float | None:
        """Spend one token of ``key``: None when allowed, else the seconds until one is available."""
        now = self.clock()
        tokens, at = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.per_second)
        wait = None
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.per_second
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_keys:
            self._forget(now)
        return wait

    def check(self, key: Hashable, what: str) -> None:
        """Spend one token, or raise.

        Raises:
            RateLimited: over the rate; ``retry_after`` says when the next request may pass.
        """
        wait = self.take(key)
        if wait is not None:
            raise RateLimited(f"too many {what}; slow down", retry_after=wait)

    def _forget(self, now: float) -> None:
        refill = self.burst / self.per_second
        for key, (_, at) in list(self._buckets.items()):
            if len(self._buckets) <= self.max_keys // 2 or now - at < refill:
                break
            del self._buckets[key]
        while len(self._buckets) > self.max_keys:  # all recent: drop the oldest anyway, memory wins
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass(eq=False)
class Slot:
    """One admitted stream; :meth:`release` gives its place back (idempotent, so every exit path may call it)."""

    owner: StreamSlots
    keys: tuple[tuple[str, str], ...]
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.owner._release(self.keys)


class StreamSlots:
    """Counts open streams per token and per client address; over either cap the next one is refused."""

    def __init__(self, per_token: int, per_ip: int, *, retry_after: float = 10.0) -> None:
        self.per_token, self.per_ip, self.retry_after = per_token, per_ip, retry_after
        self._open: dict[tuple[str, str], int] = {}

    def acquire(self, token_key: str, ip: str) -> Slot:
        """Admit one more stream of this token from this address.

        Raises:
            RateLimited: the token already has ``per_token`` open streams, or the address ``per_ip``.
        """
        tk, ik = ("token", token_key), ("ip", ip)
        if self._open.get(tk, 0) >= self.per_token:
            raise RateLimited(f"at most {self.per_token} open streams per conversation; close one first",
                              retry_after=self.retry_after, limit="streams_per_token")
        if self._open.get(ik, 0) >= self.per_ip:
            raise RateLimited(f"at most {self.per_ip} open streams per client address",
                              retry_after=self.retry_after, limit="streams_per_ip")
        for k in (tk, ik):
            self._open[k] = self._open.get(k, 0) + 1
        return Slot(self, (tk, ik))

    def _release(self, keys: tuple[tuple[str, str], ...]) -> None:
        for k in keys:
            n = self._open.get(k, 0) - 1
            if n > 0:
                self._open[k] = n
            else:
                self._open.pop(k, None)

    def open_for(self, token_key: str) -> int:
        return self._open.get(("token", token_key), 0)

    @property
    def total(self) -> int:
        return sum(n for (kind, _), n in self._open.items() if kind == "token")
