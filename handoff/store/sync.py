"""Copy queues and agents from BATON_CONFIG into the database at start.

An agent's ``status`` is runtime state (set from Slack/Teams, the API or the CLI), so a restart keeps the
stored one; every other field follows the file.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from handoff.config import BatonConfig
from handoff.store import tables as t
from handoff.store.mapping import agent_values
from handoff.store.repositories import upsert_insert


async def sync_config(conn: AsyncConnection, config: BatonConfig, now: datetime) -> None:
    for name, q in config.queues.items():
        values = {"display_name": config.label(name), "channels": dict(q.channels), "lead": q.lead,
                  "updated_at": now}
        stmt = upsert_insert(conn, t.queues).values(name=name, **values)
        await conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values))
    for a in config.agents:
        values = {**agent_values(a.to_agent()), "updated_at": now}
        on_update = {k: v for k, v in values.items() if k != "status"}
        stmt = upsert_insert(conn, t.agents).values(id=a.id, created_at=now, **values)
        await conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=on_update))
