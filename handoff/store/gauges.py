"""Aggregate reads of current state: queue depths, open handoffs, the outbox backlog, running SLA clocks.

Each method is one ``GROUP BY`` statement over rows found through an index on their status (``queued``,
``claimed``/``pending_customer``, live or dead outbox items, clocks not stopped), so its cost follows the live
work, never the history kept beside it (resolved handoffs, delivered items, stopped clocks), and its answer has
one row per group: a bounded result whatever the data size. ``/metrics`` reads :meth:`SqlGauges.snapshot` on
every scrape; a dashboard's live queue can read :meth:`SqlGauges.queue_depth` alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from handoff.models import Status
from handoff.ports import OutboxDepth, QueueDepth, StateGauges
from handoff.store import tables as t

_h = t.handoffs.c
_o = t.outbox.c
_c = t.sla_clocks.c

# Inline literals (as in handoff.store.outbox): the planner sees which statuses are asked for and can use the
# partial index of live outbox items.
_OUTBOX_WATCHED: list[ColumnElement[str]] = [literal_column("'pending'"), literal_column("'delivering'"),
                                             literal_column("'dead'")]
_HELD = (Status.CLAIMED.value, Status.PENDING_CUSTOMER.value)


class SqlGauges:
    """See the module docstring; every method runs on the unit of work's connection (its transaction)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def queue_depth(self) -> Sequence[QueueDepth]:
        """Queued handoffs by (queue, priority) with the oldest ``created_at`` of each, most urgent first."""
        rows = (await self.conn.execute(
            select(_h.queue, _h.priority, func.min(_h.priority_rank).label("rank"), func.count().label("n"),
                   func.min(_h.created_at).label("oldest"))
            .where(_h.status == Status.QUEUED.value)
            .group_by(_h.queue, _h.priority)
            .order_by(_h.queue, "rank"))).mappings().all()
        return [QueueDepth(queue=r["queue"], priority=r["priority"], count=int(r["n"]), oldest_created_at=r["oldest"])
                for r in rows]

    async def open_by_status(self) -> Mapping[str, int]:
        """Handoffs someone holds: ``claimed`` and ``pending_customer`` counts (absent: none)."""
        rows = (await self.conn.execute(
            select(_h.status, func.count()).where(_h.status.in_(_HELD)).group_by(_h.status))).all()
        return {str(s): int(n) for s, n in rows}

    async def outbox_depth(self) -> Sequence[OutboxDepth]:
        """Outbox items not delivered (``pending``, ``delivering``) or dead-lettered, by destination and status."""
        rows = (await self.conn.execute(
            select(_o.destination, _o.status, func.count().label("n"), func.min(_o.created_at).label("oldest"))
            .where(_o.status.in_(_OUTBOX_WATCHED))
            .group_by(_o.destination, _o.status)
            .order_by(_o.destination, _o.status))).mappings().all()
        return [OutboxDepth(destination=r["destination"], status=r["status"], count=int(r["n"]),
                            oldest_created_at=r["oldest"]) for r in rows]

    async def clocks_running(self) -> Mapping[str, int]:
        """SLA clocks neither stopped nor paused, by kind."""
        rows = (await self.conn.execute(
            select(_c.kind, func.count()).where(_c.stopped_at.is_(None), _c.paused_at.is_(None))
            .group_by(_c.kind))).all()
        return {str(k): int(n) for k, n in rows}

    async def snapshot(self) -> StateGauges:
        """All of the above (four statements), as one consistent-enough picture for a scrape."""
        return StateGauges(queues=await self.queue_depth(), open_by_status=await self.open_by_status(),
                           outbox=await self.outbox_depth(), clocks_running=await self.clocks_running())


__all__ = ["SqlGauges"]
