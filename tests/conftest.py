"""Shared fixtures: databases (SQLite and PostgreSQL), a wired runtime, an HTTP client, no real network.

PostgreSQL tests use ``BATON_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/test``) to create a
scratch database per test session. Without a reachable server they skip with the reason — except under
``CI=true``, where they fail: CI must prove the concurrency guarantees on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.pg import PG_ADMIN_URL, pg_available, pg_create_database, pg_drop_database, pg_truncate_all

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _allowed(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk only to loopback: the fakes in tests/ stand in for Slack, Teams and the CRMs."""

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _allowed(address):
            raise ConnectionRefusedError(f"tests may not reach {address!r}: use a fake server on 127.0.0.1")
        return _real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        if not _allowed(address):
            raise ConnectionRefusedError(f"tests may not reach {address!r}: use a fake server on 127.0.0.1")
        return _real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A migrated scratch PostgreSQL database for this test session."""
    reason = pg_available()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but PostgreSQL is not reachable at {PG_ADMIN_URL}: {reason}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({reason}); set BATON_TEST_PG or start it")
    name = f"baton_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = pg_create_database(name)
    from handoff.store.migrate import upgrade

    upgrade(url)
    try:
        yield url
    finally:
        pg_drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database of each kind."""
    if request.param == "sqlite":
        from handoff.store.migrate import upgrade

        url = f"sqlite:///{tmp_path / 'baton.db'}"
        upgrade(url)
        return url
    url = str(request.getfixturevalue("pg_database"))
    pg_truncate_all(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    from handoff.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'baton.db'}"
    upgrade(url)
    return url


@pytest.fixture
def pg_url(pg_database: str) -> str:
    pg_truncate_all(pg_database)
    return pg_database


API_KEY = "test-key-" + "x" * 24


def make_settings(db_url: str, **env: str) -> Any:
    from settings import Settings

    values = {"DATABASE_URL": db_url, "BATON_API_KEYS": API_KEY, **env}
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def runtime(db_url: str) -> AsyncIterator[Any]:
    from app import build, sync_agents
    from tests.support.destinations import RecordingDestination

    rt = build(make_settings(db_url), extra_destinations=[RecordingDestination()], with_log=False, integrations=[])
    await sync_agents(rt)
    try:
        yield rt
    finally:
        await rt.engine.dispose()


@pytest.fixture
async def client(runtime: Any) -> AsyncIterator[Any]:
    """An httpx client over the ASGI app (no socket), authorized with the test API key."""
    from tests.support.clients import asgi_client

    async with asgi_client(runtime, {"Authorization": f"Bearer {API_KEY}"}) as c:
        yield c


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("db_url") == "postgresql"
        if on_pg or "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


__all__ = ["API_KEY", "asyncio", "make_settings"]
