"""How uvicorn serves Baton: connection caps and timeouts from ``limits:`` in ``BATON_CONFIG``.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) and answers 503 over ``limit_concurrency``,
but it starts no clock while a request's headers arrive: a client that never finishes them (slowloris) keeps its
connection, and its place under the cap, forever. :class:`GuardedHttpProtocol` adds that clock and a cap on
header bytes; :func:`uvicorn_options` gathers everything for ``uvicorn.run`` / ``uvicorn.Config``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from handoff.config import Limits

# uvicorn builds the protocol from its Config; the values reach the class through these, set once at start-up.
_HEADER_SECONDS = Limits().header_read_seconds
_HEADER_BYTES = Limits().max_header_bytes


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus a deadline and a size cap on each request's line and headers.

    The deadline starts when the connection opens (or when the next request on a kept-alive connection
    begins) and stops when the headers are complete: a connection still inside its headers when it expires is
    closed. Header bytes beyond the cap answer 431 and close.
    """

    header_seconds: float = _HEADER_SECONDS
    max_header_bytes: int = _HEADER_BYTES

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_bytes = 0
        self._in_headers = True
        self._header_timer: asyncio.TimerHandle | None = self.loop.call_later(self.header_seconds, self._too_slow)

    def data_received(self, data: bytes) -> None:
        if self._in_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        if self._in_headers and self._header_bytes > self.max_header_bytes and not self.transport.is_closing():
            self._stop_clock()
            self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n"
                                 b"connection: close\r\n\r\n")
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_headers:  # the next request on a kept-alive connection: a new clock
            self._in_headers, self._header_bytes = True, 0
            self._header_timer = self.loop.call_later(self.header_seconds, self._too_slow)

    def on_headers_complete(self) -> None:
        self._stop_clock()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        super().connection_lost(exc)

    def _stop_clock(self) -> None:
        self._in_headers = False
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self._in_headers and not self.transport.is_closing():
            self.transport.close()


def configure(limits: Limits) -> None:
    """Give the protocol class this process's limits (uvicorn instantiates it per connection)."""
    GuardedHttpProtocol.header_seconds = limits.header_read_seconds
    GuardedHttpProtocol.max_header_bytes = limits.max_header_bytes


def uvicorn_options(limits: Limits) -> dict[str, Any]:
    """The uvicorn settings that bound clients: header deadline and size, keep-alive, open connections."""
    configure(limits)
    return {"http": GuardedHttpProtocol, "timeout_keep_alive": limits.keep_alive_seconds,
            "limit_concurrency": limits.max_connections}
