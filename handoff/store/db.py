"""Engines: the same async code on SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from handoff.store.analytics import register_sqlite_functions


def async_url(url: str) -> URL:
    """Map the URL an admin writes (``sqlite:///./baton.db``, ``postgresql://…``) to our async drivers."""
    u = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        return u.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return u.set(drivername="postgresql+asyncpg")
    raise ValueError(f"DATABASE_URL: unsupported database {backend!r} (use sqlite:/// or postgresql://)")


def redacted(url: str) -> str:
    """The URL with any password hidden, for logs."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine(url: str, *, pool_size: int = 20, echo: bool = False) -> AsyncEngine:
    """An async engine tuned for our workload.

    SQLite: WAL, a 30 s busy timeout, foreign keys on, and ``BEGIN IMMEDIATE`` so a transaction that will
    write takes the write lock up front (no deadlock-prone read→write upgrades between processes).
    PostgreSQL: READ COMMITTED; correctness comes from conditional updates and ``SKIP LOCKED``.
    """
    u = async_url(url)
    # hide_parameters: an error's message (and so any log of it) never carries the bound values — transcripts,
    # emails, names — only the statement.
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if u.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        if u.database in (None, "", ":memory:"):
            raise ValueError("DATABASE_URL: in-memory SQLite is not supported (several connections share it)")
        kwargs["pool_size"] = max(1, min(pool_size, 5))
    else:
        # A pool big enough for the HTTP concurrency plus the dispatcher: overflow connections are closed on
        # return, and opening one (with asyncpg's SSL probe) costs more than a whole intake.
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = pool_size // 2
        # No ping per checkout (a round trip per transaction); a connection broken by a server restart is
        # invalidated on first use, the request answers 503, and the pool reconnects.
        kwargs["pool_recycle"] = 1800
    engine = create_async_engine(u, **kwargs)
    if u.get_backend_name() == "sqlite":
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        # Take transaction control from the driver so that our "begin" below is the one that runs.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        register_sqlite_functions(dbapi_conn)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        deferred = conn.get_execution_options().get("sqlite_begin") == "DEFERRED"
        conn.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")
