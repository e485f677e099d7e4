"""Outbox drain rate on PostgreSQL with 1 and 4 dispatcher processes, to an instant destination.

    .venv/bin/python bench/outbox.py [--items 20000] [--per-lane 4] [--workers 1,4]

Items are spread over lanes (``--per-lane`` items per handoff), as the real outbox is. Prints items/s;
asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Instant:
    name = "bench"

    def subscribes(self, event: object) -> bool:
        return True

    async def deliver(self, item: object) -> None:
        return None


async def _seed(url: str, items: int, per_lane: int) -> None:
    from handoff.outbox import OutboxMessage
    from handoff.store.db import create_engine
    from handoff.store.outbox import SqlOutbox

    engine = create_engine(url)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        msgs = [OutboxMessage("bench", "created", f"ho_{i // per_lane:08d}", {"n": i}, f"bench:{i}")
                for i in range(items)]
        for start in range(0, items, 5000):
            await SqlOutbox(conn).enqueue(msgs[start:start + 5000], now)
    await engine.dispose()


def _worker(url: str, start_at: float, out: mp.Queue[int]) -> None:
    from handoff.config import BatonConfig
    from handoff.outbox import OutboxRouting
    from handoff.services.common import Deps
    from handoff.services.dispatcher import Dispatcher
    from handoff.store.db import create_engine
    from handoff.store.uow import SqlUnitOfWork

    async def go() -> int:
        engine = create_engine(url)
        routing = OutboxRouting((Instant(),))
        deps = Deps(uow=lambda read_only=False, autocommit=False: SqlUnitOfWork(engine, routing, read_only=read_only,
                                                                                 autocommit=autocommit),
                    config=BatonConfig())
        dispatcher = Dispatcher(deps, [Instant()])
        delivered = 0
        idle = 0
        while time.time() < start_at:
            await asyncio.sleep(0.001)
        while idle < 3:
            n = await dispatcher.drain_once()
            delivered += n
            idle = idle + 1 if n == 0 else 0
            if n == 0:
                await asyncio.sleep(0.02)
        await engine.dispose()
        return delivered

    out.put(asyncio.run(go()))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=20000)
    ap.add_argument("--per-lane", type=int, default=4)
    ap.add_argument("--workers", default="1,4")
    args = ap.parse_args()
    from handoff.store.migrate import upgrade
    from tests.support.pg import pg_create_database, pg_drop_database

    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {os.cpu_count()} cores; PostgreSQL on loopback; batch 200 heads (+ up to 49 followers per lane)")
    for workers in (int(w) for w in args.workers.split(",")):
        name = f"baton_bench_outbox_{os.getpid()}"
        url = pg_create_database(name)
        try:
            upgrade(url)
            asyncio.run(_seed(url, args.items, args.per_lane))
            ctx = mp.get_context("spawn")
            q: mp.Queue[int] = ctx.Queue()
            start_at = time.time() + 3.0
            procs = [ctx.Process(target=_worker, args=(url, start_at, q)) for _ in range(workers)]
            for p in procs:
                p.start()
            counts = [q.get(timeout=600) for _ in procs]
            for p in procs:
                p.join()
            elapsed = time.time() - start_at - 0.06  # minus the idle polls that end each worker
            print(f"{workers} dispatcher process(es): {sum(counts)} items in {elapsed:.2f} s = "
                  f"{sum(counts) / elapsed:,.0f} items/s  (per worker: {counts})")
        finally:
            pg_drop_database(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
