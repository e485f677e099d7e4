"""API keys in the database (hashes only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from handoff.auth import ApiKey, Scope
from handoff.store import tables as t

_k = t.api_keys.c


def _key(r: RowMapping) -> ApiKey:
    return ApiKey(id=r["id"], name=r["name"], scope=Scope(r["scope"]), prefix=r["prefix"], key_hash=r["key_hash"],
                  created_at=r["created_at"], last_used_at=r["last_used_at"], revoked_at=r["revoked_at"])


class SqlApiKeys:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, key: ApiKey) -> None:
        await self.conn.execute(t.api_keys.insert().values(
            id=key.id, name=key.name, scope=key.scope.value, prefix=key.prefix, key_hash=key.key_hash,
            created_at=key.created_at, last_used_at=key.last_used_at, revoked_at=key.revoked_at))

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        row = (await self.conn.execute(select(t.api_keys).where(_k.key_hash == key_hash))).mappings().first()
        return _key(row) if row else None

    async def by_id(self, key_id: str) -> ApiKey | None:
        row = (await self.conn.execute(select(t.api_keys).where(_k.id == key_id))).mappings().first()
        return _key(row) if row else None

    async def list(self) -> Sequence[ApiKey]:
        rows = await self.conn.execute(select(t.api_keys).order_by(_k.created_at, _k.id))
        return [_key(r) for r in rows.mappings()]

    async def revoke(self, key_id: str, now: datetime) -> bool:
        r = await self.conn.execute(update(t.api_keys).where(_k.id == key_id, _k.revoked_at.is_(None))
                                    .values(revoked_at=now))
        return bool(r.rowcount)

    async def touch(self, key_id: str, now: datetime) -> None:
        await self.conn.execute(update(t.api_keys).where(_k.id == key_id).values(last_used_at=now))
