"""Cross-process wake-ups on PostgreSQL: ``NOTIFY`` in the committing transaction, one ``LISTEN`` per process.

A commit that wrote outbox items sends ``NOTIFY baton_outbox`` (a statement trigger on ``outbox`` does, migration
0008, so every writer does at no extra round trip), one that moved an SLA clock ``NOTIFY baton_timers``, inside
its transaction, so PostgreSQL delivers it only if the commit happens. Every process keeps one listening
connection (asyncpg, outside the pool) and, when a notification arrives, runs the callbacks registered for that
channel (wake the dispatcher; run the SLA tick now). If the connection drops it reconnects with backoff;
meanwhile the dispatcher's and the scheduler's polling keep everything moving, only with their own latency.
SQLite has one process: nothing to listen to (the in-process notifier wakes the local dispatcher).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("baton.wakeups")

OUTBOX = "baton_outbox"
TIMERS = "baton_timers"
CHANNELS = (OUTBOX, TIMERS)
APP_NAME = "baton-listen"  # how the listening connection shows in pg_stat_activity


async def notify(conn: AsyncConnection, channel: str) -> None:
    """Queue a notification on ``channel``; PostgreSQL sends it when (and only if) the transaction commits."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


class Listener:
    """One ``LISTEN`` connection for the whole process (see the module docstring)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.callbacks: dict[str, list[Callable[[], None]]] = {c: [] for c in CHANNELS}
        self.received = 0
        self.connected = False
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def on(self, channel: str, callback: Callable[[], None]) -> None:
        self.callbacks.setdefault(channel, []).append(callback)

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._stop = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="pg-listen")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def _fire(self, _conn: Any, _pid: int, channel: str, _payload: str) -> None:
        self.received += 1
        for callback in self.callbacks.get(channel, ()):
            try:
                callback()
            except Exception:  # a wake-up must never break the listener
                log.exception("wake-up callback for %s failed", channel)

    async def _run(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        url = self.engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        backoff = 0.5
        while not self._stop.is_set():
            conn = None
            try:
                conn = await asyncpg.connect(dsn, timeout=5, server_settings={"application_name": APP_NAME})
                for channel in self.callbacks:
                    await conn.add_listener(channel, self._fire)
                self.connected, backoff = True, 0.5
                for callbacks in self.callbacks.values():  # anything committed while we were away: look now
                    for callback in callbacks:
                        callback()
                while not self._stop.is_set() and not conn.is_closed():
                    await asyncio.sleep(1.0)
                    await conn.execute("SELECT 1")  # notices a dead connection within a second or so
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN connection lost (%s); polling covers until it is back", type(exc).__name__)
            finally:
                self.connected = False
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close()
            if not self._stop.is_set():
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
