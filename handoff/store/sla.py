"""SLA clocks in the database (``sla_clocks``): reads for cards, the API and analytics; the engine's writes.

Due clocks are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite serializes writers with
``BEGIN IMMEDIATE``), so several processes act on each clock exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from handoff.sla.clocks import ClockKind, ClockOutcome, SlaClock
from handoff.sla.timing import next_at
from handoff.store import tables as t
from handoff.store.flush import Staging

_c = t.sla_clocks.c


def clock_from_row(r: Any) -> SlaClock:
    return SlaClock(
        id=r.id, handoff_id=r.handoff_id, kind=ClockKind(r.kind), policy=r.policy, target_seconds=r.target_seconds,
        business_hours=r.business_hours, calendar=r.calendar, started_at=r.started_at, warn_at=r.warn_at,
        due_at=r.due_at, paused_at=r.paused_at, paused_seconds=r.paused_seconds, warned_at=r.warned_at,
        breached_at=r.breached_at, stopped_at=r.stopped_at, elapsed_seconds=r.elapsed_seconds,
        outcome=ClockOutcome(r.outcome) if r.outcome else None)


class SqlSlaClocks:
    """Clocks of the unit of work's new handoff (not in the database before the commit) are kept in its
    :class:`~handoff.store.flush.Staging`, with placeholder ids, and written with it."""

    def __init__(self, conn: AsyncConnection, staging: Staging | None = None) -> None:
        self.conn = conn
        self.staging = staging or Staging()

    async def for_handoff(self, handoff_id: str) -> Sequence[SlaClock]:
        """Every clock of one handoff, oldest first (stopped ones included: they are its compliance record)."""
        if self.staging.owns(handoff_id):
            return sorted((c for c, _ in self.staging.clocks.values()), key=lambda c: (c.started_at, -(c.id or 0)))
        q = select(t.sla_clocks).where(_c.handoff_id == handoff_id).order_by(_c.started_at, _c.id)
        return [clock_from_row(r) for r in await self.conn.execute(q)]

    async def for_handoffs(self, handoff_ids: Iterable[str]) -> Mapping[str, Sequence[SlaClock]]:
        """The clocks of several handoffs at once (one query), keyed by handoff id."""
        ids = list(dict.fromkeys(handoff_ids))
        out: dict[str, list[SlaClock]] = defaultdict(list)
        for i in range(0, len(ids), 500):  # bounded parameters per statement
            q = select(t.sla_clocks).where(_c.handoff_id.in_(ids[i:i + 500])).order_by(_c.started_at, _c.id)
            for r in await self.conn.execute(q):
                out[r.handoff_id].append(clock_from_row(r))
        return out

    async def add(self, clock: SlaClock, now: datetime) -> SlaClock:
        """Insert a new clock; returns it with its id."""
        if self.staging.owns(clock.handoff_id):
            return self.staging.stage_clock(clock, now)
        values = clock_values(clock, now)
        new_id = (await self.conn.execute(insert(t.sla_clocks).values(**values).returning(_c.id))).scalar_one()
        return replace(clock, id=int(new_id))

    async def add_many(self, clocks: Sequence[SlaClock], now: datetime) -> list[SlaClock]:
        """Insert new clocks in one statement; returns them with their ids, in order."""
        if not clocks:
            return []
        if all(self.staging.owns(c.handoff_id) for c in clocks):
            return [self.staging.stage_clock(c, now) for c in clocks]
        stmt = insert(t.sla_clocks).returning(_c.id, sort_by_parameter_order=True)
        if len(clocks) == 1:
            ids = [(await self.conn.execute(stmt, clock_values(clocks[0], now))).scalar_one()]
        else:
            ids = list((await self.conn.execute(stmt, [clock_values(c, now) for c in clocks])).scalars())
        return [replace(c, id=int(i)) for c, i in zip(clocks, ids, strict=True)]

    async def save(self, clock: SlaClock, now: datetime) -> None:
        """Write a changed clock (by id)."""
        if clock.id is None:
            raise ValueError("save() needs a stored clock; use add() for a new one")
        if clock.id < 0:
            self.staging.clocks[clock.id] = (clock, now)
            return
        await self.conn.execute(update(t.sla_clocks).where(_c.id == clock.id).values(**clock_values(clock, now)))

    async def save_many(self, clocks: Sequence[SlaClock], now: datetime) -> None:
        """Write several changed clocks in one statement (an executemany of the same UPDATE)."""
        for c in clocks:
            if c.id is not None and c.id < 0:
                self.staging.clocks[c.id] = (c, now)
        rows = [{"_id": c.id, **clock_values(c, now)} for c in clocks if c.id is not None and c.id > 0]
        if rows:
            stmt = update(t.sla_clocks).where(_c.id == bindparam("_id")).values(
                {k: bindparam(k) for k in rows[0] if k != "_id"})
            await self.conn.execute(stmt, rows)

    async def claim_due(self, now: datetime, limit: int) -> Sequence[SlaClock]:
        """Clocks whose warning point or target has come, locked for this transaction; other processes skip them."""
        q = (select(t.sla_clocks).where(_c.next_at.is_not(None), _c.next_at <= now)
             .order_by(_c.next_at, _c.id).limit(limit).with_for_update(skip_locked=True))
        return [clock_from_row(r) for r in await self.conn.execute(q)]


def clock_values(c: SlaClock, now: datetime) -> dict[str, Any]:
    return {"handoff_id": c.handoff_id, "kind": c.kind.value, "policy": c.policy[:200],
            "target_seconds": c.target_seconds, "business_hours": c.business_hours, "calendar": c.calendar,
            "started_at": c.started_at, "warn_at": c.warn_at, "due_at": c.due_at, "next_at": next_at(c),
            "paused_at": c.paused_at, "paused_seconds": c.paused_seconds, "warned_at": c.warned_at,
            "breached_at": c.breached_at, "stopped_at": c.stopped_at, "elapsed_seconds": c.elapsed_seconds,
            "outcome": c.outcome.value if c.outcome else None, "updated_at": now}
