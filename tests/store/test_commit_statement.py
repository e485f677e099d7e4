"""The commit writer (handoff.store.flush): a new handoff built in memory and written with its transcript, SLA
clocks, events and outbox items at the commit — on PostgreSQL in one statement — or not at all."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from handoff.contract import HandoffIn
from handoff.errors import ConversationExists
from handoff.models import Actor, Event, EventKind, Surface
from handoff.store import tables as t
from tests.support.factories import intake_body
from tests.support.statements import statements


async def _counts(rt: Any) -> dict[str, int]:
    out = {}
    async with rt.deps.uow(read_only=True) as uow:
        for table in (t.handoffs, t.messages, t.sla_clocks, t.events, t.outbox):
            out[table.name] = int((await uow.connection.execute(select(func.count()).select_from(table))).scalar_one())
    return out


def _body(**over: Any) -> HandoffIn:
    return HandoffIn.model_validate(intake_body(customer={"email": f"{uuid.uuid4().hex[:10]}@example.com"}, **over))


async def test_an_intake_is_one_statement_on_postgresql_and_all_or_nothing(runtime: Any, db_url: str) -> None:
    body = _body()
    with statements(runtime.engine) as sent:
        first = await runtime.intake.submit(body)
    assert first.created
    h = first.handoff.id
    async with runtime.deps.uow(read_only=True) as uow:
        assert len(await uow.handoffs.transcript(h)) == len(body.transcript)
        clocks = await uow.sla.for_handoff(h)
        events = await uow.events.for_handoff(h)
    assert clocks and all(c.id is not None and c.id > 0 for c in clocks)  # real ids, not placeholders
    assert events[0].kind is EventKind.CREATED
    if db_url.startswith("postgresql"):
        # The customer upsert, the place in line, then one statement writes everything of the new handoff.
        writes = [s for s in sent if s in ("INSERT", "WITH", "UPDATE")]
        assert writes == ["INSERT", "WITH"], sent
    before = await _counts(runtime)
    again = await runtime.intake.submit(body)  # the same conversation: the existing handoff, nothing written
    assert not again.created and again.handoff.id == h
    assert await _counts(runtime) == before


async def test_event_ids_rise_in_order_and_outbox_items_carry_their_own(runtime: Any) -> None:
    h = (await runtime.intake.submit(_body())).handoff.id
    now = runtime.deps.now()
    kinds = [EventKind.NOTE_ADDED, EventKind.CUSTOMER_MESSAGE, EventKind.NOTE_ADDED]
    async with runtime.deps.uow() as uow:
        for i, kind in enumerate(kinds):
            uow.record(Event(handoff_id=h, kind=kind, actor=Actor.system(), source=Surface.API, at=now,
                             reason=f"n{i}", data={"text": f"m{i}", "i": i}))
        ids = await uow.commit()
    assert ids == sorted(ids) and len(set(ids)) == 3
    async with runtime.deps.uow(read_only=True) as uow:
        stored = {e.id: e for e in await uow.events.for_handoff(h)}
        rows = (await uow.connection.execute(select(t.outbox).where(t.outbox.c.handoff_id == h))).mappings().all()
    assert [stored[i].data["i"] for i in ids] == [0, 1, 2]
    for r in rows:
        event_id = r["payload"]["event_id"]
        assert r["idempotency_key"] == f"{r['destination']}:{h}:{event_id}"
        assert r["payload"]["kind"] == stored[event_id].kind.value


async def test_a_repeat_inside_one_unit_of_work_raises_and_writes_nothing(runtime: Any) -> None:
    body = _body()
    await runtime.intake.submit(body)
    before = await _counts(runtime)
    from handoff.services.intake import Intake

    intake: Intake = runtime.intake
    async with runtime.deps.uow() as uow:
        now = runtime.deps.now()
        customer = await uow.customers.upsert(body.customer, now)
        decision = intake.decider.evaluate(body, await intake._context(uow, body, now, customer.id), body.trigger)
        twin = intake._new_handoff(body, decision, customer.id, customer.plan, now)
        await uow.handoffs.add(twin, body, decision.routing)
        uow.record(Event(handoff_id=twin.id, kind=EventKind.CREATED, actor=Actor.system(), source=Surface.API,
                         at=now))
        with pytest.raises(ConversationExists):
            await uow.commit()
    assert await _counts(runtime) == before


async def test_the_wait_snapshots_merged_queue_heads_equal_one_global_order(runtime: Any) -> None:
    """``queued(limit, queues=…)`` merges each queue's head (an index scan per queue); it must return exactly the
    first ``limit`` waiting handoffs by priority, age and id, as the single sorted query does."""
    for intent in ("billing", "technical", "account", "sales", "general") * 3:
        await runtime.intake.submit(_body(ai={"intent": intent}))
    async with runtime.deps.uow(read_only=True) as uow:
        depth = await uow.customer_side.queue_depth()
        assert len(depth) >= 3  # several queues, so the merge has something to merge
        for limit in (1, 4, 7, 100):
            merged = await uow.customer_side.queued(limit, queues=sorted(depth))
            assert merged == await uow.customer_side.queued(limit)
            assert len(merged) == min(limit, sum(sum(v.values()) for v in depth.values()))
