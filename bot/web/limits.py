"""Pure ASGI middlewares that bound what a request may cost before any route runs.

:class:`HeaderGate` answers from the request line and headers alone (401, 429) — before anyone reads the body,
so an unauthenticated upload costs the server its headers and nothing more. :class:`BodyLimit`, behind it,
refuses bodies over the configured size (413) and bodies that trickle in slower than the read deadline (408).
Both answer in the one error shape of :mod:`bot.web.errors`.
``CleanUrl``: a path or query string carrying a control character (``%00`` …) answers 422 — such a value
can never be an id, and PostgreSQL cannot even compare a NUL (bodies are cleaned by the request models instead,
see ``handoff.checks``).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_plus

from bot.web.errors import error_body, headers_for, status_for
from handoff.errors import DomainError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Check = Callable[[Scope], Awaitable[None]]

# The customer-token routes (the widget's): everything else under /v1 takes the server API key.
CUSTOMER_ROUTE = re.compile(r"^/v1/handoffs/(?P<id>[^/]+)/(?P<what>status|events|messages|csat|callback)$")
_NO_BODY = ("GET", "HEAD", "OPTIONS", "DELETE")


def header(scope: Scope, name: bytes) -> str | None:
    """One request header as text (the first, if repeated), from the ASGI scope."""
    for k, v in scope.get("headers", ()):
        if k == name:
            return bytes(v).decode("latin-1")
    return None


class HeaderGate:
    """Runs ``check(scope)`` on every HTTP request before the app (and the body reader) sees it.

    ``check`` raises a :class:`~handoff.errors.DomainError` to refuse; the answer closes the connection when a
    body was announced, so an unread upload is not drained.
    """

    def __init__(self, app: ASGIApp, check: Check) -> None:
        self.app = app
        self.check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "OPTIONS":
            try:
                await self.check(scope)
            except DomainError as exc:
                close = scope["method"] not in _NO_BODY
                await reject(send, status_for(exc), exc.code, exc.message, headers=headers_for(exc), close=close,
                             details=exc.details)
                return
        await self.app(scope, receive, send)


_CONTROL = re.compile("[\x00-\x1f\x7f]")


class CleanUrl:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = unquote_plus(scope.get("query_string", b"").decode("latin-1"))
            if _CONTROL.search(scope["path"]) or _CONTROL.search(query):
                await reject(send, 422, "invalid_url",
                             "the path or query string contains a control character (such as %00); "
                             "no id or parameter of Baton can hold one")
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Reads the request body itself: over ``max_bytes`` → 413, not complete within ``read_seconds`` → 408."""

    def __init__(self, app: ASGIApp, max_bytes: int, read_seconds: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_seconds = read_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _NO_BODY:
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await reject(send, 400, "bad_request", "Content-Length is not a number", close=True)
                return
            if int(declared) > self.max_bytes:
                await self._too_large(send)
                return
        # Read the body ourselves so that a chunked upload is also cut at the limit, and a slow one in time.
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + self.read_seconds
        while True:
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                await reject(send, 408, "request_timeout",
                             f"the request body did not arrive within {self.read_seconds:g} s", close=True)
                return
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        buffered = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": buffered, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await reject(send, 413, "payload_too_large", f"the request body is over {self.max_bytes} bytes", close=True)


async def reject(send: Send, status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
                 close: bool = False, **extra: object) -> None:
    """Answer with the one error shape; ``close`` ends the connection (the rest of a body is not read)."""
    body = json.dumps(error_body(code, message, **extra)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    if close:
        raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
