"""SLA timer lateness with many open handoffs on PostgreSQL, and what each tick costs the database.

    .venv/bin/python bench/sla.py [--open 10000] [--window 60] [--target 120]

A scratch PostgreSQL database gets ``--open`` open handoffs: one through the real intake, the rest cloned in SQL
with their SLA clocks, whose warning points (80 % of ``--target``) and targets are spread evenly over the next
``--window`` seconds — about 10,000 warnings and 10,000 breaches coming due at ~170/s. The real scheduler
(``scheduler.Ticks``, the SLA tick every ``sla.tick_seconds``) then runs until every clock has fired. Lateness is
``warned_at - warn_at`` and ``breached_at - due_at`` as the engine recorded them (its clock is the wall clock
here). Each tick is timed and its SQL statements counted, also when nothing is due.

Prints figures; asserts nothing about time. Target: lateness p99 ≤ 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.factories import intake_body  # noqa: E402


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] if s else float("nan")


async def seed(rt: Any, n: int, window: float, target: float) -> None:
    """One real intake, then ``n - 1`` clones whose first-response clocks come due across ``window`` seconds."""
    import sqlalchemy as sa

    from handoff.contract import HandoffIn
    from handoff.store import tables as t

    h = (await rt.intake.submit(HandoffIn.model_validate(intake_body()))).handoff
    warn = 0.8 * target
    async with rt.engine.begin() as conn:
        cols = [c.name for c in t.handoffs.columns]
        exprs = {"id": "'ho_sla' || lpad(g::text, 8, '0')", "conversation_id": "'sla-' || g",
                 "customer_token": "md5(g::text)", "created_at": "now()", "updated_at": "now()"}
        await conn.execute(sa.text(
            f"INSERT INTO handoffs ({', '.join(cols)}) SELECT {', '.join(exprs.get(c, c) for c in cols)} "
            f"FROM handoffs CROSS JOIN generate_series(1, {n - 1}) AS g WHERE handoffs.id = :seed"), {"seed": h.id})
        # The seed's own clocks start now too; clones: warning point at now + g/n * window (evenly spread).
        await conn.execute(sa.text("DELETE FROM sla_clocks"))
        start = f"now() + make_interval(secs => g::float / {n} * {window}) - make_interval(secs => {warn})"
        await conn.execute(sa.text(
            "INSERT INTO sla_clocks (handoff_id, kind, policy, target_seconds, business_hours, started_at, warn_at, "
            "due_at, next_at, paused_seconds, updated_at) "
            f"SELECT CASE WHEN g = 0 THEN :seed ELSE 'ho_sla' || lpad(g::text, 8, '0') END, 'first_response', "
            f"'bench', {target}, false, s, s + make_interval(secs => {warn}), s + make_interval(secs => {target}), "
            f"s + make_interval(secs => {warn}), 0, now() "
            f"FROM generate_series(0, {n - 1}) AS g, LATERAL (SELECT {start} AS s) AS x"), {"seed": h.id})
        await conn.execute(sa.text("ANALYZE"))


async def run(args: argparse.Namespace, url: str) -> None:
    from sqlalchemy import event

    from app import build
    from tests.conftest import make_settings

    if True:
        cfg = Path(tempfile.mkdtemp()) / "baton.yaml"
        cfg.write_text(
            "outbox:\n  log_destination: false\n"
            f"sla:\n  tick_seconds: {args.tick}\n  batch_size: {args.batch}\n"
            "  bumps: {long_wait: null, frustration: false, repeat_escalation: false}\n"
            "  on_breach: {reroute: false, notify_supervisor: false}\n"
            "  management: {words: [], plans: []}\n")
        rt = build(make_settings(url, BATON_CONFIG=str(cfg)), with_log=False, integrations=[])
        await seed(rt, args.open, args.window, args.target)
        statements = [0]

        def count(*_: Any) -> None:
            statements[0] += 1

        event.listen(rt.engine.sync_engine, "before_cursor_execute", count)
        ticks: list[tuple[float, int, int]] = []  # (seconds, statements, clocks handled)
        real_tick = rt.sla.tick

        async def timed() -> int:
            s0, t0 = statements[0], time.perf_counter()
            handled = await real_tick()
            ticks.append((time.perf_counter() - t0, statements[0] - s0, handled))
            return handled

        rt.ticks.ticks["sla"].fn = timed
        rt.ticks.ticks.pop("customer-updates", None)  # the SLA tick alone (no customer integration here)
        started = time.monotonic()
        rt.ticks.start()
        try:
            deadline = started + args.window + args.target * 0.2 + 60
            while time.monotonic() < deadline:
                await asyncio.sleep(1)
                async with rt.engine.connect() as conn:
                    from sqlalchemy import text

                    left = (await conn.execute(text("SELECT count(*) FROM sla_clocks WHERE next_at IS NOT NULL"))
                            ).scalar_one()
                if left == 0:
                    break
            await asyncio.sleep(3 * args.tick)  # a few idle ticks: what a tick costs when nothing is due
        finally:
            rt.ticks.shutdown()
        async with rt.engine.connect() as conn:
            from sqlalchemy import text

            rows = (await conn.execute(text(
                "SELECT extract(epoch FROM warned_at - warn_at), extract(epoch FROM breached_at - due_at) "
                "FROM sla_clocks WHERE kind = 'first_response'"))).all()
            kinds = dict((await conn.execute(text(
                "SELECT kind, count(*) FROM events WHERE kind IN ('sla_warning', 'sla_breached') GROUP BY kind"))
                         ).all())
        await rt.engine.dispose()
    warn = [float(r[0]) for r in rows if r[0] is not None]
    breach = [float(r[1]) for r in rows if r[1] is not None]
    both = warn + breach
    busy = [t for t in ticks if t[2] > 0]
    idle = [t for t in ticks if t[2] == 0]
    print(f"open handoffs: {args.open}; clocks due over {args.window:g} s; tick every {args.tick:g} s, "
          f"batch {args.batch}")
    print(f"fired: {len(warn)} warnings, {len(breach)} breaches (events: {kinds}); missing: "
          f"{2 * len(rows) - len(both)}")
    worst = max(both) if both else float("nan")
    print(f"lateness (s): p50 {pct(both, 50):.3f}  p99 {pct(both, 99):.3f}  max {worst:.3f}"
          f"  (warnings p99 {pct(warn, 99):.3f}, breaches p99 {pct(breach, 99):.3f})  target p99 <= 2 s")
    if busy:
        print(f"busy ticks: {len(busy)}; per tick mean {statistics.fmean(t[0] for t in busy) * 1000:.0f} ms, "
              f"p99 {pct([t[0] for t in busy], 99) * 1000:.0f} ms, {statistics.fmean(t[1] for t in busy):.0f} "
              f"statements for {statistics.fmean(t[2] for t in busy):.0f} clocks "
              f"({statistics.fmean(t[1] / t[2] for t in busy):.1f} statements/clock)")
    if idle:
        print(f"idle ticks: {len(idle)}; per tick mean {statistics.fmean(t[0] for t in idle) * 1000:.1f} ms, "
              f"{statistics.fmean(t[1] for t in idle):.0f} statements")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--open", type=int, default=10_000)
    ap.add_argument("--window", type=float, default=60.0)
    ap.add_argument("--target", type=float, default=120.0)
    ap.add_argument("--tick", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {os.cpu_count()} cores; PostgreSQL on loopback; one process")
    from handoff.store.migrate import upgrade
    from tests.support.pg import pg_create_database, pg_drop_database

    name = f"baton_bench_sla_{os.getpid()}"
    url = pg_create_database(name)
    try:
        upgrade(url)
        asyncio.run(run(args, url))
    finally:
        pg_drop_database(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
