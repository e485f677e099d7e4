"""The purge's SQL: find ended handoffs past the cutoff, remove and scrub their personal data (one batch)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from handoff.ids import new_token
from handoff.models import Status
from handoff.retention import scrub_ai, scrub_event_data, scrub_reasons
from handoff.store import tables as t

_h = t.handoffs.c
_ENDED = (Status.RESOLVED.value, Status.CLOSED.value)


class SqlRetention:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def purgeable(self, cutoff: datetime, limit: int) -> list[str]:
        """Ids of unpurged handoffs that ended (closed, else resolved) before ``cutoff``, locked until commit."""
        q = (select(_h.id).where(_h.status.in_(_ENDED), _h.purged_at.is_(None),
                                 func.coalesce(_h.closed_at, _h.resolved_at) < cutoff)
             .order_by(_h.id).limit(limit))
        if self.conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)  # a reopen in flight keeps its handoff; the next run gets it
        return [r.id for r in await self.conn.execute(q)]

    async def purge(self, ids: Sequence[str], now: datetime) -> dict[str, int]:
        """Scrub these handoffs (see :mod:`handoff.services.retention`); returns counts per kind of row."""
        ids = list(ids)
        counts = {"handoffs": len(ids)}
        counts["messages"] = (await self.conn.execute(delete(t.messages).where(t.messages.c.handoff_id.in_(ids))
                                                      )).rowcount or 0
        await self._handoffs(ids, now)
        counts["events"] = await self._events(ids)
        counts["csat_comments"] = (await self.conn.execute(
            update(t.csat_responses).where(t.csat_responses.c.handoff_id.in_(ids),
                                           t.csat_responses.c.comment.is_not(None)).values(comment=None))).rowcount or 0
        await self.conn.execute(delete(t.external_refs).where(t.external_refs.c.handoff_id.in_(ids),
                                                              t.external_refs.c.kind == "contact"))
        counts["outbox_items"] = await self._outbox(ids)
        counts["customers"] = await self._customers(ids, now)
        return counts

    async def _handoffs(self, ids: list[str], now: datetime) -> None:
        rows = (await self.conn.execute(select(_h.id, _h.ai, _h.reasons).where(_h.id.in_(ids)))).all()
        stmt = (update(t.handoffs).where(_h.id == bindparam("hid"))
                .values(ai=bindparam("new_ai"), reasons=bindparam("new_reasons"), conversation_id=bindparam("conv"),
                        customer_token=bindparam("token"), summary=None, trigger_detail=None, why="",
                        technical=None, callback_url=None, purged_at=now))
        await self.conn.execute(stmt, [
            {"hid": r.id, "new_ai": scrub_ai(r.ai), "new_reasons": scrub_reasons(r.reasons), "conv": f"purged:{r.id}",
             "token": new_token()} for r in rows])

    async def _events(self, ids: list[str]) -> int:
        e = t.events.c
        rows = (await self.conn.execute(select(e.id, e.data, e.reason).where(e.handoff_id.in_(ids)))).all()
        changed = [{"eid": r.id, "new_data": scrub_event_data(r.data or {})} for r in rows
                   if r.reason is not None or scrub_event_data(r.data or {}) != (r.data or {})]
        if changed:
            await self.conn.execute(update(t.events).where(e.id == bindparam("eid"))
                                    .values(data=bindparam("new_data"), reason=None), changed)
        return len(changed)

    async def _outbox(self, ids: list[str]) -> int:
        o = t.outbox.c
        done = (await self.conn.execute(delete(t.outbox).where(o.handoff_id.in_(ids), o.status == "done"))).rowcount
        rows = (await self.conn.execute(select(o.id, o.payload).where(o.handoff_id.in_(ids)))).all()
        scrubbed: list[dict[str, Any]] = []
        for r in rows:
            payload = dict(r.payload or {})
            payload["data"] = scrub_event_data(payload.get("data") or {})
            payload["reason"] = None
            if payload != r.payload:
                scrubbed.append({"oid": r.id, "new_payload": payload})
        if scrubbed:
            await self.conn.execute(update(t.outbox).where(o.id == bindparam("oid"))
                                    .values(payload=bindparam("new_payload")), scrubbed)
        return (done or 0) + len(scrubbed)

    async def _customers(self, ids: list[str], now: datetime) -> int:
        """Anonymize customers of these handoffs that have no unpurged handoff left."""
        c = t.customers.c
        other = t.handoffs.alias("other")
        still_used = exists().where(other.c.customer_id == c.id, other.c.purged_at.is_(None))
        mine = select(_h.customer_id).where(_h.id.in_(ids))
        personal = or_(c.name.is_not(None), c.email.is_not(None), c.company.is_not(None), c.timezone.is_not(None),
                       c.external_id.is_not(None))
        r = await self.conn.execute(update(t.customers).where(and_(c.id.in_(mine), ~still_used, personal))
                                    .values(name=None, email=None, company=None, timezone=None, external_id=None,
                                            updated_at=now))
        return r.rowcount or 0
