"""Repositories over one :class:`AsyncConnection` (the unit of work's transaction)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, and_, bindparam, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.schema import Table

from handoff.contract import CustomerIn, HandoffIn
from handoff.errors import ConcurrentUpdate
from handoff.ids import new_id
from handoff.models import POSITION_LIMIT, Agent, AgentStatus, Customer, Event, Handoff, Status
from handoff.ports import AgentPerformance, ExternalRef, Page, TranscriptLine
from handoff.store import tables as t
from handoff.store.flush import Staging, event_values
from handoff.store.mapping import (
    agent_from_row,
    agent_values,
    customer_from_row,
    event_from_row,
    handoff_from_row,
    handoff_state,
)


def upsert_insert(conn: AsyncConnection, table: Table) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@lru_cache(maxsize=1)
def _position_query() -> Any:
    """Queued handoffs ahead of one in its queue: higher priority first, then older (ids break ties)."""
    h = t.handoffs.c
    rank: Any = bindparam("rank", type_=Integer())
    created: Any = bindparam("created_at", type_=t.handoffs.c.created_at.type)
    ahead = or_(h.priority_rank < rank,
                and_(h.priority_rank == rank, or_(h.created_at < created,
                                                  and_(h.created_at == created, h.id < bindparam("id")))))
    # Counted through ix_handoffs_queue_order and stopped at POSITION_LIMIT rows: the cost is bounded however deep
    # the queue (an incident backlog of 50,000 costs what 1,000 does); past the limit the place is "over 1,000".
    rows = (select(literal(1)).select_from(t.handoffs)
            .where(h.status == Status.QUEUED.value, h.queue == bindparam("queue"), ahead)
            .limit(POSITION_LIMIT).subquery())
    return select(func.count()).select_from(rows)


@lru_cache(maxsize=8)
def _intake_statements(dialect: str) -> dict[str, Any]:
    """Hot-path statements built once per dialect and executed with parameters.

    Building ``insert().values(...)`` per request costs more CPU than the database round trip; a prebuilt
    statement hits SQLAlchemy's compiled cache directly.
    """
    ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
    handoff = (ins(t.handoffs).on_conflict_do_nothing(index_elements=["source", "conversation_id"])
               .returning(t.handoffs.c.id))
    c = t.customers.c
    cust = ins(t.customers)
    ex = cust.excluded
    kept = ("name", "company", "external_id")
    updated = ("plan", "account_value", "vip", "locale", "timezone", "tenure_days", "flags", "updated_at")
    customer = cust.on_conflict_do_update(index_elements=["email"], set_={
        **{k: ex[k] for k in updated}, **{k: func.coalesce(ex[k], c[k]) for k in kept},
    }).returning(t.customers)
    return {"handoff": handoff, "customer": customer, "customer_plain": cust.returning(t.customers),
            "messages": t.messages.insert(),
            "events": t.events.insert().returning(t.events.c.id, sort_by_parameter_order=True)}


async def insert_handoff(conn: AsyncConnection, values: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> bool:
    """SQLite's half of :mod:`handoff.store.flush`: the handoff row and its transcript; False for a repeat
    conversation (nothing written)."""
    stmts = _intake_statements(conn.dialect.name)
    if (await conn.execute(stmts["handoff"], dict(values))).first() is None:
        return False
    if lines:
        await conn.execute(stmts["messages"], [dict(x) for x in lines])
    return True


async def by_ids[T](conn: AsyncConnection, table: Table, ids: Sequence[str], convert: Callable[[Any], T], *,
                    key: str = "id", where: Sequence[Any] = ()) -> dict[str, T]:
    """Rows of ``table`` whose ``key`` column is one of ``ids`` (and that match ``where``), converted, keyed by
    that column; one query per 500 ids (bounded parameters); unknown ids left out."""
    wanted = list(dict.fromkeys(ids))
    out: dict[str, T] = {}
    for i in range(0, len(wanted), 500):
        q = select(table).where(table.c[key].in_(wanted[i:i + 500]), *where)
        out.update((r[key], convert(r)) for r in (await conn.execute(q)).mappings())
    return out


class SqlHandoffs:
    def __init__(self, conn: AsyncConnection, staging: Staging | None = None) -> None:
        self.conn = conn
        # A new handoff is built in memory and written at the commit, in one statement with its transcript,
        # clocks, events and outbox items (handoff.store.flush).
        self.staging = staging or Staging()
        # What this unit of work wrote itself (a new handoff, its transcript; each later save): the commit
        # observer (the SLA keeper) reads them back without a round trip. Locking reads always go to the database.
        self._written: dict[str, Handoff] = {}
        self._lines: dict[str, list[TranscriptLine]] = {}

    async def get(self, handoff_id: str) -> Handoff | None:
        if handoff_id in self._written:
            return self._written[handoff_id]
        row = (await self.conn.execute(select(t.handoffs).where(t.handoffs.c.id == handoff_id))).mappings().first()
        return handoff_from_row(row) if row else None

    async def get_many(self, handoff_ids: Sequence[str]) -> dict[str, Handoff]:
        """Several handoffs in one query (500 ids per statement at most), keyed by id; unknown ids left out."""
        return await by_ids(self.conn, t.handoffs, handoff_ids, handoff_from_row)

    async def find_by_conversation(self, source: str, conversation_id: str) -> Handoff | None:
        q = select(t.handoffs).where(t.handoffs.c.source == source, t.handoffs.c.conversation_id == conversation_id)
        row = (await self.conn.execute(q)).mappings().first()
        return handoff_from_row(row) if row else None

    async def add(self, handoff: Handoff, body: HandoffIn, routing: Sequence[Mapping[str, Any]] = (), *,
                  promised_wait_seconds: float | None = None) -> None:
        values = {
            "promised_wait_seconds": promised_wait_seconds,
            "id": handoff.id, "source": handoff.source, "conversation_id": handoff.conversation_id,
            "customer_id": handoff.customer_id, "trigger_reason": handoff.trigger_reason,
            "trigger_detail": handoff.trigger_detail, "why": handoff.why,
            "rules_version": handoff.rules_version,
            "summary": handoff.summary, "ai": body.ai.model_dump(mode="json"),
            "technical": body.technical.model_dump(mode="json") if body.technical else None,
            "locale": handoff.locale, "callback_url": handoff.callback_url, "customer_token": handoff.customer_token,
            "created_at": handoff.created_at, "version": handoff.version, "routing": [dict(r) for r in routing],
            **handoff_state(handoff),
        }
        lines = [{"handoff_id": handoff.id, "seq": i, "role": m.role, "text": m.text, "ts": m.ts,
                  "confidence": m.confidence, "author": None} for i, m in enumerate(body.transcript)]
        self.staging.stage_handoff(values, lines)
        self._written[handoff.id] = handoff
        self._lines[handoff.id] = [TranscriptLine(role=m.role, text=m.text, ts=m.ts, confidence=m.confidence, seq=i)
                                   for i, m in enumerate(body.transcript)]

    async def save(self, handoff: Handoff, expected_version: int) -> Handoff:
        saved = replace(handoff, version=expected_version + 1)
        if self.staging.owns(handoff.id):  # not written yet: its row changes in memory
            staged = self.staging.handoff
            assert staged is not None
            if staged["version"] != expected_version:
                raise ConcurrentUpdate(f"handoff {handoff.id} changed concurrently", handoff_id=handoff.id)
            staged.update(handoff_state(handoff), version=saved.version)
            self._written[handoff.id] = saved
            return saved
        stmt = (update(t.handoffs)
                .where(t.handoffs.c.id == handoff.id, t.handoffs.c.version == expected_version)
                .values(**handoff_state(handoff), version=expected_version + 1))
        result = await self.conn.execute(stmt)
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"handoff {handoff.id} changed concurrently", handoff_id=handoff.id)
        if handoff.id in self._written:
            self._written[handoff.id] = saved
        return saved

    async def list(self, *, status: Status | None, queue: str | None, limit: int, cursor: str | None) -> Page:
        q = select(t.handoffs).order_by(t.handoffs.c.id.desc()).limit(limit + 1)
        if status is not None:
            q = q.where(t.handoffs.c.status == status.value)
        if queue is not None:
            q = q.where(t.handoffs.c.queue == queue)
        if cursor:
            q = q.where(t.handoffs.c.id < cursor)
        rows = (await self.conn.execute(q)).mappings().all()
        items = [handoff_from_row(r) for r in rows[:limit]]
        return Page(items=items, next_cursor=items[-1].id if len(rows) > limit and items else None)

    async def position(self, handoff: Handoff) -> int:
        """Exact up to ``POSITION_LIMIT`` handoffs ahead; ``POSITION_LIMIT + 1`` means "more than that ahead"."""
        if handoff.status != Status.QUEUED:
            return 0
        params = {"queue": handoff.queue, "rank": handoff.priority.rank, "created_at": handoff.created_at,
                  "id": handoff.id}
        return int((await self.conn.execute(_position_query(), params)).scalar_one()) + 1

    async def transcript(self, handoff_id: str) -> Sequence[TranscriptLine]:
        if handoff_id in self._lines:
            return list(self._lines[handoff_id])
        return await self.messages_after(handoff_id, -1, limit=100_000)

    async def messages_after(self, handoff_id: str, after_seq: int, limit: int = 200) -> Sequence[TranscriptLine]:
        m = t.messages.c
        q = select(t.messages).where(m.handoff_id == handoff_id, m.seq > after_seq).order_by(m.seq).limit(limit)
        return [TranscriptLine(role=r.role, text=r.text, ts=r.ts, confidence=r.confidence, seq=r.seq, author=r.author)
                for r in await self.conn.execute(q)]

    async def lock(self, handoff_id: str) -> Handoff | None:
        q = select(t.handoffs).where(t.handoffs.c.id == handoff_id).with_for_update()
        row = (await self.conn.execute(q)).mappings().first()
        return handoff_from_row(row) if row else None

    async def lock_many(self, handoff_ids: Sequence[str], *, skip_locked: bool = False) -> dict[str, Handoff]:
        """Lock several handoffs in one statement, in id order; ``skip_locked`` leaves out the ones another
        transaction holds (a background tick must never wait on an agent's action: it takes them next time)."""
        ids = sorted(set(handoff_ids))
        if not ids:
            return {}
        q = (select(t.handoffs).where(t.handoffs.c.id.in_(ids)).order_by(t.handoffs.c.id)
             .with_for_update(skip_locked=skip_locked))
        return {r["id"]: handoff_from_row(r) for r in (await self.conn.execute(q)).mappings()}

    async def append_message(self, handoff_id: str, *, role: str, text: str, at: datetime,
                             author: str | None) -> int:
        m = t.messages.c
        last = (await self.conn.execute(select(func.max(m.seq)).where(m.handoff_id == handoff_id))).scalar()
        seq = (last if last is not None else -1) + 1
        await self.conn.execute(t.messages.insert().values(handoff_id=handoff_id, seq=seq, role=role, text=text,
                                                           ts=at, author=author))
        self._lines.pop(handoff_id, None)  # read it from the database from now on
        return int(seq)

    async def count_recent_for_customer(self, customer_id: str, since: datetime, exclude: str | None) -> int:
        h = t.handoffs.c
        q = select(func.count()).select_from(t.handoffs).where(h.customer_id == customer_id, h.created_at >= since)
        if exclude:
            q = q.where(h.id != exclude)
        return int((await self.conn.execute(q)).scalar_one())


    async def context(self, handoff_id: str) -> Mapping[str, Any]:
        h = t.handoffs.c
        row = (await self.conn.execute(select(h.ai, h.technical, h.routing).where(h.id == handoff_id))).first()
        if row is None:
            return {}
        return {"ai": row.ai or {}, "technical": row.technical or {}, "routing": row.routing or []}

    async def queued(self, queue: str | None, limit: int) -> Sequence[Handoff]:
        h = t.handoffs.c
        q = (select(t.handoffs).where(h.status == Status.QUEUED.value)
             .order_by(h.priority_rank, h.created_at, h.id).limit(limit))
        if queue is not None:
            q = q.where(h.queue == queue)
        return [handoff_from_row(r) for r in (await self.conn.execute(q)).mappings()]

    async def held_by(self, agent_id: str, limit: int) -> Sequence[Handoff]:
        h = t.handoffs.c
        q = (select(t.handoffs)
             .where(h.claimed_by == agent_id, h.status.in_([Status.CLAIMED.value, Status.PENDING_CUSTOMER.value]))
             .order_by(h.claimed_at, h.id).limit(limit))
        return [handoff_from_row(r) for r in (await self.conn.execute(q)).mappings()]


class SqlCustomers:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._written: dict[str, Customer] = {}  # upserted in this unit of work (read back by its observer)

    async def upsert(self, customer: CustomerIn, now: datetime) -> Customer:
        """Insert or refresh the customer. The latest handoff's view wins; a missing name/company keeps the known
        one. ``created_at == now`` on the result tells a customer seen for the first time."""
        values: dict[str, Any] = {
            "id": new_id("cu"), "email": customer.email, "created_at": now,
            "name": customer.name, "company": customer.company, "plan": customer.plan,
            "account_value": customer.account_value, "vip": customer.vip, "locale": customer.locale,
            "timezone": customer.timezone, "tenure_days": customer.tenure_days, "flags": list(customer.flags),
            "external_id": customer.id, "updated_at": now,
        }
        stmts = _intake_statements(self.conn.dialect.name)
        stmt = stmts["customer"] if customer.email is not None else stmts["customer_plain"]
        row = (await self.conn.execute(stmt, values)).mappings().one()
        found = customer_from_row(row)
        self._written[found.id] = found
        return found

    async def get(self, customer_id: str) -> Customer | None:
        if customer_id in self._written:
            return self._written[customer_id]
        row = (await self.conn.execute(select(t.customers).where(t.customers.c.id == customer_id))).mappings().first()
        return customer_from_row(row) if row else None

    async def get_many(self, customer_ids: Sequence[str]) -> dict[str, Customer]:
        """Several customers in one query (500 ids per statement at most), keyed by id."""
        return await by_ids(self.conn, t.customers, customer_ids, customer_from_row)

    async def find_by_email(self, email: str) -> Customer | None:
        q = select(t.customers).where(t.customers.c.email == email.lower())
        row = (await self.conn.execute(q)).mappings().first()
        return customer_from_row(row) if row else None

    async def enrich(self, customer_id: str, changes: Mapping[str, Any], now: datetime) -> Customer | None:
        allowed = {"name", "company", "plan", "account_value", "vip"}
        values = {k: v for k, v in changes.items() if k in allowed and v is not None}
        if values:
            await self.conn.execute(update(t.customers).where(t.customers.c.id == customer_id)
                                    .values(**values, updated_at=now))
            self._written.pop(customer_id, None)
        return await self.get(customer_id)


class SqlAgents:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, agent_id: str) -> Agent | None:
        row = (await self.conn.execute(select(t.agents).where(t.agents.c.id == agent_id))).mappings().first()
        return agent_from_row(row) if row else None

    async def ensure(self, agent_id: str, now: datetime) -> Agent:
        found = await self.get(agent_id)
        if found is not None:
            return found
        agent = Agent(id=agent_id, display_name=agent_id, status=AgentStatus.AVAILABLE)
        stmt = upsert_insert(self.conn, t.agents).values(id=agent_id, created_at=now, updated_at=now,
                                                         **agent_values(agent))
        await self.conn.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))
        return await self.get(agent_id) or agent

    async def upsert(self, agent: Agent, now: datetime) -> Agent:
        values = {**agent_values(agent), "updated_at": now}
        stmt = upsert_insert(self.conn, t.agents).values(id=agent.id, created_at=now, **values)
        await self.conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
        return agent

    async def list(self) -> Sequence[Agent]:
        rows = (await self.conn.execute(select(t.agents).order_by(t.agents.c.id))).mappings().all()
        return [agent_from_row(r) for r in rows]

    async def open_counts(self) -> Mapping[str, int]:
        h = t.handoffs.c
        q = (select(h.claimed_by, func.count())
             .where(h.claimed_by.is_not(None), h.status.in_([Status.CLAIMED.value, Status.PENDING_CUSTOMER.value]))
             .group_by(h.claimed_by))
        return {a: int(n) for a, n in (await self.conn.execute(q)).all()}


    async def performance(self, since: datetime) -> Mapping[str, AgentPerformance]:
        h = t.handoffs.c
        q = (select(h.claimed_by, h.created_at, h.first_response_at, h.status)
             .where(h.claimed_by.is_not(None), h.created_at >= since).limit(50_000))
        per: dict[str, list[tuple[float | None, bool]]] = {}
        for agent, created, first, status in await self.conn.execute(q):
            wait = (first - created).total_seconds() if first and created else None
            per.setdefault(agent, []).append((wait, status in (Status.RESOLVED.value, Status.CLOSED.value)))
        out: dict[str, AgentPerformance] = {}
        for agent, rows in per.items():
            waits = sorted(w for w, _ in rows if w is not None)
            median = waits[len(waits) // 2] if waits else None
            out[agent] = AgentPerformance(handled=len(rows), median_first_response_s=median,
                                          resolution_rate=sum(1 for _, ok in rows if ok) / len(rows))
        return out

    async def successes_with(self, customer_id: str) -> Mapping[str, int]:
        h = t.handoffs.c
        q = (select(h.claimed_by, func.count()).where(
            h.customer_id == customer_id, h.claimed_by.is_not(None),
            h.status.in_([Status.RESOLVED.value, Status.CLOSED.value])).group_by(h.claimed_by))
        return {a: int(n) for a, n in await self.conn.execute(q)}


    async def by_handle(self, surface: str, handle: str) -> Agent | None:
        # Agents are few (a support team), and JSON lookups differ per dialect: filter in Python.
        return next((a for a in await self.list() if a.handles.get(surface) == handle), None)


class SqlEvents:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def append(self, event: Event) -> int:
        return (await self.append_many([event]))[0]

    async def append_many(self, events: Sequence[Event]) -> list[int]:
        """Write events in one statement (an INSERT … RETURNING of several rows); their ids, in order."""
        if not events:
            return []
        params = [event_values(e) for e in events]
        stmt = _intake_statements(self.conn.dialect.name)["events"]
        if len(params) == 1:
            return [int((await self.conn.execute(stmt, params[0])).scalar_one())]
        return [int(i) for i in (await self.conn.execute(stmt, params)).scalars()]

    async def for_handoff(self, handoff_id: str) -> Sequence[Event]:
        e = t.events.c
        rows = (await self.conn.execute(select(t.events).where(e.handoff_id == handoff_id).order_by(e.id)))
        return [event_from_row(r) for r in rows.mappings()]

    async def for_customer(self, customer_id: str, kinds: Sequence[str]) -> Sequence[Event]:
        e, h = t.events.c, t.handoffs.c
        q = (select(t.events).join(t.handoffs, h.id == e.handoff_id)
             .where(h.customer_id == customer_id, e.kind.in_(list(kinds))).order_by(e.id))
        return [event_from_row(r) for r in (await self.conn.execute(q)).mappings()]


class SqlExternalRefs:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    @staticmethod
    def _ref(r: Any) -> ExternalRef:
        return ExternalRef(handoff_id=r["handoff_id"], system=r["system"], kind=r["kind"],
                           external_id=r["external_id"], data=r["data"] or {})

    async def get(self, handoff_id: str, system: str, kind: str) -> ExternalRef | None:
        x = t.external_refs.c
        row = (await self.conn.execute(select(t.external_refs).where(
            x.handoff_id == handoff_id, x.system == system, x.kind == kind))).mappings().first()
        return self._ref(row) if row else None

    async def get_many(self, handoff_ids: Sequence[str], system: str, kind: str) -> dict[str, ExternalRef]:
        """The references of several handoffs (one query per 500), keyed by handoff id."""
        x = t.external_refs.c
        return await by_ids(self.conn, t.external_refs, handoff_ids, self._ref, key="handoff_id",
                            where=(x.system == system, x.kind == kind))

    async def put(self, handoff_id: str, system: str, kind: str, external_id: str, data: Mapping[str, Any],
                  now: datetime) -> None:
        await self.put_many([(handoff_id, external_id, data)], system, kind, now)

    async def put_many(self, refs: Sequence[tuple[str, str, Mapping[str, Any]]], system: str, kind: str,
                       now: datetime) -> None:
        """Create or replace several references ((handoff id, external id, data)) in one statement."""
        if not refs:
            return
        latest = {h: (e, d) for h, e, d in refs}  # one row per key: an upsert cannot touch a row twice
        stmt = upsert_insert(self.conn, t.external_refs)
        ex = stmt.excluded
        stmt = stmt.on_conflict_do_update(index_elements=["handoff_id", "system", "kind"], set_={
            "external_id": ex.external_id, "data": ex.data, "updated_at": ex.updated_at})
        await self.conn.execute(stmt, [
            {"handoff_id": h, "system": system, "kind": kind, "external_id": e, "data": dict(d), "created_at": now,
             "updated_at": now} for h, (e, d) in latest.items()])

    async def find(self, system: str, kind: str, external_id: str) -> ExternalRef | None:
        x = t.external_refs.c
        row = (await self.conn.execute(select(t.external_refs).where(
            x.system == system, x.kind == kind, x.external_id == external_id).limit(1))).mappings().first()
        return self._ref(row) if row else None

    async def for_handoff(self, handoff_id: str) -> Sequence[ExternalRef]:
        x = t.external_refs.c
        rows = await self.conn.execute(select(t.external_refs).where(x.handoff_id == handoff_id).order_by(x.id))
        return [self._ref(r) for r in rows.mappings()]
