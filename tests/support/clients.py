"""An httpx client over the real ASGI app (no socket), the way every API test talks to Baton."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx


@asynccontextmanager
async def asgi_client(rt: Any, headers: dict[str, str] | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """``create_app(rt)`` without the dispatcher, served in-process."""
    from app import create_app

    app = create_app(rt, run_dispatcher=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://baton.test",
                                 headers=headers) as c:
        yield c
