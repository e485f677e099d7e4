"""Run the simulation with every method and score the predictions against the real waits."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.sim import baselines
from bench.sim.engine import Observation, Record, Simulation
from handoff.eta import estimate_wait

BASELINES: dict[str, Callable[[Observation], float]] = {
    "baseline 1: position x mean handle / agents": baselines.position_x_handle,
    "baseline 2: Erlang C (c = agents)": baselines.erlang_c,
}
EXTRA_BASELINES: dict[str, Callable[[Observation], float]] = {
    "(extra) position x mean / slots, 0 if free": baselines.position_x_handle_slots,
    "(extra) Erlang C (c = chat slots)": baselines.erlang_c_slots,
}
ESTIMATOR = "estimator (handoff.eta)"


def predict(obs: Observation) -> dict[str, float]:
    """Every method's prediction for one arrival, plus the estimator's range and flag."""
    est = estimate_wait(obs.snapshot, obs.history, obs.now)
    out = {ESTIMATOR: float(est.seconds), "low": float(est.low), "high": float(est.high)}
    out["longer"] = 1.0 if est.longer_than_usual else 0.0
    for name, method in {**BASELINES, **EXTRA_BASELINES}.items():
        out[name] = method(obs)
    return out


@dataclass(frozen=True, slots=True)
class Row:
    method: str
    n: int
    mae: float
    p90: float
    bias: float


def score(records: Sequence[Record], method: str) -> Row:
    """MAE, 90th percentile of absolute error and mean signed error (prediction - real) of one method."""
    errors = [r.predictions[method] - r.wait for r in records]
    if not errors:
        return Row(method, 0, math.nan, math.nan, math.nan)
    absolute = sorted(abs(e) for e in errors)
    p90 = absolute[max(0, math.ceil(0.9 * len(absolute)) - 1)]
    return Row(method, len(errors), sum(absolute) / len(errors), p90, sum(errors) / len(errors))


@dataclass(frozen=True, slots=True)
class Report:
    records: list[Record]
    rows: list[Row]
    extra_rows: list[Row]

    @property
    def estimator(self) -> Row:
        return self.rows[0]

    @property
    def better_baseline(self) -> Row:
        return min(self.rows[1:], key=lambda r: r.mae)

    @property
    def best_of_all_baselines(self) -> Row:
        return min(self.rows[1:] + self.extra_rows, key=lambda r: r.mae)


def evaluate(seed: int, days: int, first_day: int = 0, records: Sequence[Record] | None = None) -> Report:
    """Simulate (unless ``records`` are given) and score every method."""
    recs = list(records) if records is not None else Simulation(seed, days, predict, first_day).run()
    return Report(
        records=recs,
        rows=[score(recs, m) for m in (ESTIMATOR, *BASELINES)],
        extra_rows=[score(recs, m) for m in EXTRA_BASELINES],
    )


def table(rows: Sequence[Row]) -> str:
    """A Markdown table of rows."""
    lines = ["| method | n | MAE (s) | P90 abs error (s) | bias (s) |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r.method} | {r.n} | {r.mae:.0f} | {r.p90:.0f} | {r.bias:+.0f} |" for r in rows]
    return "\n".join(lines)
