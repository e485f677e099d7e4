"""Handle-time and absence distributions: a lognormal prior per queue, shrunk toward the observed history.

The handle-time model is a mixture: every observed sample weighs 1, and the prior (a lognormal with a
per-queue median) weighs ``PRIOR_WEIGHT`` pseudo-observations, spread over ``_PRIOR_POINTS`` quantiles.
With no history it *is* the prior; with 100 samples the prior is 7% of the mass. Remaining time of work
in progress is drawn from the same mixture conditioned on the time already spent (its tail), so a chat
that has run long is expected to run on, as the empirical distribution says.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from itertools import accumulate
from statistics import NormalDist
from types import MappingProxyType
from typing import Final

from handoff.models import AgentStatus

PRIOR_MEDIAN_HANDLE_S: Final[Mapping[str, float]] = MappingProxyType(
    {"technical": 900.0, "billing": 480.0, "accounts": 420.0, "sales": 600.0, "general": 360.0}
)
"""Median handle time (s) assumed per queue before any history; typical chat-support figures."""
DEFAULT_PRIOR_MEDIAN_HANDLE_S: Final = 480.0
"""Median handle time (s) for a queue not in ``PRIOR_MEDIAN_HANDLE_S``."""
PRIOR_SIGMA: Final = 0.7
"""Log-space standard deviation of the prior (a 20th-80th percentile span of about 0.55x-1.8x the median)."""
PRIOR_WEIGHT: Final = 8.0
"""How many observations the prior is worth."""
MAX_HISTORY: Final = 400
"""Only the most recent samples per queue are used, so the model follows drift."""
ABSENCE_MEDIAN_S: Final[Mapping[AgentStatus, float]] = MappingProxyType(
    {AgentStatus.AWAY: 900.0, AgentStatus.BUSY: 1200.0}
)
"""Median length (s) of an away/busy spell: a break, a call, a meeting."""
ABSENCE_SIGMA: Final = 0.7
"""Log-space standard deviation of an away/busy spell."""

_PRIOR_POINTS: Final = 32
_STD: Final = NormalDist()
_PRIOR_Z: Final = tuple(_STD.inv_cdf((i + 0.5) / _PRIOR_POINTS) for i in range(_PRIOR_POINTS))
_P_MAX: Final = 1.0 - 1e-9
_TABLE: Final = 256  # one entry per value of a random byte: the estimator indexes it with bytes
RESIDUAL_POINTS: Final = 64
"""Resolution of the remaining-time distributions the Monte Carlo draws from."""


def lognormal_residual_sampler(mu: float, sigma: float, elapsed: float) -> Callable[[float], float]:
    """A sampler of the remaining time of a lognormal duration that has already lasted ``elapsed``.

    Args:
        mu: Log-space mean.
        sigma: Log-space standard deviation.
        elapsed: Time already spent (s).

    Returns:
        A function of a uniform draw in [0, 1) giving the remaining time (s), at least 0.
    """
    p0 = _STD.cdf((math.log(elapsed) - mu) / sigma) if elapsed > 0 else 0.0
    inv_cdf = _STD.inv_cdf

    def sample(u: float) -> float:
        p = min(_P_MAX, max(1e-12, p0 + u * (1.0 - p0)))
        return max(0.0, math.exp(mu + sigma * inv_cdf(p)) - elapsed)

    return sample


class HandleTimeModel:
    """Handle-time distribution of one queue: observed samples mixed with the lognormal prior."""

    __slots__ = ("_cum", "_table", "_total", "_values", "mu", "n", "sigma")

    def __init__(
        self,
        samples: Sequence[float],
        prior_median: float,
        prior_sigma: float = PRIOR_SIGMA,
        prior_weight: float = PRIOR_WEIGHT,
    ) -> None:
        """Build the mixture.

        Args:
            samples: Observed handle times (s), oldest first; non-positive ones are dropped.
            prior_median: Prior median (s).
            prior_sigma: Prior log-space standard deviation.
            prior_weight: Pseudo-observations the prior is worth.
        """
        observed = [float(s) for s in samples[-MAX_HISTORY:] if s > 0 and math.isfinite(s)]
        self.n = len(observed)
        point_weight = prior_weight / _PRIOR_POINTS
        points = [(prior_median * math.exp(prior_sigma * z), point_weight) for z in _PRIOR_Z]
        points.extend((s, 1.0) for s in observed)
        points.sort()
        self._values = [v for v, _ in points]
        self._cum = list(accumulate(w for _, w in points))
        self._total = self._cum[-1]
        table: list[float] = []  # the mixture's quantiles at (k + 0.5) / _TABLE, in one merge pass
        i, last = 0, len(self._values) - 1
        for k in range(_TABLE):
            target = (k + 0.5) / _TABLE * self._total
            while i < last and self._cum[i] <= target:
                i += 1
            table.append(self._values[i])
        self._table = table
        # Shrinkage of the log-space moments toward the prior, used for tails beyond every sample.
        logs = [math.log(s) for s in observed]
        prior_mu = math.log(prior_median)
        self.mu = (prior_weight * prior_mu + sum(logs)) / (prior_weight + self.n)
        spread = prior_weight * (prior_sigma**2 + (prior_mu - self.mu) ** 2) + sum((x - self.mu) ** 2 for x in logs)
        self.sigma = max(0.05, math.sqrt(spread / (prior_weight + self.n)))

    def quantile(self, p: float) -> float:
        """The ``p``-quantile of the mixture (s)."""
        i = min(bisect_right(self._cum, p * self._total), len(self._values) - 1)
        return self._values[i]

    def mean(self) -> float:
        """The mean of the mixture (s)."""
        prev = 0.0
        acc = 0.0
        for v, c in zip(self._values, self._cum, strict=True):
            acc += v * (c - prev)
            prev = c
        return acc / self._total

    @property
    def draw_table(self) -> list[float]:
        """256 quantiles of the mixture, at (k + 0.5) / 256: indexing it with a random byte draws from it."""
        return self._table

    def draw(self, u: float) -> float:
        """A fresh handle time for uniform draw ``u`` in [0, 1) (from a 256-quantile table, for speed)."""
        return self._table[int(u * _TABLE)]

    def residual_quantiles(self, elapsed: float) -> list[float]:
        """Quantiles of the remaining handle time of work that has run ``elapsed`` seconds.

        Args:
            elapsed: Time already spent on it (s).

        Returns:
            ``RESIDUAL_POINTS`` remaining times (s) at probabilities (k + 0.5) / RESIDUAL_POINTS: the mixture
            conditioned on exceeding ``elapsed``, or the shrunk lognormal's tail when ``elapsed`` exceeds every
            sample. Indexing it with ``int(u * RESIDUAL_POINTS)`` draws from it.
        """
        values, cum = self._values, self._cum
        j = bisect_right(values, elapsed) if elapsed > 0 else 0
        if j >= len(values):
            sample = lognormal_residual_sampler(self.mu, self.sigma, elapsed)
            return [sample((k + 0.5) / RESIDUAL_POINTS) for k in range(RESIDUAL_POINTS)]
        base = cum[j - 1] if j else 0.0
        span = self._total - base
        out: list[float] = []
        i, last = j, len(values) - 1
        for k in range(RESIDUAL_POINTS):
            target = base + (k + 0.5) / RESIDUAL_POINTS * span
            while i < last and cum[i] <= target:
                i += 1
            out.append(values[i] - elapsed)
        return out

    def residual(self, elapsed: float, u: float) -> float:
        """Remaining handle time of work that has run ``elapsed`` seconds, for uniform draw ``u`` in [0, 1)."""
        return self.residual_quantiles(elapsed)[int(u * RESIDUAL_POINTS)]


@lru_cache(maxsize=64)
def _cached_model(samples: tuple[float, ...], prior_median: float) -> HandleTimeModel:
    return HandleTimeModel(samples, prior_median)


def handle_time_model(samples: Sequence[float], prior_median: float) -> HandleTimeModel:
    """The (memoised) model for these samples and prior: the service re-estimates on every queue change."""
    return _cached_model(tuple(samples[-MAX_HISTORY:]), prior_median)


def absence_quantiles(status: AgentStatus, elapsed: float) -> list[float]:
    """``RESIDUAL_POINTS`` quantiles of the remaining length (s) of an away/busy spell begun ``elapsed`` s ago."""
    median = ABSENCE_MEDIAN_S.get(status, ABSENCE_MEDIAN_S[AgentStatus.AWAY])
    sample = lognormal_residual_sampler(math.log(median), ABSENCE_SIGMA, max(0.0, elapsed))
    return [sample((k + 0.5) / RESIDUAL_POINTS) for k in range(RESIDUAL_POINTS)]
