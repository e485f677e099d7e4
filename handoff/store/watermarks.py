"""Watermarks of periodic jobs (``watermarks``): how far a job has read, and a lease so one process reads at once.

``claim`` takes the lease when it is free (or expired) — an ``UPDATE … WHERE lease free`` that one process wins
— and returns the watermark; ``advance`` moves it and frees the lease. A process that dies holding the lease
only delays the next read until the lease expires; the read then starts from the last advanced watermark again
(re-reading is harmless for the jobs that use this: a closed case already applied is skipped).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from handoff.store import tables as t
from handoff.store.repositories import upsert_insert

_w = t.watermarks.c


class SqlWatermarks:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def claim(self, name: str, owner: str, now: datetime, *, initial: datetime, lease_seconds: float,
                    every_seconds: float = 0.0) -> datetime | None:
        """The watermark of ``name`` with this process holding its lease; None when another holds it, or (with
        ``every_seconds``) when the job already ran within that interval — in any process."""
        ins = upsert_insert(self.conn, t.watermarks).values(name=name, value=initial, updated_at=now)
        await self.conn.execute(ins.on_conflict_do_nothing(index_elements=["name"]))
        conditions = [_w.name == name, or_(_w.lease_until.is_(None), _w.lease_until < now)]
        if every_seconds > 0:
            conditions.append(or_(_w.polled_at.is_(None), _w.polled_at <= now - timedelta(seconds=every_seconds)))
        result = await self.conn.execute(
            update(t.watermarks).where(and_(*conditions))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds), polled_at=now))
        if result.rowcount != 1:
            return None
        value = (await self.conn.execute(select(_w.value).where(_w.name == name))).scalar_one()
        return value  # type: ignore[no-any-return]

    async def advance(self, name: str, owner: str, value: datetime, now: datetime) -> None:
        """Move the watermark forward (never back) and give the lease up."""
        current = (await self.conn.execute(select(_w.value).where(_w.name == name))).scalar_one_or_none()
        newest = max(value, current) if current is not None else value
        await self.conn.execute(update(t.watermarks).where(_w.name == name, _w.lease_owner == owner)
                                .values(value=newest, lease_owner=None, lease_until=None, updated_at=now))
