"""How Baton's cost grows with the backlog: intake, status and idle cost with 100 … 50,000 handoffs waiting.

    .venv/bin/python bench/backlog.py [--backlogs 100,10000,50000] [--requests 1000] [--concurrency 16]

For each backlog size: a fresh PostgreSQL database; one real handoff taken in through the service, then cloned
in SQL (``INSERT … SELECT … generate_series``) into N queued handoffs with their events, schedules and SLA clocks,
spread over the last hours, so the queue looks like an incident's; then a real uvicorn serving Baton is measured:
intake rate, p99 and CPU per handoff (``--listening``: the share of waiting customers with the widget open, who
get scheduled updates); the customer status endpoint's p99 (random waiting handoffs, their real
tokens); service CPU with no traffic; how many customer-update schedules are overdue (is the update scheduler
keeping up?); the server's RSS. Server stderr goes to a file (printed on failure), never to an unread pipe.

Prints one table row per backlog; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.intake import KEY, _cpu_seconds, _database, _postgres_pids, _stderr, _tree, _uvicorn, _wait  # noqa: E402
from bench.loadgen import Result, post_request, run  # noqa: E402
from tests.support.factories import intake_body  # noqa: E402
from tests.support.server import free_port  # noqa: E402

# Columns given new values in the clones; every other column is copied from the seed row as it is.
_CLONED = {
    "handoffs": {"id": "'ho_bl' || lpad(g::text, 8, '0')", "conversation_id": "'bl-' || g",
                 "customer_token": "md5(g::text || 'tok')",
                 "created_at": "now() - (g * interval '250 milliseconds')",
                 "updated_at": "now() - (g * interval '250 milliseconds')",
                 "sla_due_at": "now() - (g * interval '250 milliseconds') + interval '10 minutes'"},
    "events": {"handoff_id": "'ho_bl' || lpad(g::text, 8, '0')", "at": "now() - (g * interval '250 milliseconds')"},
    "customer_updates": {"handoff_id": "'ho_bl' || lpad(g::text, 8, '0')",
                         "due_at": "now() + ((g % 90) * interval '1 second')"},  # the cadence, spread out
    "sla_clocks": {"handoff_id": "'ho_bl' || lpad(g::text, 8, '0')",
                   "started_at": "now() - (g * interval '250 milliseconds')"},
}


async def _seed(url: str, n: int, listening: float) -> None:
    """One handoff through the real intake, then ``n - 1`` clones of it (and of its rows) in SQL; the first
    ``listening`` share of them have the widget open (an update schedule, as a stream or poll makes)."""
    import sqlalchemy as sa

    from app import build
    from handoff.contract import HandoffIn
    from handoff.store import tables as t
    from tests.conftest import make_settings

    rt = build(make_settings(url), with_log=False, integrations=[])
    try:
        h = (await rt.intake.submit(HandoffIn.model_validate(intake_body()))).handoff
        now = rt.deps.now()
        async with rt.deps.uow() as uow:  # the seed's customer has the widget open
            await uow.customer_side.listen(h.id, until=now + timedelta(hours=2), first_due=now, now=now)
            await uow.commit()
        async with rt.engine.begin() as conn:
            for table, changed in _CLONED.items():
                if table not in t.Base.metadata.tables:
                    continue
                tab = t.Base.metadata.tables[table]
                cols = [c.name for c in tab.columns if not (c.primary_key and c.autoincrement is True
                                                           and table != "handoffs" and table != "customer_updates")]
                if table == "events" or table == "sla_clocks":
                    cols = [c for c in cols if c != "id"]
                exprs = [changed.get(c, f'"{c}"') for c in cols]
                key = "id" if table == "handoffs" else "handoff_id"
                copies = round((n - 1) * listening) if table == "customer_updates" else n - 1
                await conn.execute(sa.text(
                    f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM {table} "
                    f"CROSS JOIN generate_series(1, {copies}) AS g WHERE {table}.{key} = :seed"), {"seed": h.id})
        # A backlog that built up over an incident has been vacuumed by autovacuum as it grew (visibility map
        # set, statistics fresh); one cloned a second ago has not, and autovacuum would run on 50,000 new rows of
        # six tables inside the measurement. VACUUM cannot run in a transaction: a plain connection.
        import asyncpg

        plain = await asyncpg.connect(url)
        try:
            await plain.execute("VACUUM ANALYZE")
        finally:
            await plain.close()
    finally:
        await rt.engine.dispose()


async def _tokens(url: str, k: int) -> list[tuple[str, str]]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT id, customer_token FROM handoffs WHERE status = 'queued' "
                                "ORDER BY random() LIMIT $1", k)
        return [(r["id"], r["customer_token"]) for r in rows]
    finally:
        await conn.close()


async def _overdue(url: str, seconds: float) -> tuple[int, int]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        late = await conn.fetchval(
            "SELECT count(*) FROM customer_updates WHERE due_at < now() - make_interval(secs => $1)", seconds)
        waiting = await conn.fetchval("SELECT count(*) FROM handoffs WHERE status = 'queued'")
        return int(late or 0), int(waiting or 0)
    finally:
        await conn.close()


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _get(path: str, host: str, token: str) -> bytes:
    return "\r\n".join([f"GET {path} HTTP/1.1", f"Host: {host}", f"Authorization: Bearer {token}", "", ""]).encode()


def _row(backlog: int, args: argparse.Namespace, base_env: dict[str, str], cfg: Path) -> dict[str, Any]:
    url, cleanup = _database("postgresql", f"bl{backlog}")
    try:
        from handoff.store.migrate import upgrade

        upgrade(url)
        asyncio.run(_seed(url, backlog, args.listening))
        env = {**base_env, "DATABASE_URL": url, "BATON_API_KEYS": KEY, "BATON_LOG_LEVEL": "WARNING",
               "BATON_CONFIG": str(cfg), "BATON_APP_FACTORY": "1"}
        port = free_port()
        proc = _uvicorn("bench.baton_app:app", port, env, 1)
        try:
            _wait(port, proc)
            time.sleep(args.settle)  # the first ticks see the whole backlog: let them run before measuring
            pids = _tree(proc.pid)
            cpu0, t0 = _cpu_seconds(pids), time.monotonic()
            time.sleep(args.idle)
            idle = (_cpu_seconds(pids) - cpu0) / (time.monotonic() - t0)
            late, waiting = asyncio.run(_overdue(url, 30))
            prefix = uuid.uuid4().hex[:8]
            template = intake_body()

            def make(i: int) -> bytes:
                body = dict(template, conversation_id=f"bl-{prefix}-{i}",
                            customer={**template["customer"], "email": f"bl-{prefix}-{i}@example.com"})
                return post_request("/v1/handoffs", f"127.0.0.1:{port}", json.dumps(body).encode(),
                                    {"Authorization": f"Bearer {KEY}"})

            cpu0, pg0 = _cpu_seconds(pids), _cpu_seconds(_postgres_pids())
            res: Result = asyncio.run(run("127.0.0.1", port, make, total=args.requests,
                                          concurrency=args.concurrency))
            cpu_ms = (_cpu_seconds(pids) - cpu0) / args.requests * 1000
            db_ms = (_cpu_seconds(_postgres_pids()) - pg0) / args.requests * 1000
            tokens = asyncio.run(_tokens(url, 200))
            rnd = random.Random(7)

            def status(i: int) -> bytes:
                hid, tok = tokens[rnd.randrange(len(tokens))]
                return _get(f"/v1/handoffs/{hid}/status", f"127.0.0.1:{port}", tok)

            st: Result = asyncio.run(run("127.0.0.1", port, status, total=args.status_requests, concurrency=8))
            return {"backlog": waiting, "rate": res.rate, "p99": res.pct(99), "cpu": cpu_ms, "db": db_ms,
                    "idle": idle * 100, "status_p99": st.pct(99), "statuses": {**res.statuses, **st.statuses},
                    "late": late, "rss": _rss_mb(pids)}
        except Exception:
            print(_stderr(proc), file=sys.stderr)
            raise
        finally:
            proc.terminate()
            proc.wait(30)
    finally:
        cleanup()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backlogs", default="100,10000,50000")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--status-requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--listening", type=float, default=0.2,
                    help="share of the waiting customers with the widget open (they get scheduled updates)")
    ap.add_argument("--settle", type=float, default=10.0, help="seconds after start before measuring")
    ap.add_argument("--idle", type=float, default=10.0, help="seconds of no traffic to measure idle CPU")
    args = ap.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {os.cpu_count()} cores; PostgreSQL on loopback; one uvicorn process; {args.requests} intakes at "
          f"{args.concurrency} connections; {args.status_requests} status reads at 8; "
          f"{args.listening:.0%} of the waiting customers have the widget open")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("BATON_", "SLACK_", "HUBSPOT_"))}
    cfg = Path(tempfile.mkdtemp()) / "baton.yaml"
    cfg.write_text("outbox:\n  log_destination: false\n")
    print(f"{'queued':>8} | {'intake/s':>8} | {'p99 ms':>7} | {'CPU ms/handoff':>14} | {'PG ms':>6} | "
          f"{'idle CPU':>8} | {'status p99':>10} | {'overdue updates':>15} | {'RSS MB':>6} | statuses")
    for n in (int(x) for x in args.backlogs.split(",")):
        r = _row(n, args, base_env, cfg)
        print(f"{r['backlog']:>8} | {r['rate']:>8.0f} | {r['p99']:>7.0f} | {r['cpu']:>14.1f} | {r['db']:>6.1f} | "
              f"{r['idle']:>7.0f}% | {r['status_p99']:>8.0f} ms | {r['late']:>15} | {r['rss']:>6.0f} | {r['statuses']}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
