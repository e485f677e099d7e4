"""The outbox table: enqueue with the transaction, lease in batches, complete, retry, dead-letter.

Ordering: an item is leased only when no earlier item of its lane (same handoff and destination) is still
pending or being delivered, so a lane is delivered in order. Leasing takes the head of each lane with
``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite serializes writers with ``BEGIN IMMEDIATE``), then the
items queued right behind those heads, which no other dispatcher can take while their head is out.
A lease that expires (the process died) makes its items claimable again: delivery is at least once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, and_, case, exists, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from handoff.outbox import Backlog, OutboxItem, OutboxMessage, OutboxStatus
from handoff.store import tables as t

_o = t.outbox.c
_LIVE = (OutboxStatus.PENDING.value, OutboxStatus.DELIVERING.value)
# Inline literals, not bind parameters: the partial indexes on live items are only usable when the planner
# can see that the query asks for live items (prepared statements with generic plans cannot).
_LIVE_LITERALS: list[ColumnElement[str]] = [literal_column("'pending'"), literal_column("'delivering'")]


def _item(r: RowMapping) -> OutboxItem:
    return OutboxItem(
        id=r["id"], destination=r["destination"], kind=r["kind"], handoff_id=r["handoff_id"],
        payload=r["payload"] or {}, idempotency_key=r["idempotency_key"], attempts=r["attempts"],
        status=OutboxStatus(r["status"]), created_at=r["created_at"], next_attempt_at=r["next_attempt_at"],
        last_error=r["last_error"], delivered_at=r["delivered_at"],
    )


class SqlOutbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def enqueue(self, messages: Sequence[OutboxMessage], now: datetime) -> None:
        if not messages:
            return
        await self.conn.execute(t.outbox.insert(), [
            {"destination": m.destination, "kind": m.kind, "handoff_id": m.handoff_id, "payload": dict(m.payload),
             "idempotency_key": m.idempotency_key, "status": OutboxStatus.PENDING.value, "attempts": 0,
             "next_attempt_at": now, "created_at": now}
            for m in messages
        ])

    async def claim(self, *, worker: str, destinations: Sequence[str], limit: int, lane_limit: int,
                    lease_seconds: float, now: datetime) -> list[OutboxItem]:
        if not destinations or limit <= 0:
            return []
        earlier = aliased(t.outbox)
        e = earlier.c
        # OFFSET 0 keeps this a correlated probe of the lane index per candidate, whatever the planner's
        # statistics say (as an anti-join on a fresh, unanalysed table it degrades to O(n²)).
        blocked = exists(select(e.id).where(e.status.in_(_LIVE_LITERALS), e.handoff_id == _o.handoff_id,
                                            e.destination == _o.destination, e.id < _o.id).offset(0))
        due = ((_o.status == OutboxStatus.PENDING.value) & (_o.next_attempt_at <= now)) | (
            (_o.status == OutboxStatus.DELIVERING.value) & (_o.lease_until < now))
        heads_q = (select(_o.id).where(_o.status.in_(_LIVE_LITERALS), _o.destination.in_(destinations), due, ~blocked)
                   .order_by(_o.id).limit(limit).with_for_update(skip_locked=True))
        until = now + timedelta(seconds=lease_seconds)
        lease = {"status": OutboxStatus.DELIVERING.value, "lease_owner": worker, "lease_until": until,
                 "attempts": _o.attempts + 1}
        # Found, locked and leased in one statement (the queue idiom UPDATE … WHERE id IN (SELECT … FOR UPDATE
        # SKIP LOCKED)): atomic on its own, so the dispatcher runs it outside a transaction.
        heads = (await self.conn.execute(
            update(t.outbox).where(_o.id.in_(heads_q.scalar_subquery())).values(**lease)
            .returning(t.outbox))).mappings().all()
        if not heads:
            return []
        items = [_item(r) for r in heads]
        if lane_limit > 1:
            items.extend(await self._claim_followers(items, destinations, lane_limit, lease, now))
        items.sort(key=lambda i: i.id)
        return items

    async def _claim_followers(self, heads: list[OutboxItem], destinations: Sequence[str], lane_limit: int,
                               lease: dict[str, Any], now: datetime) -> list[OutboxItem]:
        lanes = {(h.handoff_id, h.destination): h.id for h in heads if h.handoff_id is not None}
        if not lanes:
            return []
        handoff_ids = sorted({h for h, _ in lanes})
        # Pending items, and items of a dead dispatcher's lease that sit behind the head we now hold.
        claimable = (_o.status == OutboxStatus.PENDING.value) | (
            (_o.status == OutboxStatus.DELIVERING.value) & (_o.lease_until < now))
        ranked = (select(_o.id, _o.handoff_id, _o.destination,
                         func.row_number().over(partition_by=(_o.handoff_id, _o.destination), order_by=_o.id)
                         .label("n"))
                  .where(_o.handoff_id.in_(handoff_ids), _o.destination.in_(destinations), claimable)
                  .subquery())
        rows = (await self.conn.execute(select(ranked).where(ranked.c.n < lane_limit))).all()
        ids = [r.id for r in rows if (r.handoff_id, r.destination) in lanes and r.id > lanes[(r.handoff_id,
                                                                                              r.destination)]]
        if not ids:
            return []
        stmt = update(t.outbox).where(_o.id.in_(ids), claimable).values(**lease).returning(t.outbox)
        return [_item(r) for r in (await self.conn.execute(stmt)).mappings()]

    async def complete(self, ids: Sequence[int], worker: str, now: datetime) -> None:
        if ids:
            await self.conn.execute(
                update(t.outbox).where(_o.id.in_(list(ids)), _o.lease_owner == worker)
                .values(status=OutboxStatus.DONE.value, delivered_at=now, lease_owner=None, lease_until=None))

    async def extend(self, ids: Sequence[int], worker: str, until: datetime) -> None:
        if ids:
            await self.conn.execute(
                update(t.outbox).where(_o.id.in_(list(ids)), _o.lease_owner == worker,
                                       _o.status == OutboxStatus.DELIVERING.value)
                .values(lease_until=until))

    async def reschedule(self, item_id: int, worker: str, *, at: datetime, error: str, count_attempt: bool) -> None:
        attempts = _o.attempts if count_attempt else _o.attempts - 1
        await self.conn.execute(
            update(t.outbox).where(_o.id == item_id, _o.lease_owner == worker)
            .values(status=OutboxStatus.PENDING.value, next_attempt_at=at, last_error=error[:4000],
                    lease_owner=None, lease_until=None, attempts=attempts))

    async def release(self, ids: Sequence[int], worker: str) -> None:
        if ids:
            await self.conn.execute(
                update(t.outbox).where(_o.id.in_(list(ids)), _o.lease_owner == worker)
                .values(status=OutboxStatus.PENDING.value, lease_owner=None, lease_until=None,
                        attempts=case((_o.attempts > 0, _o.attempts - 1), else_=0)))

    async def bury(self, item_id: int, worker: str, error: str, now: datetime) -> None:
        await self.conn.execute(
            update(t.outbox).where(_o.id == item_id, _o.lease_owner == worker)
            .values(status=OutboxStatus.DEAD.value, last_error=error[:4000], lease_owner=None, lease_until=None))

    async def list(self, *, status: str | None, limit: int) -> Sequence[OutboxItem]:
        q = select(t.outbox).order_by(_o.id.desc()).limit(limit)
        if status:
            q = q.where(_o.status == status)
        return [_item(r) for r in (await self.conn.execute(q)).mappings()]

    async def get(self, item_id: int) -> OutboxItem | None:
        row = (await self.conn.execute(select(t.outbox).where(_o.id == item_id))).mappings().first()
        return _item(row) if row else None

    async def retry(self, item_id: int, now: datetime) -> bool:
        """Put a dead item back in line with a fresh attempt count."""
        result = await self.conn.execute(
            update(t.outbox).where(and_(_o.id == item_id, _o.status == OutboxStatus.DEAD.value))
            .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now, lease_owner=None,
                    lease_until=None))
        return bool(result.rowcount == 1)

    async def counts(self) -> Mapping[str, int]:
        rows = (await self.conn.execute(select(_o.status, func.count()).group_by(_o.status))).all()
        return {s: int(n) for s, n in rows}

    async def backlog(self, *, dead_since: datetime) -> Mapping[str, Backlog]:
        # Only live and dead rows (the status index), never the delivered history.
        watched = [*_LIVE_LITERALS, literal_column("'dead'")]
        live = _o.status.in_(_LIVE_LITERALS)
        rows = (await self.conn.execute(
            select(_o.destination,
                   func.count().filter(live).label("pending"),
                   func.count().filter(live & _o.last_error.is_not(None)).label("failing"),
                   func.count().filter(~live).label("dead"),
                   func.count().filter(~live & (_o.next_attempt_at >= dead_since)).label("dead_recent"),
                   func.min(case((live, _o.created_at))).label("oldest"),
                   func.max(case((_o.last_error.is_not(None), _o.id))).label("error_id"))
            .where(_o.status.in_(watched)).group_by(_o.destination))).mappings().all()
        error_ids = [r["error_id"] for r in rows if r["error_id"] is not None]
        errors = dict((await self.conn.execute(
            select(_o.id, _o.last_error).where(_o.id.in_(error_ids)))).all()) if error_ids else {}
        return {r["destination"]: Backlog(destination=r["destination"], pending=int(r["pending"]),
                                          failing=int(r["failing"]), dead=int(r["dead"]),
                                          dead_recent=int(r["dead_recent"]), oldest_pending_at=r["oldest"],
                                          last_error=errors.get(r["error_id"]))
                for r in rows}
