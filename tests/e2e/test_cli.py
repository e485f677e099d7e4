"""The command line as an admin uses it: serve (start-up report, health, Ctrl-C), migrate, demo, outbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEAMS_", "SALESFORCE_", "HUBSPOT_",
                                                                       "BATON_"))}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}", **extra})
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "app.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def test_serve_reports_integrations_serves_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = _env(tmp_path, BATON_PORT=str(port), BATON_API_KEYS="k-123")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/readyz").json()["migrations"] == "current"
        body = (ROOT / "examples" / "01_wordpress_launch.json").read_bytes()
        r = httpx.post(f"{base}/v1/handoffs", content=body,
                       headers={"Authorization": "Bearer k-123", "Content-Type": "application/json"})
        assert r.status_code == 201, r.text
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "Slack           not configured — set SLACK_BOT_TOKEN" in out
    assert "HubSpot         not configured" in out and "Salesforce      not configured" in out
    assert f"listening on    http://127.0.0.1:{port}" in out
    assert "k-123" not in out  # no secret in the logs
    assert "created by system via api" in out  # the logging destination shows the flow
    assert "stopped cleanly" in out


def test_serve_without_keys_prints_a_dev_key_and_demo_uses_it(tmp_path: Path) -> None:
    port = free_port()
    key_file = ROOT / ".baton-dev-key"
    saved = key_file.read_text() if key_file.exists() else None
    env = _env(tmp_path, BATON_PORT=str(port))
    proc = subprocess.Popen([sys.executable, "app.py", "serve"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        demo = _run(["demo"], env)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        lines = [ln for ln in demo.stdout.splitlines() if "→ ho_" in ln]
        assert len(lines) == len(list((ROOT / "examples").glob("*.json")))
        assert "customer sees:" in demo.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        if saved is None:
            key_file.unlink(missing_ok=True)
        else:
            key_file.write_text(saved)
    assert "dev API key" in out


def test_invalid_config_stops_the_start_and_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("outbox:\n  batch_size: -3\nagents:\n  - id: emma\n    capacity: zero\n")
    r = _run(["serve"], _env(tmp_path, BATON_CONFIG=str(cfg), BATON_API_KEYS="k"))
    assert r.returncode != 0
    assert "outbox.batch_size" in r.stderr and "agents.0.capacity" in r.stderr
    r = _run(["serve"], _env(tmp_path, BATON_PORT="not-a-port"))
    assert r.returncode != 0 and "BATON_PORT" in r.stderr


def test_migrate_and_outbox_commands(tmp_path: Path) -> None:
    env = _env(tmp_path)
    r = _run(["migrate"], env)
    assert r.returncode == 0 and "is at revision" in r.stdout
    r = _run(["outbox", "list"], env)
    assert r.returncode == 0 and "the outbox is empty" in r.stdout
    r = _run(["outbox", "retry", "12345"], env)
    assert r.returncode == 1 and "outbox item 12345 not found" in r.stderr
    r = _run(["outbox", "retry", "abc"], env)
    assert r.returncode == 2 and "'abc' is not an outbox item ID" in r.stderr and "Traceback" not in r.stderr
    r = _run(["outbox", "dead"], env)
    assert r.returncode == 0


def test_agents_cli(tmp_path: Path) -> None:
    env = _env(tmp_path)
    _run(["migrate"], env)
    r = _run(["agents", "set", "U0EMMA", "--status", "away"], env)
    assert r.returncode == 1 and "no agent 'U0EMMA'; add --create" in r.stderr
    assert "U0EMMA" not in _run(["agents", "list"], env).stdout  # a typo creates nobody
    r = _run(["agents", "set", "U0EMMA", "--status", "away", "--skills", "technical,wordpress", "--create"], env)
    assert r.returncode == 0 and "U0EMMA: away" in r.stdout
    r = _run(["agents", "set", "U0EMMA", "--capacity", "5"], env)
    assert r.returncode == 0 and "capacity 5" in r.stdout
    r = _run(["agents", "list"], env)
    assert "U0EMMA" in r.stdout and "away" in r.stdout and "technical,wordpress" in r.stdout


