"""The unit of work: one transaction, its repositories, and the events (plus outbox items) it will commit."""

from __future__ import annotations

import asyncio
import weakref
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from handoff.errors import StoreUnavailable
from handoff.models import Event
from handoff.outbox import OutboxRouting
from handoff.ports import CommitObserver, Notifier
from handoff.store import flush
from handoff.store.analytics import SqlAnalytics
from handoff.store.chat import SqlChatState
from handoff.store.customer_side import SqlCustomerSide
from handoff.store.flush import Staging
from handoff.store.gauges import SqlGauges
from handoff.store.keys import SqlApiKeys
from handoff.store.outbox import SqlOutbox
from handoff.store.repositories import SqlAgents, SqlCustomers, SqlEvents, SqlExternalRefs, SqlHandoffs
from handoff.store.retention import SqlRetention
from handoff.store.sla import SqlSlaClocks
from handoff.store.wakeups import TIMERS, notify
from handoff.store.watermarks import SqlWatermarks

_WRITE_LOCKS: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()


def _sqlite_write_lock(engine: AsyncEngine) -> asyncio.Lock:
    lock = _WRITE_LOCKS.get(engine)
    if lock is None:
        lock = _WRITE_LOCKS[engine] = asyncio.Lock()
    return lock


class SqlUnitOfWork:
    """``async with uow: …; await uow.commit()`` — anything not committed is rolled back on exit.

    Args:
        engine: the database.
        routing: decides which outbox items each recorded event produces.
        notifier: woken after a commit that wrote outbox items.
        read_only: on SQLite, start a deferred transaction instead of taking the write lock; on PostgreSQL, no
            transaction (each read its own statement).
        autocommit: each statement commits on its own on PostgreSQL (SQLite: a write transaction as usual) — for
            work whose every statement is atomic alone and safe to repeat: the dispatcher's leases and results.
    """

    handoffs: SqlHandoffs
    customers: SqlCustomers
    agents: SqlAgents
    events: SqlEvents
    outbox: SqlOutbox
    refs: SqlExternalRefs
    customer_side: SqlCustomerSide
    chat: SqlChatState
    api_keys: SqlApiKeys
    retention: SqlRetention
    sla: SqlSlaClocks
    watermarks: SqlWatermarks
    gauges: SqlGauges

    def __init__(self, engine: AsyncEngine, routing: OutboxRouting, notifier: Notifier | None = None,
                 *, read_only: bool = False, autocommit: bool = False, observer: CommitObserver | None = None) -> None:
        self._engine = engine
        self._observer = observer
        self._routing = routing
        self._notifier = notifier
        self._read_only = read_only
        self._autocommit = autocommit
        self._conn: AsyncConnection | None = None
        self._pending: list[Event] = []
        self._staging = Staging()  # a new handoff, written at the commit (handoff.store.flush)
        self._wake_timers = False
        self._write_lock: asyncio.Lock | None = None

    async def __aenter__(self) -> Self:
        if not self._read_only and self._engine.dialect.name == "sqlite":
            # SQLite has one writer. Queue our writers here rather than in SQLite's busy handler, which sleeps
            # in growing steps and turns contention into seconds of latency.
            self._write_lock = _sqlite_write_lock(self._engine)
            await self._write_lock.acquire()
        try:
            conn = await self._engine.connect()
        except (OperationalError, InterfaceError, DBAPIError, OSError) as exc:
            # DBAPIError too: a server that is restarting answers "the database system is starting up" (asyncpg's
            # CannotConnectNowError) — a retryable 503 like any other unreachable database, never a 500.
            self._release_write_lock()
            raise StoreUnavailable(f"the database is unreachable ({type(exc).__name__}); nothing was written") from exc
        except BaseException:
            self._release_write_lock()
            raise
        sqlite = self._engine.dialect.name == "sqlite"
        if self._read_only and sqlite:
            conn = await conn.execution_options(sqlite_begin="DEFERRED")  # a read transaction: no write lock
        elif (self._read_only or self._autocommit) and not sqlite:
            # PostgreSQL, no transaction at all: reads under READ COMMITTED see a snapshot per statement anyway,
            # and work whose every statement stands alone saves BEGIN and COMMIT, two round trips.
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.begin()
        self._conn = conn
        self._staging.clear()
        self.handoffs = SqlHandoffs(conn, self._staging)
        self.customers = SqlCustomers(conn)
        self.agents = SqlAgents(conn)
        self.events = SqlEvents(conn)
        self.outbox = SqlOutbox(conn)
        self.refs = SqlExternalRefs(conn)
        self.customer_side = SqlCustomerSide(conn)
        self.chat = SqlChatState(conn)
        self.api_keys = SqlApiKeys(conn)
        self.retention = SqlRetention(conn)
        self.sla = SqlSlaClocks(conn, self._staging)
        self.watermarks = SqlWatermarks(conn)
        self.analytics = SqlAnalytics(conn)
        self.gauges = SqlGauges(conn)
        self._pending = []
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                try:
                    if conn.in_transaction():
                        await conn.rollback()
                finally:
                    await conn.close()
        finally:
            self._release_write_lock()
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            # The server went away under us (restart, failover): a retryable 503, not a 500.
            raise StoreUnavailable("the database connection was lost; nothing was written") from exc

    def _release_write_lock(self) -> None:
        lock, self._write_lock = self._write_lock, None
        if lock is not None:
            lock.release()

    @property
    def connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._conn

    def record(self, event: Event) -> None:
        self._pending.append(event)

    def wake_timers(self) -> None:
        """Ask every process's timer ticks to run at this commit (e.g. a clock now due sooner than the next tick)."""
        self._wake_timers = True

    async def commit(self) -> list[int]:
        """Write what is pending and commit; the ids of the recorded events.

        Raises:
            ConversationExists: the new handoff's conversation has one already; nothing was written.
        """
        conn = self.connection
        if self._observer is not None and self._pending:
            # Inside the transaction: what the events cause (SLA clocks) commits with them, or not at all.
            self._pending.extend(await self._observer.observe(self, list(self._pending)))
        # The new handoff (if any), its clocks, every event and every outbox item they cause: one statement on
        # PostgreSQL (handoff.store.flush). Other processes' dispatchers hear of new items from PostgreSQL
        # itself: the outbox's statement trigger sends NOTIFY baton_outbox (migration 0008).
        pending, self._pending = self._pending, []
        ids, items = await flush.write(conn, self._staging, pending, self._routing)
        if self._wake_timers:
            await notify(conn, TIMERS)
            self._wake_timers = False
        await conn.commit()
        if items and self._notifier is not None:
            self._notifier.notify()
        return ids

    async def rollback(self) -> None:
        self._pending = []
        self._staging.clear()
        if self._conn is not None and self._conn.in_transaction():
            await self._conn.rollback()
