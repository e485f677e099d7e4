"""What a unit of work writes when it commits — on PostgreSQL in one statement.

A new handoff is built in memory: :meth:`SqlHandoffs.add` stages its row and transcript, the SLA keeper's clocks
for it are staged too (:class:`Staging`), and nothing of it reaches the database before the commit. Nobody else
can see a handoff that does not exist yet, so staging changes no one's view; it turns an intake's seven
statements (handoff, transcript, clocks, events, outbox) into one.

On PostgreSQL the commit is a single data-modifying ``WITH`` statement. Every row travels as one JSON parameter
per table and is typed by the table itself (``jsonb_populate_recordset(NULL::events, …)``). Event ids are taken
with ``nextval`` in the statement, so the outbox items carry their event's id (payload and idempotency key)
without a round trip. A staged handoff guards the rest: when its conversation exists already (the unique index
answers ``ON CONFLICT DO NOTHING``), nothing else of the statement is written and :class:`ConversationExists`
is raised. SQLite runs the same writes as a few statements inside its transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.schema import Table

from handoff.errors import ConversationExists
from handoff.models import Event
from handoff.outbox import OutboxMessage, OutboxRouting, OutboxStatus
from handoff.sla.clocks import SlaClock
from handoff.store import tables as t


@dataclass
class Staging:
    """Rows of one new handoff, held until the commit (at most one per unit of work: an intake)."""

    handoff: dict[str, Any] | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)
    clocks: dict[int, tuple[SlaClock, datetime]] = field(default_factory=dict)  # placeholder id (< 0) → clock

    @property
    def handoff_id(self) -> str | None:
        return self.handoff["id"] if self.handoff else None

    def owns(self, handoff_id: str | None) -> bool:
        return self.handoff is not None and handoff_id == self.handoff["id"]

    def stage_handoff(self, values: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        if self.handoff is not None:
            raise RuntimeError("one new handoff per unit of work")
        self.handoff, self.lines = values, lines

    def stage_clock(self, clock: SlaClock, now: datetime) -> SlaClock:
        """Keep a new clock of the staged handoff; it gets a placeholder id (negative) until written."""
        placeholder = -(len(self.clocks) + 1)
        staged = replace(clock, id=placeholder)
        self.clocks[placeholder] = (staged, now)
        return staged

    def clear(self) -> None:
        self.handoff, self.lines, self.clocks = None, [], {}


def with_defaults(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` plus the table's client-side defaults for the columns it leaves out (what ``insert()`` adds)."""
    row = dict(values)
    for c in table.columns:
        default: Any = c.default
        if c.name in row or default is None:
            continue
        if default.is_scalar:
            row[c.name] = default.arg
        elif default.is_callable:
            row[c.name] = default.arg(None)
    return row


def outbox_rows(events: Sequence[Event], ids: Sequence[int | None], routing: OutboxRouting
                ) -> list[tuple[int, OutboxMessage, datetime]]:
    """(event index, message, due) for every item the events cause; due from the event's time."""
    return [(i, m, e.at) for i, (e, event_id) in enumerate(zip(events, ids, strict=True))
            for m in routing.messages_for(e, event_id)]


def event_values(e: Event) -> dict[str, Any]:
    """An event's ``events`` row (its id aside), for both dialects' writers."""
    return {"handoff_id": e.handoff_id, "kind": e.kind.value, "actor_type": e.actor.type.value, "actor_id": e.actor.id,
            "source": e.source.value, "reason": e.reason, "data": dict(e.data), "at": e.at}


def _clock_rows(staging: Staging) -> list[dict[str, Any]]:
    from handoff.store.sla import clock_values

    return [clock_values(c, now) for c, now in staging.clocks.values()]


# ------------------------------------------------------------------------------------------------- PostgreSQL


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def _columns(table: Table, *, skip: tuple[str, ...] = ("id",)) -> list[str]:
    return [c.name for c in table.columns if c.name not in skip]


@lru_cache(maxsize=16)
def _pg_statement(handoff: bool, lines: bool, clocks: bool, events: bool, outbox: bool) -> str:
    """The commit as one ``WITH`` statement (column names come from :mod:`handoff.store.tables`, values only from
    parameters): one JSON parameter per part present, in the order handoff, lines, clocks, events, outbox.
    Returns one row: the event ids in order, and whether the staged handoff was written."""
    ctes: list[str] = []
    guard = ""
    n = iter(range(1, 6))
    if handoff:
        cols = ", ".join(_columns(t.handoffs, skip=()))
        ctes.append(f"h AS (INSERT INTO handoffs ({cols}) SELECT {cols} FROM jsonb_populate_record(NULL::handoffs, "  # noqa: S608 - names from the tables
                    f"${next(n)}::jsonb) ON CONFLICT (source, conversation_id) DO NOTHING RETURNING id)")
        guard = " WHERE EXISTS (SELECT 1 FROM h)"
    if lines:
        cols = ", ".join(_columns(t.messages))
        ctes.append(f"m AS (INSERT INTO messages ({cols}) SELECT {cols} FROM "  # noqa: S608 - names from the tables
                    f"jsonb_populate_recordset(NULL::messages, ${next(n)}::jsonb){guard})")
    if clocks:
        cols = ", ".join(_columns(t.sla_clocks))
        ctes.append(f"c AS (INSERT INTO sla_clocks ({cols}) SELECT {cols} FROM "  # noqa: S608 - names from the tables
                    f"jsonb_populate_recordset(NULL::sla_clocks, ${next(n)}::jsonb){guard})")
    if events:
        cols = ", ".join(_columns(t.events))
        # Ids in the given order: numbered by ordinality, sorted, then nextval row by row (after the sort).
        ctes.append(f"ev AS MATERIALIZED (SELECT nextval(pg_get_serial_sequence('events', 'id')) AS new_id, "  # noqa: S608 - names from the tables
                    f"x.* FROM (SELECT * FROM jsonb_populate_recordset(NULL::events, ${next(n)}::jsonb) "
                    "WITH ORDINALITY AS r"
                    f"{guard} ORDER BY r.ordinality) AS x)")
        ctes.append(f"e AS (INSERT INTO events (id, {cols}) SELECT new_id, {cols} FROM ev)")  # noqa: S608 - names from the tables
    if outbox and events:
        ocols = ("destination", "kind", "handoff_id", "payload", "idempotency_key", "status", "attempts",
                 "next_attempt_at", "created_at")
        # The message's payload has "event_id": null and its key ends with ":" until the id is known here.
        ctes.append(
            f"o AS (INSERT INTO outbox ({', '.join(ocols)}) SELECT x.destination, x.kind, x.handoff_id, "  # noqa: S608 - names from the tables
            "x.payload || jsonb_build_object('event_id', ev.new_id), x.idempotency_key || ev.new_id::text, "
            f"'{OutboxStatus.PENDING.value}', 0, x.next_attempt_at, x.next_attempt_at "
            f"FROM jsonb_to_recordset(${next(n)}::jsonb) AS x(ev bigint, destination text, kind text, handoff_id text, "
            "payload jsonb, idempotency_key text, next_attempt_at timestamptz) JOIN ev ON ev.ordinality = x.ev)")
    ids = "ARRAY(SELECT new_id FROM ev ORDER BY ordinality)" if events else "ARRAY[]::bigint[]"
    written = "EXISTS (SELECT 1 FROM h)" if handoff else "true"
    return f"WITH {', '.join(ctes)} SELECT {ids}, {written}" if ctes else f"SELECT {ids}, {written}"


async def _write_postgresql(conn: AsyncConnection, staging: Staging, events: Sequence[Event],
                            routing: OutboxRouting) -> tuple[list[int], int]:
    items = outbox_rows(events, [None] * len(events), routing)
    clocks = _clock_rows(staging)
    if staging.handoff is None and not events and not clocks:
        return [], 0
    sql = _pg_statement(staging.handoff is not None, bool(staging.lines), bool(clocks), bool(events), bool(items))
    params = tuple(p for p in (
        _dumps(with_defaults(t.handoffs, staging.handoff)) if staging.handoff is not None else None,
        _dumps(staging.lines) if staging.lines else None,
        _dumps(clocks) if clocks else None,
        _dumps([event_values(e) for e in events]) if events else None,
        _dumps([{"ev": i + 1, "destination": m.destination, "kind": m.kind, "handoff_id": m.handoff_id,
                 "payload": dict(m.payload), "idempotency_key": m.idempotency_key, "next_attempt_at": at}
                for i, m, at in items]) if items else None,
    ) if p is not None)
    row: Any = (await conn.exec_driver_sql(sql, params)).one()
    if not row[1]:
        raise ConversationExists(staging.handoff_id)
    return [int(i) for i in row[0]], len(items)


# ------------------------------------------------------------------------------------------------- SQLite


async def _write_sqlite(conn: AsyncConnection, staging: Staging, events: Sequence[Event],
                        routing: OutboxRouting) -> tuple[list[int], int]:
    from handoff.store.outbox import SqlOutbox
    from handoff.store.repositories import SqlEvents, insert_handoff

    if staging.handoff is not None:
        if not await insert_handoff(conn, with_defaults(t.handoffs, staging.handoff), staging.lines):
            raise ConversationExists(staging.handoff_id)
    clocks = _clock_rows(staging)
    if clocks:
        await conn.execute(t.sla_clocks.insert(), clocks)
    ids = await SqlEvents(conn).append_many(events)
    items = outbox_rows(events, ids, routing)
    by_time: dict[datetime, list[OutboxMessage]] = {}  # items are due from their event's time
    for _, m, at in items:
        by_time.setdefault(at, []).append(m)
    outbox = SqlOutbox(conn)
    for at, messages in by_time.items():
        await outbox.enqueue(messages, at)
    return ids, len(items)


async def write(conn: AsyncConnection, staging: Staging, events: Sequence[Event], routing: OutboxRouting
                ) -> tuple[list[int], int]:
    """Write what the unit of work holds; (event ids, how many outbox items were written)."""
    if conn.dialect.name == "postgresql":
        written = await _write_postgresql(conn, staging, events, routing)
    else:
        written = await _write_sqlite(conn, staging, events, routing)
    staging.clear()
    return written
