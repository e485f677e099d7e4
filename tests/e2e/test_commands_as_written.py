"""README commands run as printed from the clone's root: the system Python re-enters .venv; dev.py run stops cleanly.

``python3 app.py …`` started by an interpreter outside ``.venv`` re-executes itself inside it, and ``python3 dev.py
run`` becomes the service (exec), so Ctrl-C or SIGTERM reaches the server and nothing stays on the port.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
# The interpreter the venv was made from: "the system Python" a newcomer types `python3` for.
SYSTEM_PY = Path(sys.base_prefix) / "bin" / "python3"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "TEAMS_", "SALESFORCE_", "HUBSPOT_", "BATON_", "VIRTUAL_ENV"))}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}", **extra})
    return env


def _needs_system_python() -> None:
    if not SYSTEM_PY.exists() or not (VENV / "bin" / "python").exists():
        pytest.skip("needs the interpreter .venv was made from and .venv itself")
    if Path(sys.prefix).resolve() != VENV.resolve():
        pytest.skip("the suite is not running inside this clone's .venv")


def _readme_commands() -> list[str]:
    """Every `python3 app.py …` line inside README's shell code blocks, without its trailing comment."""
    lines, fence = [], None
    for raw in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if raw.startswith("```"):
            fence = None if fence is not None else (raw[3:].strip() or "text")
            continue
        if fence in ("bash", "sh", "console"):
            line = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
            if re.match(r"^(\w+=\S+\s+)*python3 app\.py\b", line):
                lines.append(line)
    return lines


def test_readme_command_lines_are_real_commands() -> None:
    """Each command line the README prints parses with the real parser (no usage syntax like `[--x]` or `a | b`)."""
    from app import build_parser

    lines = _readme_commands()
    assert len(lines) >= 8, lines
    parser = build_parser()
    for line in lines:
        words = shlex.split(line)
        argv = words[words.index("app.py") + 1:]
        assert not any(w.startswith("[") or w == "|" for w in argv), f"usage syntax, not a command: {line}"
        try:
            parser.parse_args(argv)
        except SystemExit as exc:  # argparse exits on a bad command line
            raise AssertionError(f"README command does not parse: {line}") from exc


def test_system_python_re_executes_inside_the_venv(tmp_path: Path) -> None:
    _needs_system_python()
    env = _env(tmp_path)
    probe = subprocess.run([str(SYSTEM_PY), "-c", "import fastapi"], capture_output=True, env=env)
    r = subprocess.run([str(SYSTEM_PY), "app.py", "rules", "check"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("rules OK"), r.stdout
    r = subprocess.run([str(SYSTEM_PY), "app.py", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and "is at revision" in r.stdout, r.stdout + r.stderr
    if probe.returncode == 0:
        pytest.skip("the system Python has Baton's dependencies itself: the re-exec was not needed to pass")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_dev_run_stops_the_service_it_started(tmp_path: Path, sig: signal.Signals) -> None:
    _needs_system_python()
    port = free_port()
    env = _env(tmp_path, BATON_PORT=str(port), BATON_API_KEYS="k-dev-run")
    proc = subprocess.Popen([str(SYSTEM_PY), "dev.py", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        else:
            raise AssertionError("dev.py run did not serve /healthz in 120 s")
        os.kill(proc.pid, sig)  # only the pid we started: no process-group kill that would hide an orphan
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # uvicorn exits 0, or re-raises the signal it handled after a clean shutdown (so a parent sees it).
    assert proc.returncode in (0, -sig), out
    assert "stopped cleanly" in out
    assert not _port_open(port), f"something still listens on {port} after dev.py run stopped"
