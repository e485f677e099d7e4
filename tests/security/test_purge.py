"""``purge --older-than``: personal data of long-ended handoffs goes, anonymous metrics stay; idempotent; both DBs."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from handoff.errors import InvalidCommand, Unauthorized
from handoff.models import Actor, Surface
from handoff.ports import Csat
from handoff.services.retention import Retention, parse_age
from handoff.store import tables as t
from tests.support.clock import FakeClock
from tests.support.factories import intake_body

PERSONAL = ("Sarah", "sarah@techcompany.com", "WordPress", "launch tomorrow", "Widget broken", "wp_version",
            "Chrome 120", "card ends 4242", "Hello Sarah", "rude agent", "hooks.shop.example", "conv_", "TechCo")


async def _lifecycle(rt: Any, client: Any, *, email: str = "sarah@techcompany.com", close: bool = True,
                     resolve: bool = True) -> dict[str, Any]:
    body = intake_body(customer={"email": email, "company": "TechCo"}, callback_url="https://hooks.shop.example/h",
                       technical={"browser": "Chrome 120", "os": "macOS"},
                       trigger={"reason": "customer_request", "detail": "Sarah asked for a person"})
    h = (await client.post("/v1/handoffs", json=body)).json()
    hid = h["id"]
    await rt.actions.claim(hid, "emma", Surface.API)
    await rt.actions.add_note(hid, Actor.agent("emma"), Surface.API, "card ends 4242, call back")
    await rt.conversation.agent_reply(hid, "emma", "Hello Sarah, fixing it now", Surface.API)
    await rt.conversation.customer_message(hid, "Thanks, we launch tomorrow")
    if resolve:
        await rt.actions.resolve(hid, "emma", Surface.API, note="Sarah's plugin clash", outcome="fixed")
        async with rt.deps.uow() as uow:
            await uow.customer_side.add_csat(Csat(hid, 2, "rude agent", rt.deps.now()))
            await uow.commit()
    if close:
        await rt.actions.close(hid, Actor.agent("emma"), Surface.API, "Sarah confirmed")
    while await rt.dispatcher.drain_once():
        pass
    return h


async def _bury_one(rt: Any, hid: str) -> None:
    """Make the item of the note a dead letter (kept by the purge, scrubbed) instead of delivered (deleted)."""
    from sqlalchemy import update

    o = t.outbox.c
    async with rt.engine.begin() as conn:
        await conn.execute(update(t.outbox).where(o.handoff_id == hid, o.kind == "note_added").values(status="dead"))


async def _rows(rt: Any, hid: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    async with rt.engine.connect() as conn:
        for name, table, col in (("handoffs", t.handoffs, t.handoffs.c.id), ("messages", t.messages,
                                                                               t.messages.c.handoff_id),
                                 ("events", t.events, t.events.c.handoff_id), ("outbox", t.outbox,
                                                                              t.outbox.c.handoff_id),
                                 ("csat", t.csat_responses, t.csat_responses.c.handoff_id),
                                 ("refs", t.external_refs, t.external_refs.c.handoff_id)):
            out[name] = [dict(r) for r in (await conn.execute(select(table).where(col == hid))).mappings()]
        out["customers"] = [dict(r) for r in (await conn.execute(select(t.customers))).mappings()]
    return out


def _text(rows: Any) -> str:
    return json.dumps(rows, default=str)


@pytest.fixture
def clock(runtime: Any) -> FakeClock:
    c = FakeClock()
    object.__setattr__(runtime.deps, "clock", c)  # Deps is frozen; every service shares this instance
    return c


async def test_purge_removes_personal_data_and_keeps_metrics(runtime: Any, client: Any, clock: FakeClock) -> None:
    old = await _lifecycle(runtime, client)
    still_open = await _lifecycle(runtime, client, resolve=False, close=False)  # same customer, still talking
    await _bury_one(runtime, old["id"])
    before = await _rows(runtime, old["id"])
    clock.advance(timedelta(days=100).total_seconds())
    recent = await _lifecycle(runtime, client, email="lee@other.example")

    report = await Retention(runtime.deps).purge(timedelta(days=90))

    assert report.handoffs == 1
    assert report.messages == len(before["messages"]) > 3  # the AI transcript and the three later messages
    assert report.csat_comments == 1 and report.customers == 0  # the customer still has an open handoff
    assert report.outbox_items == len(before["outbox"])  # delivered ones deleted, the dead letter scrubbed
    after = await _rows(runtime, old["id"])
    assert after["messages"] == []
    [h], [h0] = after["handoffs"], before["handoffs"]
    for kept in ("status", "priority", "queue", "topic", "tier", "urgency", "outcome", "created_at", "claimed_at",
                 "first_response_at", "resolved_at", "closed_at", "claimed_by", "sla_due_at", "trigger_reason",
                 "rules_version", "reopen_count", "transfer_count", "escalation_count", "customer_id"):
        assert h[kept] == h0[kept], kept
    assert h["purged_at"] == clock.now() and h["customer_token"] != h0["customer_token"]
    assert h["ai"] == {"intent": "technical", "confidence": 0.52, "kb_hits": 0}
    assert [r["code"] for r in h["reasons"]] == [r["code"] for r in h0["reasons"]]
    assert [e["kind"] for e in after["events"]] == [e["kind"] for e in before["events"]]
    changed = [a["kind"] for a, b in zip(after["events"], before["events"], strict=True) if a != b]
    assert report.events == len(changed) and "claimed" not in changed  # a claim carries nothing personal
    assert [(e["actor_type"], e["actor_id"], e["source"], e["at"]) for e in after["events"]] == \
        [(e["actor_type"], e["actor_id"], e["source"], e["at"]) for e in before["events"]]
    resolved = next(e for e in after["events"] if e["kind"] == "resolved")
    assert resolved["data"]["outcome"] == "fixed" and "handle_seconds" in resolved["data"]
    assert after["csat"][0]["score"] == 2 and after["csat"][0]["comment"] is None
    assert [o["status"] for o in after["outbox"]] == ["dead"] and "card ends" in _text(before["outbox"])
    leaked = [p for p in PERSONAL if p in _text({k: v for k, v in after.items() if k != "customers"})]
    assert leaked == []
    api = await client.get(f"/v1/handoffs/{old['id']}")  # still readable: the metrics and the timeline
    assert api.status_code == 200 and api.json()["transcript"] == [] and api.json()["outcome"] == "fixed"
    shown = {k: v for k, v in api.json().items() if k != "customer"}  # the customer is still in a conversation
    assert [p for p in PERSONAL if p in _text(shown)] == []
    # The others are untouched.
    for other in (still_open, recent):
        rows = await _rows(runtime, other["id"])
        assert rows["handoffs"][0]["purged_at"] is None and rows["messages"] and "Sarah" in _text(rows["messages"])


async def test_purge_is_idempotent_and_anonymizes_the_customer_with_the_last_handoff(
        runtime: Any, client: Any, clock: FakeClock) -> None:
    first = await _lifecycle(runtime, client)
    second = await _lifecycle(runtime, client, close=False)
    clock.advance(timedelta(days=91).total_seconds())
    svc = Retention(runtime.deps, batch_size=1)  # several batches, one transaction each
    r1 = await svc.purge(timedelta(days=90))
    assert (r1.handoffs, r1.customers) == (2, 1)
    assert (await svc.purge(timedelta(days=90))).as_dict() == dict.fromkeys(r1.as_dict(), 0)
    rows = await _rows(runtime, first["id"])
    [customer] = rows["customers"]
    assert customer["email"] is None and customer["name"] is None and customer["company"] is None
    assert customer["plan"] == "professional" and customer["account_value"] == 1188  # not personal: metrics
    assert [p for p in PERSONAL if p in _text(rows) + _text(await _rows(runtime, second["id"]))] == []


async def test_a_purged_handoffs_customer_token_no_longer_works(runtime: Any, client: Any, clock: FakeClock) -> None:
    from handoff.services.customer import CustomerSide
    from handoff.services.waits import WaitTimes

    h = await _lifecycle(runtime, client)
    side = CustomerSide(runtime.deps, WaitTimes(runtime.deps), runtime.conversation)
    object.__setattr__(runtime.deps.config, "customer_token_grace_hours", 24 * 365)  # the grace does not save it
    clock.advance(timedelta(days=100).total_seconds())
    assert (await side.authorize(h["id"], h["customer_token"])).id == h["id"]
    await Retention(runtime.deps).purge(timedelta(days=90))
    with pytest.raises(Unauthorized):
        await side.authorize(h["id"], h["customer_token"])


async def test_concurrent_purges_take_each_handoff_once(runtime: Any, client: Any, clock: FakeClock) -> None:
    ids = []
    for i in range(12):
        h = (await client.post("/v1/handoffs", json=intake_body(customer={"email": f"c{i}@x.example"}))).json()
        await runtime.actions.claim(h["id"], "emma", Surface.API)
        await runtime.actions.resolve(h["id"], "emma", Surface.API)
        ids.append(h["id"])
    clock.advance(timedelta(days=91).total_seconds())
    reports = await asyncio.gather(*(Retention(runtime.deps, batch_size=3).purge(timedelta(days=90))
                                     for _ in range(3)))
    assert sum(r.handoffs for r in reports) == 12 and sum(r.customers for r in reports) == 12
    async with runtime.engine.connect() as conn:
        left = (await conn.execute(select(t.handoffs.c.id).where(t.handoffs.c.purged_at.is_(None)))).all()
    assert left == []


def test_ages_parse_and_bad_ones_are_named() -> None:
    assert parse_age("90d") == timedelta(days=90)
    assert parse_age("12w") == timedelta(weeks=12)
    assert parse_age(" 36H ") == timedelta(hours=36)
    for bad in ("0d", "90", "d", "-5d", "1.5d", "90 days", ""):
        with pytest.raises(InvalidCommand, match="positive number of hours, days or weeks"):
            parse_age(bad)
