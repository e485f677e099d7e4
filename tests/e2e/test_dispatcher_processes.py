"""Real dispatcher processes on one PostgreSQL: killed with SIGKILL mid-drain, and two at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.support.factories import intake_body
from tests.support.http_recorder import HttpRecorderDestination, receiver

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


async def _seed(url: str, n: int) -> None:
    from app import build
    from handoff.contract import HandoffIn

    rt = build(make_settings(url), extra_destinations=[HttpRecorderDestination()], with_log=False,
               integrations=[])
    try:
        for i in range(n):  # distinct customers: one customer escalating 300 times would (rightly) go to management
            await rt.intake.submit(HandoffIn.model_validate(intake_body(customer={"email": f"c{i}@example.com"})))
    finally:
        await rt.engine.dispose()


async def _counts(url: str) -> dict[str, int]:
    from app import build

    rt = build(make_settings(url), with_log=False, integrations=[])
    try:
        async with rt.deps.uow(read_only=True) as uow:
            return dict(await uow.outbox.counts())
    finally:
        await rt.engine.dispose()


def _worker(url: str, receiver_url: str, config: Path, delay: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "RECEIVER_URL": receiver_url, "BATON_CONFIG": str(config),
           "DELIVERY_DELAY": str(delay), "BATON_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "tests.support.worker_main"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _config(tmp_path: Path, lease: float) -> Path:
    p = tmp_path / "baton.yaml"
    p.write_text(f"outbox:\n  batch_size: 25\n  lease_seconds: {lease}\n  poll_seconds: 0.1\n"
                 "  log_destination: false\n")
    return p


def test_sigkill_mid_drain_then_restart_delivers_everything_exactly_once(pg_url: str, tmp_path: Path) -> None:
    n = 300
    asyncio.run(_seed(pg_url, n))
    config = _config(tmp_path, lease=1.5)
    with receiver() as rec:
        first = _worker(pg_url, rec.url, config, delay=0.004)
        try:
            _wait(lambda: rec.total >= 60, 60, "the first worker to deliver 60 items")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        assert first.returncode == -signal.SIGKILL
        delivered_before_kill = len(rec.stored)
        assert 0 < delivered_before_kill < n, "the kill must land mid-drain"
        second = _worker(pg_url, rec.url, config, delay=0.0)
        try:
            _wait(lambda: len(rec.stored) >= n and asyncio.run(_counts(pg_url)) == {"done": n}, 90,
                  "the restarted worker to finish")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
        assert second.returncode == 0, second.stderr.read().decode() if second.stderr else ""
    assert len(rec.stored) == n  # the idempotent receiver holds each item exactly once
    redelivered = [k for k, c in rec.received.items() if c > 1]
    assert len(redelivered) <= 25  # at most the batch in flight when the process died


def test_two_dispatcher_processes_never_deliver_the_same_item_twice(pg_url: str, tmp_path: Path) -> None:
    n = 400
    asyncio.run(_seed(pg_url, n))
    config = _config(tmp_path, lease=60)
    with receiver() as rec:
        workers = [_worker(pg_url, rec.url, config, delay=0.002) for _ in range(2)]
        try:
            _wait(lambda: len(rec.stored) >= n, 90, "both workers to drain the outbox")
            _wait(lambda: asyncio.run(_counts(pg_url)) == {"done": n}, 30, "every item marked done")
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            for w in workers:
                w.wait(20)
        assert all(w.returncode == 0 for w in workers)
    assert len(rec.stored) == n
    assert max(rec.received.values()) == 1, "an item was delivered twice"
