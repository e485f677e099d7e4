"""Small-scale run of the support-day simulation: the estimator must keep beating the baselines."""

from __future__ import annotations

import pytest

from bench.sim.baselines import erlang_c_wait
from bench.sim.report import evaluate


def test_estimator_beats_the_better_baseline_by_a_quarter_on_a_peak_day() -> None:
    report = evaluate(seed=1, days=1, first_day=2)  # a Wednesday, starting with no history
    assert len(report.records) > 300
    assert report.estimator.mae <= 0.75 * report.better_baseline.mae, report.rows


def test_simulation_is_deterministic_for_a_seed() -> None:
    first, second = (evaluate(seed=5, days=1, first_day=4) for _ in range(2))
    assert first.rows == second.rows
    assert [r.wait for r in first.records] == [r.wait for r in second.records]


def test_erlang_c_matches_textbook_values() -> None:
    assert erlang_c_wait(0.5, 1.0, 1) == pytest.approx(1.0)  # M/M/1: rho / (mu - lambda)
    assert erlang_c_wait(1.0, 1.0, 2) == pytest.approx(1 / 3)  # C(2, 1) = 1/3, / (c mu - lambda) = 1
    assert erlang_c_wait(2.0, 1.0, 2) is None  # unstable
