"""A client over the whole app (the /v1 API and the customer routes), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import API_KEY, make_settings


@pytest.fixture
async def full_rt(db_url: str) -> AsyncIterator[Any]:
    """A runtime with the customer integration mounted (its routes are part of the public API)."""
    from app import build, sync_agents
    from bot.web.customer import customer_integration

    rt = build(make_settings(db_url), integrations=[customer_integration], with_log=False)
    await sync_agents(rt)
    try:
        yield rt
    finally:
        await rt.engine.dispose()


@pytest.fixture
async def eclient(full_rt: Any) -> AsyncIterator[Any]:
    """The API key by default; customer calls pass their own ``Authorization``. App errors become 500 answers."""
    import httpx

    from app import create_app

    app = create_app(full_rt, run_dispatcher=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://baton.test",
                                 headers={"Authorization": f"Bearer {API_KEY}"}) as c:
        yield c
