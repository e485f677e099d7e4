"""Two real Baton processes (``python app.py serve``) on one PostgreSQL with short SLA targets: every warning and
breach is acted on exactly once (the fake Slack counts the posts), and a process killed with SIGKILL mid-run and
started again loses no deadline and doubles none."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import API_KEY
from tests.fakes.slack_api import FakeSlack
from tests.slack.harness import EMMA, LIAM, TECH, card_handoff, card_text, seed_workspace, write_config
from tests.support.factories import intake_body
from tests.support.server import free_port, stop_all, wait_up

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
N = 16


def _config(tmp: Path) -> Path:
    path = write_config(tmp, burst_threshold=1000)
    cfg = yaml.safe_load(path.read_text())
    cfg["queues"]["technical"]["supervisor"] = "liam"
    cfg["sla"] = {"tick_seconds": 0.25,
                  "priorities": {p: {"first_response": "6s"} for p in ("critical", "high", "medium", "low")},
                  "bumps": {"long_wait": None, "frustration": False, "repeat_escalation": False},
                  "on_breach": {"reroute": False}, "management": {"words": [], "plans": []}}
    path.write_text(yaml.safe_dump(cfg))
    return path


def _serve(url: str, fake: FakeSlack, config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "BATON_CONFIG": str(config), "BATON_PORT": str(port),
           "BATON_API_KEYS": API_KEY, "BATON_AUTO_MIGRATE": "0", "BATON_LOG_LEVEL": "WARNING",
           "SLACK_BOT_TOKEN": fake.token, "SLACK_SIGNING_SECRET": fake.signing_secret,
           "SLACK_API_URL": fake.base_url, "BATON_NO_VENV": "1"}
    env.pop("BATON_TEST_PG", None)
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "app.py", "serve"], cwd=ROOT, env=env, stdout=out, stderr=out)


async def _actions(url: str) -> dict[str, list[str]]:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT handoff_id, kind FROM events WHERE kind IN ('sla_warning', 'sla_breached') "
                                "ORDER BY id")
    finally:
        await conn.close()
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["handoff_id"], []).append(r["kind"])
    return out


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(rate_limiting=False) as fake:
        seed_workspace(fake)
        yield fake


def _posts(fake: FakeSlack, marker: str) -> dict[str, int]:
    """Thread posts per handoff whose text has ``marker`` (e.g. "SLA warning")."""
    cards = {m["ts"]: card_handoff(m) for m in fake.messages(TECH) if card_handoff(m)}
    counts: dict[str, int] = {}
    for ts, hid in cards.items():
        counts[str(hid)] = sum(marker in card_text(m) for m in fake.thread(TECH, ts))
    return counts


def test_two_processes_act_on_each_deadline_once_and_a_killed_one_loses_nothing(
        pg_url: str, tmp_path: Path, fake: FakeSlack) -> None:
    from handoff.store.migrate import upgrade

    upgrade(pg_url)
    config = _config(tmp_path)
    ports = [free_port(), free_port()]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs: list[Any] = [_serve(pg_url, fake, config, p, lg) for p, lg in zip(ports, logs, strict=True)]
    try:
        for proc, port, lg in zip(procs, ports, logs, strict=True):
            wait_up(port, proc, lg)
        ids = []
        with httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30) as http:
            for i in range(N):
                port = ports[i % 2]
                r = http.post(f"http://127.0.0.1:{port}/v1/handoffs", json=intake_body())
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])
                time.sleep(0.4)  # deadlines spread over ~6 s, so the kill below lands in the middle of them
        # Some warnings have fired by now (at 4.8 s after each intake); kill one process without warning.
        deadline = time.monotonic() + 30
        while not asyncio.run(_actions(pg_url)) and time.monotonic() < deadline:
            time.sleep(0.1)
        procs[1].send_signal(signal.SIGKILL)
        procs[1].wait(10)
        time.sleep(1.0)
        procs[1] = _serve(pg_url, fake, config, ports[1], logs[1])
        wait_up(ports[1], procs[1], logs[1])
        deadline = time.monotonic() + 180  # generous: on a loaded CI machine the two processes share 2 cores
        while time.monotonic() < deadline:
            acted = asyncio.run(_actions(pg_url))
            warned, breached = _posts(fake, "SLA warning"), _posts(fake, "SLA breached")
            if all(acted.get(h) == ["sla_warning", "sla_breached"] for h in ids) and \
                    all(warned.get(h, 0) >= 1 and breached.get(h, 0) >= 1 for h in ids):
                break
            time.sleep(0.2)
        acted = asyncio.run(_actions(pg_url))
        assert {h: acted.get(h) for h in ids} == {h: ["sla_warning", "sla_breached"] for h in ids}  # exactly once
        warned, breached = _posts(fake, "SLA warning"), _posts(fake, "SLA breached")
        dms = [c for c in fake.calls_to("chat.postMessage", ok=True) if c.args.get("channel") == LIAM]
        # Slack side effects go through the outbox (at-least-once): a process killed between a post and its
        # bookkeeping may repeat the posts it had in flight when they are redelivered — never none, and never
        # more than what one killed process can have in flight (its lanes' current items).
        assert all(warned.get(h, 0) >= 1 and breached.get(h, 0) >= 1 for h in ids), (warned, breached)
        assert sum(warned.values()) + sum(breached.values()) <= 2 * N + 3, (warned, breached)
        assert N <= len(dms) <= N + 3
        assert all(f"<@{EMMA}>" in card_text(m) for ts in {m["ts"] for m in fake.messages(TECH)}
                   for m in fake.thread(TECH, ts) if "SLA warning" in card_text(m))
    finally:
        stop_all(procs, timeout=20)
