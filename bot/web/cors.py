"""CORS for the customer endpoints and the widget script only: a site embeds the widget from another origin.

Any origin may call them because they carry no ambient credentials (no cookies): the customer token is in
the request itself. The key-authorized ``/v1`` API gets no CORS headers, so browsers cannot call it cross-site.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

_CUSTOMER_PATH = re.compile(r"^/v1/handoffs/[^/]+/(status|events|messages|csat|callback)$|^/widget\.js$")
_HEADERS = [(b"access-control-allow-origin", b"*"), (b"vary", b"Origin")]


class CustomerCors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http" or not _CUSTOMER_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": [
                *_HEADERS, (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                (b"access-control-allow-headers", b"Authorization, Content-Type, Last-Event-ID"),
                (b"access-control-max-age", b"600")]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_cors)
