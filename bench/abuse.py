"""Abusive clients against a real ``app.py serve`` on loopback (issue #10 items 4-6); prints figures, asserts nothing.

    .venv/bin/python bench/abuse.py [--db postgresql|sqlite] [--streams 997] [--uploads 300] [--slowloris 500]

Scenarios, each a bounded loop: one customer token opening ``--streams`` SSE streams; idle streams of many
customers; ``--uploads`` slow unauthenticated ~900 KB uploads; ``--slowloris`` connections whose headers never
end; a burst of 60 messages from one customer. Around each: the server's RSS (``/proc``), its pool use
(``/readyz``), active PostgreSQL backends (``pg_stat_activity``), and another client's intake latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.support.factories import intake_body  # noqa: E402
from tests.support.server import free_port  # noqa: E402

KEY = "abuse-key-0123456789abcdef"
HEADERS = {"Authorization": f"Bearer {KEY}"}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    def __init__(self, db: str, tmp: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.pg_name: str | None = None
        if db == "postgresql":
            from tests.support.pg import pg_create_database

            self.pg_name = f"baton_abuse_{uuid.uuid4().hex[:8]}"
            url = pg_create_database(self.pg_name)
        else:
            url = f"sqlite:///{tmp / 'abuse.db'}"
        self.url = url
        cfg = tmp / "baton.yaml"
        cfg.write_text("outbox: {log_destination: false}\n")
        env = {**os.environ, "DATABASE_URL": url, "BATON_API_KEYS": KEY, "BATON_PORT": str(self.port),
               "BATON_CONFIG": str(cfg), "BATON_AUTO_MIGRATE": "1", "BATON_LOG_LEVEL": "WARNING"}
        self.proc = subprocess.Popen([sys.executable, "app.py", "serve"], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def pool(self) -> str:
        try:
            return str(httpx.get(f"{self.base}/readyz", timeout=10).json().get("database_pool"))
        except httpx.HTTPError as exc:
            return f"readyz failed: {type(exc).__name__}"

    async def pg_active(self) -> int | None:
        if self.pg_name is None:
            return None
        import asyncpg

        from tests.support.pg import PG_ADMIN_URL

        conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql://", "postgres://"))
        try:
            return int(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND "
                                           "state <> 'idle'", self.pg_name))
        finally:
            await conn.close()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)
        if self.pg_name:
            from tests.support.pg import pg_drop_database

            pg_drop_database(self.pg_name)


async def intake_latency(base: str, n: int = 20) -> str:
    """Another client's intakes, one after another: p50 / max in seconds, and the statuses."""
    lat, codes = [], []
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=60) as c:
        for _ in range(n):
            t0 = time.perf_counter()
            r = await c.post("/v1/handoffs", json=intake_body())
            lat.append(time.perf_counter() - t0)
            codes.append(r.status_code)
    return f"p50 {statistics.median(lat):.3f} s, max {max(lat):.3f} s, statuses {sorted(set(codes))}"


async def status_line(reader: asyncio.StreamReader, wait: float) -> int | None:
    try:
        line = await asyncio.wait_for(reader.readline(), wait)
    except (TimeoutError, ConnectionError):
        return None
    return int(line.split()[1]) if line.startswith(b"HTTP/") else None


async def open_streams(port: int, paths: list[str]) -> tuple[dict[int, int], list[asyncio.StreamWriter]]:
    async def one(path: str) -> tuple[int | None, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode())
        return await status_line(reader, 30), writer

    results = await asyncio.gather(*(one(p) for p in paths))
    counts: dict[int, int] = {}
    for code, _ in results:
        counts[code or 0] = counts.get(code or 0, 0) + 1
    return counts, [w for _, w in results]


async def new_handoff(base: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=30) as c:
        return dict((await c.post("/v1/handoffs", json=intake_body())).json())


async def scenario_streams(s: Server, n: int) -> None:
    h = await new_handoff(s.base)
    counts, writers = await open_streams(s.port, [f"/v1/handoffs/{h['id']}/events?token={h['customer_token']}"] * n)
    print(f"  {n} streams on one token: statuses {counts}; RSS {rss_mb(s.proc.pid):.0f} MB; pool {s.pool()}; "
          f"pg active {await s.pg_active()}")
    print(f"  another client's intake meanwhile: {await intake_latency(s.base)}")
    for w in writers:
        w.close()
    # Idle streams of many customers (the per-address cap allows 50 from one address).
    hs = [await new_handoff(s.base) for _ in range(10)]
    paths = [f"/v1/handoffs/{x['id']}/events?token={x['customer_token']}" for x in hs for _ in range(5)]
    await asyncio.sleep(1)
    counts, writers = await open_streams(s.port, paths)
    await asyncio.sleep(2)
    pools = []
    for _ in range(10):
        pools.append(s.pool())
        await asyncio.sleep(0.3)
    print(f"  {len(paths)} idle streams of 10 customers: statuses {counts}; pool samples {sorted(set(pools))} "
          f"(readyz's own check is not counted); pg active {await s.pg_active()}")
    for w in writers:
        w.close()


async def scenario_uploads(s: Server, n: int, size: int = 900 * 1024) -> None:
    before = rss_mb(s.proc.pid)
    peak = before

    async def one() -> tuple[int | None, int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", s.port)
        writer.write(f"POST /v1/handoffs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {size}\r\n\r\n".encode())
        sent = 0
        code = None
        try:
            while sent < size and code is None:
                writer.write(b" " * 8192)
                sent += 8192
                await writer.drain()
                code = await status_line(reader, 0.2)
        except ConnectionError:
            pass
        writer.close()
        return code, sent

    task = asyncio.gather(*(one() for _ in range(n)))
    while not task.done():
        peak = max(peak, rss_mb(s.proc.pid))
        await asyncio.sleep(0.1)
    results = task.result()
    codes: dict[int, int] = {}
    for code, _ in results:
        codes[code or 0] = codes.get(code or 0, 0) + 1
    most = max(sent for _, sent in results)
    print(f"  {n} slow unauthenticated {size // 1024} KB uploads: statuses {codes}; most sent before the answer "
          f"{most // 1024} KB; RSS {before:.0f} → peak {peak:.0f} MB")


async def scenario_slowloris(s: Server, n: int) -> None:
    writers, readers = [], []
    for _ in range(n):
        reader, writer = await asyncio.open_connection("127.0.0.1", s.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")  # never the blank line
        writers.append(writer)
        readers.append(reader)
    t0 = time.monotonic()
    async with httpx.AsyncClient(base_url=s.base, timeout=30) as c:
        r = await c.get("/healthz")
        meanwhile = f"{r.status_code} in {time.monotonic() - t0:.3f} s"

    async def closed(reader: asyncio.StreamReader) -> float | None:
        try:
            data = await asyncio.wait_for(reader.read(), 30)
        except (TimeoutError, ConnectionError):
            return None
        return time.monotonic() - t0 if data == b"" or data else None

    times = [t for t in await asyncio.gather(*(closed(r) for r in readers)) if t is not None]
    print(f"  {n} slowloris connections: {len(times)} closed by the server, the last after "
          f"{max(times) if times else float('nan'):.1f} s; a normal request meanwhile: {meanwhile}; "
          f"RSS {rss_mb(s.proc.pid):.0f} MB")
    for w in writers:
        w.close()


async def scenario_messages(s: Server, n: int = 60) -> None:
    a, b = await new_handoff(s.base), await new_handoff(s.base)
    async with httpx.AsyncClient(base_url=s.base, timeout=30) as c:
        t0 = time.perf_counter()
        rs = await asyncio.gather(*(c.post(f"/v1/handoffs/{a['id']}/messages", json={"text": f"spam {i}"},
                                           params={"token": a["customer_token"]}) for i in range(n)))
        elapsed = time.perf_counter() - t0
        t1 = time.perf_counter()
        other = await c.post(f"/v1/handoffs/{b['id']}/messages", json={"text": "hello"},
                             params={"token": b["customer_token"]})
        other_s = time.perf_counter() - t1
    codes: dict[int, int] = {}
    for r in rs:
        codes[r.status_code] = codes.get(r.status_code, 0) + 1
    retry = next((r.headers.get("Retry-After") for r in rs if r.status_code == 429), None)
    print(f"  {n} messages from one customer in {elapsed:.2f} s: statuses {codes} (Retry-After {retry}); "
          f"another customer's message: {other.status_code} in {other_s:.3f} s")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="postgresql", choices=["postgresql", "sqlite"])
    ap.add_argument("--streams", type=int, default=997)
    ap.add_argument("--uploads", type=int, default=300)
    ap.add_argument("--slowloris", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        s = Server(args.db, Path(tmp))
        try:
            print(f"Baton on {args.db}, pid {s.proc.pid}, RSS at start {rss_mb(s.proc.pid):.0f} MB; "
                  f"pool {s.pool()}")
            print(f"  baseline intake: {asyncio.run(intake_latency(s.base))}")
            for name, run in (("SSE", lambda: scenario_streams(s, args.streams)),
                              ("uploads", lambda: scenario_uploads(s, args.uploads)),
                              ("slowloris", lambda: scenario_slowloris(s, args.slowloris)),
                              ("messages", lambda: scenario_messages(s))):
                print(f"{name}:")
                asyncio.run(run())
            print(f"after all: RSS {rss_mb(s.proc.pid):.0f} MB; pool {s.pool()}; "
                  f"readyz {json.dumps(httpx.get(f'{s.base}/readyz', timeout=10).json())[:200]}")
        finally:
            s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
