"""The /v1 API as the AI widget and agent tools use it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from handoff.decide.intent import IntentModel
from tests.support.factories import intake_body
from tests.support.timeline import lifecycle


async def post(client: Any, body: dict[str, Any]) -> Any:
    return await client.post("/v1/handoffs", json=body)


async def test_intake_answers_201_then_200_with_the_same_handoff(client: Any) -> None:
    body = intake_body()
    r1 = await post(client, body)
    assert r1.status_code == 201, r1.text
    first = r1.json()
    assert set(first) >= {"id", "status", "priority", "queue", "position", "estimated_wait_seconds",
                          "customer_message", "status_url", "customer_token"}
    assert first["status"] == "queued" and first["position"] == 1 and first["created"] is True
    assert first["id"].startswith("ho_") and len(first["customer_token"]) >= 40
    assert first["status_url"] == f"/v1/handoffs/{first['id']}/status"
    assert "Sarah" in first["customer_message"]
    r2 = await post(client, body)
    assert r2.status_code == 200
    again = r2.json()
    assert again["id"] == first["id"] and again["customer_token"] == first["customer_token"]
    assert again["created"] is False
    other_source = await post(client, {**body, "source": "email-bot"})
    assert other_source.status_code == 201 and other_source.json()["id"] != first["id"]


async def test_get_returns_record_customer_transcript_and_timeline(client: Any) -> None:
    created = (await post(client, intake_body())).json()
    r = await client.get(f"/v1/handoffs/{created['id']}")
    assert r.status_code == 200
    rec = r.json()
    assert rec["customer"]["email"] == "sarah@techcompany.com"
    assert [m["role"] for m in rec["transcript"]] == ["customer", "ai", "customer"]
    assert rec["transcript"][1]["confidence"] == 0.71
    assert [e["kind"] for e in lifecycle(rec["timeline"])] == ["created"]
    assert rec["timeline"][0]["actor"] == "system"
    assert rec["reasons"] and rec["why"] and rec["rules_version"]
    assert rec["position"] == 1


async def test_lifecycle_through_the_api_writes_the_timeline(client: Any) -> None:
    hid = (await post(client, intake_body())).json()["id"]

    async def act(action: str, **body: Any) -> Any:
        return await client.post(f"/v1/handoffs/{hid}/{action}", json=body)

    assert (await act("claim", agent_id="U0EMMA")).json()["claimed_by"] == "U0EMMA"
    assert (await act("notes", agent_id="U0EMMA", text="asked for the site URL")).status_code == 201
    r = await act("transfer", agent_id="U0EMMA", to_queue="billing", note="it is a billing question")
    assert r.json()["queue"] == "billing" and r.json()["status"] == "queued"
    assert (await act("claim", agent_id="U0RAJ")).status_code == 200
    r = await act("escalate", agent_id="U0RAJ", summary="refund > $500 needs L2", steps_taken=["checked invoice"],
                  warm=True)
    assert r.json()["tier"] == "L2" and r.json()["status"] == "queued"
    assert (await act("claim", agent_id="U0LEE")).status_code == 200
    assert (await act("pending", agent_id="U0LEE", reason="asked for invoice number")).json()["status"] == \
        "pending_customer"
    assert (await act("resume", agent_id="U0LEE")).json()["status"] == "claimed"
    r = await act("resolve", agent_id="U0LEE", note="refunded", outcome="resolved", kb_gap=True)
    assert r.json()["status"] == "resolved"
    assert (await act("reopen", reason="customer wrote back")).json()["reopen_count"] == 1
    timeline = (await client.get(f"/v1/handoffs/{hid}")).json()["timeline"]
    assert [e["kind"] for e in lifecycle(timeline)] == ["created", "claimed", "note_added", "transferred", "claimed",
                                             "escalated", "claimed", "pending_customer", "resumed", "resolved",
                                             "reopened"]
    escalated = lifecycle(timeline)[5]
    assert escalated["actor"] == "agent:U0RAJ" and escalated["source"] == "api"
    assert escalated["data"]["steps_taken"] == ["checked invoice"] and escalated["data"]["to_tier"] == "L2"
    agents = {a["id"] for a in (await client.get("/v1/agents")).json()}
    assert {"U0EMMA", "U0RAJ", "U0LEE"} <= agents  # seen for the first time → registered


async def test_illegal_transitions_are_409_with_a_reason(client: Any) -> None:
    hid = (await post(client, intake_body())).json()["id"]
    r = await client.post(f"/v1/handoffs/{hid}/resolve", json={"agent_id": "a"})
    assert r.status_code == 409 and r.json()["error"] == "illegal_transition"
    assert "queued" in r.json()["message"]
    await client.post(f"/v1/handoffs/{hid}/claim", json={"agent_id": "a"})
    r = await client.post(f"/v1/handoffs/{hid}/claim", json={"agent_id": "b"})
    assert r.status_code == 409 and r.json()["error"] == "already_claimed" and r.json()["details"]["claimed_by"] == "a"
    r = await client.post(f"/v1/handoffs/{hid}/release", json={"agent_id": "b"})
    assert r.status_code == 409 and r.json()["error"] == "not_holder"
    r = await client.post(f"/v1/handoffs/{hid}/transfer", json={"agent_id": "a", "to_queue": "nowhere"})
    assert r.status_code == 422 and "unknown queue" in r.json()["message"]


async def test_not_found_and_auth(client: Any) -> None:
    assert (await client.get("/v1/handoffs/ho_missing")).status_code == 404
    r = await client.post("/v1/handoffs/ho_missing/claim", json={"agent_id": "a"})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        r = await client.post("/v1/handoffs", json=intake_body(), headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert (await client.get("/healthz", headers={"Authorization": ""})).status_code == 200


@pytest.mark.parametrize(("raw", "code", "needle"), [
    (b"{not json", "invalid_json", "request body is not valid JSON"),
    (b"[]", "validation_error", "the body must be a JSON object"),
    (json.dumps({"customer": {}}).encode(), "validation_error", "conversation_id"),
    (json.dumps(intake_body(customer={"email": "nope"})).encode(), "validation_error", "customer.email"),
])
async def test_bad_input_is_422_and_names_the_field(client: Any, raw: bytes, code: str, needle: str) -> None:
    r = await client.post("/v1/handoffs", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == code and needle.lower() in body["message"].lower()
    assert code == "invalid_json" or body["errors"]
    listing = (await client.get("/v1/handoffs")).json()
    assert listing["items"] == []  # nothing half-written


async def test_size_limits_are_413(client: Any) -> None:
    many = intake_body(transcript=[{"role": "customer", "text": "hello"}] * 501)
    r = await post(client, many)
    assert r.status_code == 413 and "501 messages" in r.json()["message"]
    long = intake_body(transcript=[{"role": "customer", "text": "x" * 10_001}])
    r = await post(client, long)
    assert r.status_code == 413 and r.json()["details"]["field"] == "transcript.0.text"
    huge = json.dumps(intake_body(ai={"summary": "y" * 4000, "entities": {"blob": "z" * (1024 * 1024)}})).encode()
    r = await client.post("/v1/handoffs", content=huge, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    assert (await client.get("/v1/handoffs")).json()["items"] == []


async def test_list_filters_and_pages(client: Any) -> None:
    ids = [(await post(client, intake_body())).json()["id"] for _ in range(5)]
    await client.post(f"/v1/handoffs/{ids[0]}/claim", json={"agent_id": "a"})
    page1 = (await client.get("/v1/handoffs", params={"limit": 2})).json()
    assert [h["id"] for h in page1["items"]] == ids[::-1][:2] and page1["next_cursor"]
    page2 = (await client.get("/v1/handoffs", params={"limit": 2, "cursor": page1["next_cursor"]})).json()
    page3 = (await client.get("/v1/handoffs", params={"limit": 2, "cursor": page2["next_cursor"]})).json()
    assert [h["id"] for h in page2["items"] + page3["items"]] == ids[::-1][2:] and page3["next_cursor"] is None
    queued = (await client.get("/v1/handoffs", params={"status": "queued"})).json()["items"]
    assert {h["id"] for h in queued} == set(ids[1:])
    assert (await client.get("/v1/handoffs", params={"status": "bogus"})).status_code == 422


async def test_positions_follow_priority_then_age(client: Any) -> None:
    low = (await post(client, intake_body(ai={"intent": "sales", "confidence": 0.95, "kb_hits": 3},
                                          transcript=[{"role": "customer", "text": "What plans do you have?"}],
                                          customer={"plan": "free", "account_value": 0}))).json()
    crit = (await post(client, intake_body(ai={"intent": "sales", "confidence": 0.1},
                                           transcript=[{"role": "customer",
                                                        "text": "Our account was hacked, fraud charges!"}],
                                           customer={"plan": "enterprise", "account_value": 90000}))).json()
    if low["queue"] == crit["queue"]:
        assert crit["position"] == 1
        again = (await client.get(f"/v1/handoffs/{low['id']}")).json()
        assert again["position"] == 2


async def test_agents_can_be_changed_at_runtime(client: Any) -> None:
    r = await client.put("/v1/agents/U0EMMA", json={"display_name": "Emma", "skills": ["technical", "wordpress"],
                                                    "status": "away", "capacity": 4})
    assert r.status_code == 200 and r.json()["status"] == "away" and r.json()["skills"] == ["technical", "wordpress"]
    r = await client.put("/v1/agents/U0EMMA", json={"status": "available"})
    assert r.json()["status"] == "available" and r.json()["capacity"] == 4
    assert (await client.put("/v1/agents/U0EMMA", json={"status": "sleeping"})).status_code == 422


async def test_readyz_reports_database_and_migrations(client: Any) -> None:
    r = await client.get("/readyz")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "ready"
    assert body["database"] == "ok" and body["migrations"] == "current"
    assert re.fullmatch(r"\d+ in use of \d+", body["database_pool"])  # pool use, for operators under load


async def test_only_the_holder_speaks_to_the_customer(client: Any) -> None:
    hid = (await post(client, intake_body())).json()["id"]

    async def reply(agent: str, text: str) -> dict[str, Any]:
        r = await client.post(f"/v1/handoffs/{hid}/replies", json={"agent_id": agent, "text": text})
        assert r.status_code == 201, r.text
        return r.json()

    early = await reply("emma", "Hi Sarah, looking now")
    assert early["to_customer"] is False and "claim it" in early["why_internal"]
    await client.post(f"/v1/handoffs/{hid}/claim", json={"agent_id": "emma"})
    sent = await reply("emma", "Hi Sarah, I'm Emma from the technical team.")
    assert sent["to_customer"] is True and sent["event"]["kind"] == "agent_message"
    other = await reply("raj", "I think it's the CSP header")
    assert other["to_customer"] is False and "emma" in other["why_internal"]
    note = await reply("emma", "note: customer is on WP 6.3, CSP from a security plugin")
    assert note["to_customer"] is False and note["event"]["data"]["text"].startswith("customer is on WP")
    rec = (await client.get(f"/v1/handoffs/{hid}")).json()
    agent_lines = [m for m in rec["transcript"] if m["role"] == "agent"]
    assert [m["text"] for m in agent_lines] == ["Hi Sarah, I'm Emma from the technical team."]
    assert [e["kind"] for e in lifecycle(rec["timeline"])] == ["created", "note_added", "claimed", "agent_message",
                                                    "note_added", "note_added"]


async def test_database_down_is_503_with_retry_after_not_500() -> None:
    import httpx

    from app import build, create_app
    from tests.conftest import API_KEY, make_settings

    rt = build(make_settings("postgresql://postgres@127.0.0.1:1/nowhere"), with_log=False)
    app = create_app(rt, run_dispatcher=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"Authorization": f"Bearer {API_KEY}"}) as c:
        r = await c.post("/v1/handoffs", json=intake_body())
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert r.json()["error"] == "store_unavailable"
        ready = await c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"].startswith("unreachable")
    await rt.engine.dispose()


async def test_a_lost_database_connection_is_503_and_the_pool_recovers(pg_url: str) -> None:
    import asyncpg
    import httpx
    from sqlalchemy.engine import make_url

    from app import build, create_app, sync_agents
    from tests.conftest import API_KEY, make_settings

    rt = build(make_settings(pg_url), with_log=False)
    await sync_agents(rt)
    app = create_app(rt, run_dispatcher=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"Authorization": f"Bearer {API_KEY}"}) as c:
        assert (await c.post("/v1/handoffs", json=intake_body())).status_code == 201
        u = make_url(pg_url)
        admin = await asyncpg.connect(host=u.host, port=u.port, user=u.username, database=u.database)
        try:  # what a server restart does to pooled connections
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        finally:
            await admin.close()
        codes = [(await c.post("/v1/handoffs", json=intake_body())).status_code for _ in range(3)]
        assert 500 not in codes and codes[-1] == 201, codes
        assert set(codes) <= {201, 503}
    await rt.engine.dispose()


async def test_with_nobody_to_take_it_the_answer_gives_no_number_and_says_so(client: Any) -> None:
    r = (await post(client, intake_body())).json()  # no agents configured or seen yet
    assert r["estimated_wait_seconds"] is None and r["wait"]["state"] == "nobody_on_shift"
    assert "Nobody on our team is working right now" in r["customer_message"]  # said plainly, not
    assert "longer than usual" not in r["customer_message"]  # "longer than usual" (issue #9, point 4)


MODEL_FILE = Path(__file__).resolve().parents[2] / "config" / "intent_model.json"


async def test_evaluate_records_the_intent_model_beside_the_rules_hash(client: Any) -> None:
    model = IntentModel.load(MODEL_FILE)
    body = intake_body(transcript=[{"role": "customer", "text": "I can't get through to a live agent at all"}])
    r = await client.post("/v1/evaluate", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["model_version"] == model.version and out["model_data"] == model.data_sha[:12]
    assert out["escalate"] and any(x["code"] == "person_request" for x in out["reasons"])


async def _copies_ahead(runtime: Any, handoff_id: str, n: int) -> None:
    """``n`` copies of a queued handoff (same time, later ids: right behind it): a deep queue in one statement,
    the same on SQLite and PostgreSQL."""
    from sqlalchemy import text

    from handoff.store import tables

    cols = [c.name for c in tables.handoffs.columns]
    suffixed = {"id", "conversation_id", "customer_token"}  # unique: each copy gets its own
    select_list = ", ".join(f"h.{c} || '-' || CAST(s.n AS TEXT)" if c in suffixed else f"h.{c}" for c in cols)
    sql = (f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :n) "
           f"INSERT INTO handoffs ({', '.join(cols)}) SELECT {select_list} FROM handoffs h, s WHERE h.id = :id")
    async with runtime.deps.uow() as uow:
        await uow.connection.execute(text(sql), {"n": n, "id": handoff_id})
        await uow.commit()


async def test_a_place_past_a_thousand_is_told_as_more_than_a_thousand(client: Any, runtime: Any) -> None:
    """The place in line is counted exactly up to 1,000 ahead and no further (bounded work at any depth); past
    that the customer reads "more than 1,000 ahead" (the estimate then counts the queue from its depth:
tests/unit/test_waits_depth.py)."""
    from handoff.models import POSITION_LIMIT

    body = intake_body()
    first = (await post(client, body)).json()
    await _copies_ahead(runtime, first["id"], POSITION_LIMIT + 200)
    runtime.waits.invalidate()
    late = (await post(client, intake_body())).json()
    assert late["queue"] == first["queue"] and late["position"] == POSITION_LIMIT + 1
    assert "More than 1,000 people are ahead of you" in late["customer_message"]
    assert (await client.get(f"/v1/handoffs/{late['id']}")).json()["position"] == POSITION_LIMIT + 1
    # The first one is still first, exactly.
    assert (await client.get(f"/v1/handoffs/{first['id']}")).json()["position"] == 1


async def test_concurrent_intakes_read_the_wait_snapshot_from_memory(client: Any, runtime: Any) -> None:
    """No thundering herd: intakes never reload the queue snapshot once one exists (the process's refresher
    does, once per interval), however many arrive together after it aged."""
    import asyncio

    runtime.waits.ttl = 0.05
    await post(client, intake_body())  # the process's first intake loads it (nothing in memory yet)
    assert runtime.waits.loads == 1
    for _ in range(3):
        await asyncio.sleep(0.1)  # older than ttl: the old code reloaded it in every intake that saw it so
        answers = await asyncio.gather(*(post(client, intake_body()) for _ in range(10)))
        assert {a.status_code for a in answers} == {201}
        assert all(a.json()["customer_message"] for a in answers)
    assert runtime.waits.loads == 1
