"""The database pool per process follows BATON_DB_POOL_SIZE (processes times pool must fit the server's
max_connections: with the default 20 + 10 overflow, three processes on one PostgreSQL take 93 of its default 100)."""

from __future__ import annotations

from pathlib import Path

from handoff.store.db import create_engine
from tests.conftest import make_settings


def test_the_pool_size_comes_from_the_setting(tmp_path: Path) -> None:
    from app import build

    rt = build(make_settings(f"sqlite:///{tmp_path / 'baton.db'}", BATON_DB_POOL_SIZE="3"), with_log=False,
               integrations=[])
    assert rt.engine.pool.size() == 3  # type: ignore[attr-defined]
    assert make_settings("sqlite:///x.db").db_pool_size == 20


def test_postgresql_keeps_half_as_many_overflow_connections() -> None:
    engine = create_engine("postgresql://postgres@127.0.0.1:5432/unused", pool_size=12)  # connects lazily
    assert engine.pool.size() == 12  # type: ignore[attr-defined]
    assert engine.pool._max_overflow == 6  # type: ignore[attr-defined]
