"""Support-day simulation scoring the wait-time estimator against two baselines.

Run from the repository root: ``python -m bench.eta --days 5 --seed 7`` (or ``python bench/eta.py``).
Prints figures, asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sim.engine import Record
from bench.sim.report import Report, evaluate, table

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")


def _segment(report: Report, name: str, keep: Callable[[Record], bool]) -> str:
    records = [r for r in report.records if keep(r)]
    if not records:
        return ""
    sub = evaluate(0, 0, records=records)
    return f"\n{name}\n\n" + table(sub.rows + sub.extra_rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=5, help="weekdays to simulate (5 = Monday to Friday)")
    parser.add_argument("--first-day", type=int, default=0, help="0 = start on Monday, 2 = Wednesday, ...")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    report = evaluate(args.seed, args.days, args.first_day)
    elapsed = time.perf_counter() - started

    print(f"command: python -m bench.eta --seed {args.seed} --days {args.days} --first-day {args.first_day}")
    print(f"os.cpu_count(): {os.cpu_count()}   simulated {len(report.records)} handoffs in {elapsed:.1f} s")
    first = WEEKDAYS[args.first_day % 5]
    print(f"{args.days} simulated weekdays from {first}, six agents, seed {args.seed}\n")
    print(table(report.rows))
    est, better = report.estimator, report.better_baseline
    print(f"\nMAE vs better baseline ({better.method.split(':')[0]}): {100 * (est.mae / better.mae - 1):+.0f}%")
    print("\nStronger, capacity-aware baselines (not in the issue), for honesty:\n")
    print(table(report.extra_rows))
    best = report.best_of_all_baselines
    print(f"\nMAE vs best of all four baselines: {100 * (est.mae / best.mae - 1):+.0f}%")
    recs = report.records
    nontrivial = [r for r in recs if r.wait > 0 or r.predictions["high"] > 0]
    inside = sum(1 for r in nontrivial if r.predictions["low"] <= r.wait <= r.predictions["high"])
    flagged = [r for r in recs if r.predictions["longer"]]
    print(
        f"\n{100 * sum(1 for r in recs if r.wait > 0) / len(recs):.0f}% of customers waited at all. "
        f"Where a wait was predicted or happened ({len(nontrivial)}), the estimator's 20th-80th percentile range "
        f"held the real wait {100 * inside / max(1, len(nontrivial)):.0f}% of the time (nominal 60%). "
        f"'Longer than usual' shown to {100 * len(flagged) / len(recs):.1f}% of customers."
    )
    print(_segment(report, "Peak hours (Tue-Thu 14:00-16:00)", lambda r: r.weekday in (1, 2, 3) and 14 <= r.hour < 16))
    print(_segment(report, "Customers who waited at all", lambda r: r.wait > 0))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
