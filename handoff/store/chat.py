"""Chat-surface state in the database: burst groups and broken-channel notices (:mod:`handoff.chat.state`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from handoff.chat.state import ChatGroup
from handoff.store import tables as t
from handoff.store.repositories import upsert_insert


class SqlChatState:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def arrivals(self, queues: Sequence[str], since: datetime, until: datetime) -> int:
        h = t.handoffs.c
        stmt = select(func.count()).select_from(t.handoffs).where(
            h.queue.in_(list(queues)), h.created_at >= since, h.created_at <= until)
        return int((await self.conn.execute(stmt)).scalar_one())

    async def _ensure(self, surface: str, channel: str, now: datetime) -> None:
        stmt = upsert_insert(self.conn, t.chat_channels).values(surface=surface, channel=channel, group_dirty=False,
                                                                notices={}, updated_at=now)
        await self.conn.execute(stmt.on_conflict_do_nothing(index_elements=["surface", "channel"]))

    async def _row(self, surface: str, channel: str, *, lock: bool) -> Any:
        c = t.chat_channels.c
        stmt = select(t.chat_channels).where(c.surface == surface, c.channel == channel)
        if lock and self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return (await self.conn.execute(stmt)).first()

    async def group(self, surface: str, channel: str, *, lock: bool = False) -> ChatGroup | None:
        row = await self._row(surface, channel, lock=lock)
        if row is None or not row.group_message_id or row.group_first_at is None or row.group_last_at is None:
            return None
        return ChatGroup(message_id=row.group_message_id, queue=str(row.group_queue), first_at=row.group_first_at,
                         last_at=row.group_last_at, dirty=bool(row.group_dirty))

    async def save_group(self, surface: str, channel: str, group: ChatGroup, now: datetime) -> None:
        await self._ensure(surface, channel, now)
        c = t.chat_channels.c
        await self.conn.execute(update(t.chat_channels).where(c.surface == surface, c.channel == channel).values(
            group_message_id=group.message_id, group_queue=group.queue, group_first_at=group.first_at,
            group_last_at=group.last_at, group_dirty=group.dirty, updated_at=now))

    async def group_members(self, surface: str, group_key: str, limit: int) -> Sequence[str]:
        r = t.external_refs.c
        stmt = (select(r.handoff_id).where(r.system == surface, r.kind == "card", r.external_id == group_key)
                .order_by(r.id.desc()).limit(limit))
        return [row.handoff_id for row in await self.conn.execute(stmt)][::-1]

    async def first_notice(self, surface: str, channel: str, error: str, now: datetime) -> bool:
        await self._ensure(surface, channel, now)
        row = await self._row(surface, channel, lock=True)
        notices = dict(row.notices or {}) if row is not None else {}
        if error in notices:
            return False
        notices[error] = now.isoformat()
        c = t.chat_channels.c
        await self.conn.execute(update(t.chat_channels).where(c.surface == surface, c.channel == channel)
                                .values(notices=notices, updated_at=now))
        return True

    async def remember(self, surface: str, key: str, reference: Mapping[str, Any], now: datetime) -> None:
        values = {"reference": dict(reference), "updated_at": now}
        stmt = upsert_insert(self.conn, t.chat_references).values(surface=surface, key=key, **values)
        await self.conn.execute(stmt.on_conflict_do_update(index_elements=["surface", "key"], set_=values))

    async def reference(self, surface: str, key: str) -> Mapping[str, Any] | None:
        c = t.chat_references.c
        row = (await self.conn.execute(select(c.reference).where(c.surface == surface, c.key == key))).first()
        return dict(row.reference) if row is not None else None

    async def forget(self, surface: str, key: str) -> None:
        c = t.chat_references.c
        await self.conn.execute(delete(t.chat_references).where(c.surface == surface, c.key == key))
