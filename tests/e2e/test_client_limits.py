"""Abusive clients on a real uvicorn (the options of ``app.py serve``): slowloris, slow unauthenticated uploads,
trickling bodies, API floods. Each is refused early and in the one error shape; nobody waits on a clock here
except the server's own deadlines, which are set short."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import API_KEY, make_settings
from tests.support.factories import intake_body
from tests.support.server import serve_in_thread

LIMITS = """
outbox: {log_destination: false}
limits:
  header_read_seconds: 1
  body_read_seconds: 1
  max_header_bytes: 8192
  api: {per_second: 2, burst: 3}
"""


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[str, int]]:
    from app import build, create_app
    from bot.web.server import uvicorn_options

    cfg = tmp_path / "baton.yaml"
    cfg.write_text(LIMITS)
    rt = build(make_settings(sqlite_url, BATON_CONFIG=str(cfg)), with_log=False, integrations=[])
    with serve_in_thread(create_app(rt, run_dispatcher=False), **uvicorn_options(rt.config.limits)) as base:
        yield base, int(base.rsplit(":", 1)[1])


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _read_response(s: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _closed_by_server(s: socket.socket) -> bool:
    """True when the server closed the connection (EOF or reset) before our 10 s socket timeout."""
    try:
        while True:
            if not s.recv(4096):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_slowloris_connection_is_closed_when_headers_never_finish(server: tuple[str, int]) -> None:
    _, port = server
    with _connect(port) as quiet, _connect(port) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        for _ in range(3):
            slow.sendall(b"X-Slow: a\r\n")  # trickling header lines do not extend the deadline
        assert _closed_by_server(slow)
        assert _closed_by_server(quiet)  # a connection that sends nothing at all is closed too
    with _connect(port) as ok:  # a complete request on a new connection is served as usual
        ok.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, _, body = _read_response(ok)
        assert status == 200 and json.loads(body) == {"status": "ok"}


def test_oversized_headers_get_431_and_close(server: tuple[str, int]) -> None:
    _, port = server
    with _connect(port) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Big: " + b"a" * 20_000 + b"\r\n")
        status, _, _ = _read_response(s)
        assert status == 431
        assert _closed_by_server(s)


def _upload_slowly(port: int, path: str, headers: str, total: int, chunk: int = 8192) -> tuple[int, int, bytes]:
    """Send ``total`` body bytes in chunks, looking for an answer between chunks: (status, bytes sent, body)."""
    with _connect(port) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {total}\r\n{headers}\r\n".encode())
        sent = 0
        while sent < total:
            readable, _, _ = select.select([s], [], [], 0.05)
            if readable:
                break
            try:
                s.sendall(b" " * min(chunk, total - sent))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += min(chunk, total - sent)
        status, _, body = _read_response(s)
        return status, sent, body


def test_unauthenticated_slow_upload_is_refused_from_the_headers(server: tuple[str, int]) -> None:
    _, port = server
    for auth in ("", "Authorization: Bearer wrong-key\r\n"):
        status, sent, body = _upload_slowly(port, "/v1/handoffs", auth, 900 * 1024)
        assert status == 401
        assert sent < 64 * 1024  # the answer came before the client got far; the server read less than that
        err = json.loads(body)
        assert err["error"] == "unauthorized" and err["message"]


def test_a_body_that_trickles_past_the_deadline_gets_408(server: tuple[str, int]) -> None:
    _, port = server
    with _connect(port) as s:
        s.sendall(f"POST /v1/handoffs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_KEY}\r\n"
                  "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"source\"".encode())
        status, headers, body = _read_response(s)
        assert status == 408 and headers.get("connection") == "close"
        assert json.loads(body)["error"] == "request_timeout"
        assert _closed_by_server(s)


def test_api_key_rate_limit_answers_429_then_recovers(server: tuple[str, int]) -> None:
    base, _ = server
    key = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=base, timeout=10) as c:
        for _ in range(5):  # unknown keys are refused before they can spend anyone's budget
            assert c.get("/v1/agents", headers={"Authorization": "Bearer nope"}).status_code == 401
        answers = [c.get("/v1/agents", headers=key) for _ in range(4)]
        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        limited = answers[-1]
        err: dict[str, Any] = limited.json()
        assert err["error"] == "rate_limited" and err["details"]["retry_after"] >= 1
        retry_after = int(limited.headers["Retry-After"])
        # A flood of bodies is refused before they are read, too.
        r = c.post("/v1/handoffs", json=intake_body(), headers=key)
        assert r.status_code == 429
        time.sleep(retry_after)
        assert c.get("/v1/agents", headers=key).status_code == 200
