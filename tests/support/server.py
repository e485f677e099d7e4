"""Run the real ASGI app under a real uvicorn, in a thread, on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_in_thread(app: Any, *, port: int | None = None, **options: Any) -> Iterator[str]:
    """Yield the base URL while uvicorn serves ``app``; shuts it down (lifespan included) on exit.

    ``options`` go to ``uvicorn.Config`` (e.g. ``bot.web.server.uvicorn_options(limits)``, as ``app.py serve``).
    """
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", timeout_graceful_shutdown=10,
                            **{"log_level": "warning", **options})
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn failed to start")
        if time.monotonic() > deadline:
            raise TimeoutError("uvicorn did not start in 20 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def wait_up(port: int, proc: Any, log: Any, timeout: float = 60.0) -> None:
    """Wait until a Baton subprocess on ``port`` answers ``/healthz``; fail with its log's tail if it exits."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"baton exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("baton did not start")


def stop_all(procs: Any, timeout: float = 30.0) -> None:
    """SIGTERM every process still running, wait for each, SIGKILL what does not stop in ``timeout``."""
    import signal
    import subprocess

    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
