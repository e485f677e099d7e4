"""Fixtures for the customer side: a runtime with the customer integration, agents from a config file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import API_KEY, make_settings

CONFIG = """
queues:
  billing: {display_name: billing}
  technical: {display_name: technical}
  accounts: {display_name: accounts}
  sales: {display_name: sales}
  general: {display_name: support}
agents:
  - {id: emma, display_name: Emma, skills: [billing, technical, general, accounts, sales], capacity: 1}
  - {id: raj, display_name: Raj, skills: [technical, general], capacity: 1}
outbox: {log_destination: false, poll_seconds: 0.05}
customer_updates: {tick_seconds: 0.2, min_interval_seconds: 60, max_interval_seconds: 90, long_wait_seconds: 600}
"""


@pytest.fixture
def config_path(tmp_path: Path) -> str:
    p = tmp_path / "baton.yaml"
    p.write_text(CONFIG)
    return str(p)


def customer_settings(db_url: str, config_path: str, **env: str) -> Any:
    return make_settings(db_url, BATON_CONFIG=config_path, BATON_DEMO="1", **env)


@pytest.fixture
async def crt(db_url: str, config_path: str) -> AsyncIterator[Any]:
    """A runtime with the customer integration and a recording destination, agents synced."""
    from app import build, sync_agents
    from bot.web.customer import customer_integration
    from tests.support.destinations import RecordingDestination

    rt = build(customer_settings(db_url, config_path), integrations=[customer_integration], with_log=False,
               extra_destinations=[RecordingDestination()])
    await sync_agents(rt)
    try:
        yield rt
    finally:
        await rt.engine.dispose()


@pytest.fixture
async def cclient(crt: Any) -> AsyncIterator[Any]:
    """ASGI client without any credentials (customer calls add their token; agent calls add API_KEY)."""
    from tests.support.clients import asgi_client

    async with asgi_client(crt) as c:
        yield c


KEY = {"Authorization": f"Bearer {API_KEY}"}


async def new_handoff(client: Any, **overrides: Any) -> dict[str, Any]:
    from tests.support.factories import intake_body

    r = await client.post("/v1/handoffs", json=intake_body(**overrides), headers=KEY)
    assert r.status_code == 201, r.text
    return dict(r.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
