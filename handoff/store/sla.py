"""SLA clocks in the database (``sla_clocks``): reads for cards, the API and analytics; the engine's writes.

Due clocks are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite serializes writers with
``BEGIN IMMEDIATE``), so several processes act on each clock exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from handoff.sla.clocks import ClockKind, ClockOutcome, SlaClock
from handoff.store import tables as t

_c = t.sla_clocks.c


def clock_from_row(r: Any) -> SlaClock:
    return SlaClock(
        id=r.id, handoff_id=r.handoff_id, kind=ClockKind(r.kind), policy=r.policy, target_seconds=r.target_seconds,
        business_hours=r.business_hours, calendar=r.calendar, started_at=r.started_at, warn_at=r.warn_at,
        due_at=r.due_at, paused_at=r.paused_at, paused_seconds=r.paused_seconds, warned_at=r.warned_at,
        breached_at=r.breached_at, stopped_at=r.stopped_at, elapsed_seconds=r.elapsed_seconds,
        outcome=ClockOutcome(r.outcome) if r.outcome else None)


class SqlSlaClocks:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def for_handoff(self, handoff_id: str) -> Sequence[SlaClock]:
        """Every clock of one handoff, oldest first (stopped ones included: they are its compliance record)."""
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
