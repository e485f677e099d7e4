"""Intake throughput and latency: ``POST /v1/handoffs`` on a real uvicorn over loopback, SQLite and PostgreSQL,
next to a bare FastAPI + pydantic echo endpoint under the same server settings.

    .venv/bin/python bench/intake.py [--requests 4000] [--concurrency 16] [--db sqlite,postgresql]

Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
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

from bench.loadgen import Result, post_request, run  # noqa: E402
from tests.support.factories import intake_body  # noqa: E402
from tests.support.server import free_port  # noqa: E402

KEY = "bench-key-0123456789"


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {_stderr(proc)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("server did not start")


def _uvicorn(app: str, port: int, env: dict[str, str], workers: int) -> subprocess.Popen[bytes]:
    """Start a server. Its stderr goes to a file, never a pipe: an unread pipe fills up and stalls the server."""
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--log-level",
           "warning", "--no-access-log", "--workers", str(workers)]
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{app.split(':')[0]}-", suffix=".log", delete=False)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    proc.log_path = log.name  # type: ignore[attr-defined]
    return proc


def _stderr(proc: subprocess.Popen[bytes]) -> str:
    path = getattr(proc, "log_path", None)
    return Path(path).read_text(errors="replace")[-4000:] if path else ""


def _cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (Linux /proc), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def _tree(pid: int) -> list[int]:
    """The process and its children (uvicorn --workers N forks)."""
    out = [pid]
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.extend(_tree(int(p.name)))
            except (OSError, IndexError, ValueError):
                continue
    return out


def _postgres_pids() -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "comm").read_text().strip() == "postgres":
                    pids.append(int(p.name))
            except OSError:
                continue
    return pids


def _measure(port: int, total: int, concurrency: int, warmup: int, pid: int | None = None,
             rate: float | None = None) -> Result:
    prefix = uuid.uuid4().hex[:8]
    template = intake_body()

    def make(i: int) -> bytes:
        # Distinct conversations from distinct customers, as real traffic is.
        body = dict(template, conversation_id=f"bench-{prefix}-{i}",
                    customer={**template["customer"], "email": f"customer-{prefix}-{i}@example.com"})
        return post_request("/v1/handoffs", f"127.0.0.1:{port}", json.dumps(body).encode(),
                            {"Authorization": f"Bearer {KEY}"})

    asyncio.run(run("127.0.0.1", port, lambda i: make(i + 10_000_000), total=warmup, concurrency=concurrency))
    server = _tree(pid) if pid else []
    pg = _postgres_pids()
    cpu0, pg0 = _cpu_seconds(server), _cpu_seconds(pg)
    res = asyncio.run(run("127.0.0.1", port, make, total=total, concurrency=concurrency, rate=rate))
    res.server_cpu_ms = (_cpu_seconds(server) - cpu0) / total * 1000 if server else float("nan")
    res.db_cpu_ms = (_cpu_seconds(_postgres_pids()) - pg0) / total * 1000
    return res


def _database(db: str, tag: str) -> tuple[str, Any]:
    """A fresh database for one server: a temporary SQLite file, or a scratch PostgreSQL database (and its cleanup)."""
    if db == "sqlite":
        return f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}", None
    from tests.support.pg import pg_create_database, pg_drop_database

    name = f"baton_bench_{tag}_{os.getpid()}"
    return pg_create_database(name), lambda: pg_drop_database(name)


def _reference(app: str, args: argparse.Namespace, env: dict[str, str], cleanup: Any = None) -> Result:
    """One reference server (``bench.echo_app`` or ``bench.durable_app``) measured at its peak."""
    port = free_port()
    proc = _uvicorn(app, port, env, args.workers)
    try:
        _wait(port, proc)
        return _measure(port, args.requests, args.concurrency, args.warmup, proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
        if cleanup is not None:
            cleanup()


def _durable(args: argparse.Namespace, base_env: dict[str, str]) -> Result:
    """The reference: ``bench/durable_app.py`` (FastAPI + asyncpg, one transaction of Baton's writes)."""
    url, cleanup = _database("postgresql", "ref")
    return _reference("bench.durable_app:app", args, {**base_env, "DATABASE_URL": url}, cleanup)


def _echo(args: argparse.Namespace, base_env: dict[str, str]) -> Result:
    return _reference("bench.echo_app:app", args, base_env)


def _baton(db: str, args: argparse.Namespace, base_env: dict[str, str]) -> tuple[Result, Result | None]:
    """Baton with its default configuration on a fresh database: the peak (closed loop), then open loop at
    ``--paced`` of that peak (latency below saturation)."""
    cfg = Path(tempfile.mkdtemp()) / "baton.yaml"
    cfg.write_text("outbox:\n  log_destination: true\n")
    url, cleanup = _database(db, "baton")
    from handoff.store.migrate import upgrade

    upgrade(url)
    env = {**base_env, "DATABASE_URL": url, "BATON_API_KEYS": KEY, "BATON_LOG_LEVEL": "WARNING",
           "BATON_CONFIG": str(cfg), "BATON_APP_FACTORY": "1"}
    port = free_port()
    proc = _uvicorn("bench.baton_app:app", port, env, args.workers)
    try:
        _wait(port, proc)
        res = _measure(port, args.requests, args.concurrency, args.warmup, proc.pid)
        paced_rate = res.rate * args.paced
        paced = _measure(port, min(args.requests, max(500, int(paced_rate * 10))), 64, 0, proc.pid,
                         rate=paced_rate) if args.paced else None
        return res, paced
    finally:
        proc.terminate()
        proc.wait(30)
        if cleanup:
            cleanup()


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes for both servers")
    ap.add_argument("--paced", type=float, default=0.6,
                    help="then Baton in open loop at this share of its peak rate (latency below saturation; 0: skip)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds, the servers' order rotated each round; medians at the end (a shared VM drifts)")
    args = ap.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
          f"server: {args.workers} uvicorn process(es) (uvloop+httptools), client: raw asyncio keep-alive, "
          f"{args.concurrency} connections, {args.requests} requests after {args.warmup} warm-up, "
          f"{args.rounds} rounds")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("BATON_", "SLACK_", "HUBSPOT_"))}
    dbs = args.db.split(",")
    servers = ["echo", *(["durable"] if "postgresql" in dbs else []), *dbs]
    results: dict[str, list[tuple[Result, Result | None]]] = {k: [] for k in servers}
    for r in range(args.rounds):
        order = servers[r % len(servers):] + servers[:r % len(servers)]
        print(f"round {r + 1}: {', '.join(order)}")
        got: dict[str, tuple[Result, Result | None]] = {}
        for name in order:
            if name == "echo":
                got[name] = (_echo(args, base_env), None)
            elif name == "durable":
                got[name] = (_durable(args, base_env), None)
            else:
                got[name] = _baton(name, args, base_env)
            results[name].append(got[name])
        _print_round(got)
    if args.rounds > 1:
        print(f"median of {args.rounds} rounds:")
        echo_rate = _median([x.rate for x, _ in results["echo"]])
        for name in servers:
            runs = results[name]
            peak = [x for x, _ in runs]
            p99 = _median([x.pct(99) for x in peak])
            line = (f"  {name:<10} {_median([x.rate for x in peak]):6.0f} req/s  p99 {p99:6.1f} ms  "
                    f"service CPU {_median([x.server_cpu_ms for x in peak]):.2f} ms")
            if name not in ("echo", "durable"):
                rate = _median([x.rate for x in peak])
                line += (f", PostgreSQL {_median([x.db_cpu_ms for x in peak]):.2f} ms; {rate / echo_rate:.0%} of bare")
                if name == "postgresql" and results.get("durable"):
                    ratios = [x.rate / d.rate for x, (d, _) in zip(peak, results["durable"], strict=True)]
                    line += f", {_median(ratios):.2f}x the minimal durable intake (median of per-round ratios)"
                paced = [p for _, p in runs if p is not None]
                if paced:
                    line += (f"; open loop at {args.paced:.0%}: p50 {_median([p.pct(50) for p in paced]):.1f} ms,"
                             f" p99 {_median([p.pct(99) for p in paced]):.1f} ms")
            print(line)
    return 0


def _print_round(got: dict[str, tuple[Result, Result | None]]) -> None:
    echo = got["echo"][0]
    durable = got["durable"][0] if "durable" in got else None
    print(f"  {'bare FastAPI+pydantic echo':<28} {echo.summary()}  server CPU {echo.server_cpu_ms:.2f} ms/req")
    if durable is not None:
        print(f"  {'minimal durable intake (PG)':<28} {durable.summary()}  server CPU "
              f"{durable.server_cpu_ms:.2f} ms/req, PostgreSQL {durable.db_cpu_ms:.2f} ms")
    for db, (res, paced) in got.items():
        if db in ("echo", "durable"):
            continue
        ratio = res.rate / echo.rate if echo.rate else 0
        ref = f" = {res.rate / durable.rate:.2f}x the minimal durable intake" if durable and db == "postgresql" else ""
        print(f"  {'baton intake on ' + db:<28} {res.summary()}  = {ratio:.0%} of bare{ref}; CPU per handoff: "
              f"service {res.server_cpu_ms:.2f} ms, PostgreSQL {res.db_cpu_ms:.2f} ms")
        if paced is not None:
            print(f"  {'  … open loop at ' + f'{paced.rate:.0f}/s':<28} {paced.summary()}  CPU per handoff: service "
                  f"{paced.server_cpu_ms:.2f} ms, PostgreSQL {paced.db_cpu_ms:.2f} ms")


if __name__ == "__main__":
    sys.exit(main())
