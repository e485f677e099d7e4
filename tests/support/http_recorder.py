"""An idempotent HTTP receiver (like a well-behaved webhook endpoint) and the destination that posts to it.

The receiver counts every request per ``Idempotency-Key`` (to see redeliveries) and stores each key once.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from handoff.models import Event
from handoff.outbox import OutboxItem, RetryLater


class Receiver:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.stored: dict[str, dict[str, Any]] = {}
        self.url = ""

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())


@contextmanager
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            key = self.headers.get("Idempotency-Key", "")
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            with rec.lock:
                rec.received[key] += 1
                rec.stored.setdefault(key, body)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/deliver"
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


class HttpRecorderDestination:
    """Posts each item to the receiver with its idempotency key (used by the subprocess worker)."""

    name = "http-recorder"

    def __init__(self, url: str = "", delay: float = 0.0) -> None:
        self.url = url
        self.delay = delay
        self._client: Any = None

    def subscribes(self, event: Event) -> bool:
        return True

    async def deliver(self, item: OutboxItem) -> None:
        import asyncio

        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=5)
        if self.delay:
            await asyncio.sleep(self.delay)
        try:
            r = await self._client.post(self.url, json={"id": item.id, "kind": item.kind},
                                        headers={"Idempotency-Key": item.idempotency_key})
        except httpx.HTTPError as exc:
            raise RetryLater(str(exc)) from exc
        if r.status_code >= 300:
            raise RetryLater(f"HTTP {r.status_code}")
