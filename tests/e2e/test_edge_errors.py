"""Careless and hostile inputs get a clear answer in the one error shape — never a 500 — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from handoff.models import Agent
from tests.support.factories import intake_body

NUL = "\u0000"


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


async def _nothing_written(c: Any) -> None:
    assert (await c.get("/v1/handoffs")).json()["items"] == []


async def test_nul_and_control_characters_never_reach_the_store(eclient: Any) -> None:
    body = intake_body(
        customer={"name": f"Sarah{NUL} Chen", "email": f"sarah{NUL}@techcompany.com", "company": "Acme\x07"},
        transcript=[{"role": "customer", "text": f"it broke{NUL}\x1b[31m red\x0bnext line"}],
        ai={"summary": f"sum{NUL}mary", "entities": {f"k{NUL}ey": [f"v{NUL}", {"deep": f"x{NUL}"}]}},
        technical={"browser": f"Chrome{NUL}", "errors": [f"e{NUL}"], "extra": {"n": f"m{NUL}"}},
        trigger={"reason": "low_confidence", "detail": f"d{NUL}"})
    r = await eclient.post("/v1/handoffs", json=body)
    assert r.status_code == 201, r.text
    rec = (await eclient.get(f"/v1/handoffs/{r.json()['id']}")).json()
    assert rec["customer"]["name"] == "Sarah Chen" and rec["customer"]["email"] == "sarah@techcompany.com"
    assert rec["customer"]["company"] == "Acme"
    assert rec["transcript"][0]["text"] == "it broke[31m red\nnext line"
    assert rec["summary"] == "summary" and rec["trigger"]["detail"] == "d"
    assert NUL not in json.dumps(rec, ensure_ascii=False)
    hid, token = r.json()["id"], r.json()["customer_token"]

    note = await eclient.post(f"/v1/handoffs/{hid}/notes", json={"agent_id": f"em{NUL}ma", "text": f"n{NUL}ote"})
    assert note.status_code == 201 and note.json()["actor"] == "agent:emma"
    assert '"note"' in json.dumps(note.json()) and NUL not in json.dumps(note.json(), ensure_ascii=False)
    said = await eclient.post(f"/v1/handoffs/{hid}/messages", json={"text": f"hello{NUL}?"},
                              headers={"Authorization": f"Bearer {token}"})
    assert said.status_code == 201, said.text
    agent = await eclient.put("/v1/agents/lee", json={"languages": [f"e{NUL}n", "de"], "display_name": f"L{NUL}ee"})
    assert agent.status_code == 200 and agent.json()["languages"] == ["en", "de"]
    assert agent.json()["display_name"] == "Lee"


async def test_an_identifier_that_is_only_control_characters_is_refused(eclient: Any) -> None:
    r = await eclient.post("/v1/handoffs", json=intake_body(conversation_id=NUL * 3))
    assert r.status_code == 422 and r.json()["message"].startswith("conversation_id:")
    await _nothing_written(eclient)


@pytest.mark.parametrize("url", ["/v1/handoffs/ho_x%00y", "/v1/handoffs?queue=%00", "/v1/handoffs?status=%01",
                                 "/v1/agents/a%00b", "/v1/handoffs/ho_x/status?token=%00"])
async def test_control_characters_in_the_url_are_422(eclient: Any, url: str) -> None:
    r = await (eclient.put(url, json={}) if "agents" in url else eclient.get(url))
    assert r.status_code == 422 and r.json()["error"] == "invalid_url"


async def test_time_zones_and_hours_are_checked_at_the_api(eclient: Any) -> None:
    r = await eclient.put("/v1/agents/lee", json={"timezone": "America", "working_hours": "09:00-17:00"})
    assert r.status_code == 422 and r.json()["message"].startswith("timezone: 'America' is not an IANA time zone")
    r = await eclient.put("/v1/agents/lee", json={"working_hours": "25:99-17:00"})
    assert r.status_code == 422 and r.json()["message"].startswith("working_hours:")
    assert "lee" not in {a["id"] for a in (await eclient.get("/v1/agents")).json()}  # nothing half-written
    for path in ("/v1/handoffs", "/v1/evaluate"):
        r = await eclient.post(path, json=intake_body(customer={"timezone": "Europe"}))
        assert r.status_code == 422 and r.json()["message"].startswith("customer.timezone:"), r.text
    await _nothing_written(eclient)
    ok = await eclient.put("/v1/agents/lee", json={"timezone": "Europe/Berlin", "working_hours": "22:00-06:00"})
    assert ok.status_code == 200 and ok.json()["working_hours"] == "22:00-06:00"


async def test_routing_survives_a_bad_zone_already_in_the_store(eclient: Any, full_rt: Any) -> None:
    now = datetime.now(UTC)
    async with full_rt.deps.uow() as uow:  # stored before validation existed, or written by hand
        await uow.agents.upsert(Agent(id="lee", display_name="Lee", skills=("technical",), timezone="America",
                                      working_hours="09:00-17:00"), now)
        await uow.commit()
    for path in ("/v1/handoffs", "/v1/evaluate"):
        r = await eclient.post(path, json=intake_body(customer={"timezone": "America/New_York"}))
        assert r.status_code in (200, 201), r.text


@pytest.mark.parametrize(("patch", "where"), [
    ({"customer": {"locale": "en-aaaaaaaa-bbbbbbbb-cccccccc-dddddddd"}}, "customer.locale"),
    ({"ai": {"entities": _nested(900)}}, "ai.entities"),
    ({"technical": _nested(500)}, "technical"),
    ({"ai": {"entities": {f"k{i}": i for i in range(501)}}}, "ai.entities"),
    ({"ai": {"kb_hits": False}}, "ai.kb_hits"),
    ({"customer": {"vip": "true"}}, "customer.vip"),
    ({"customer": {"account_value": "1188"}}, "customer.account_value"),
    ({"customer": {"tenure_days": "400"}}, "customer.tenure_days"),
    ({"ai": {"customer_rating": True}}, "ai.customer_rating"),
])
async def test_length_depth_and_type_mismatches_are_422_naming_the_field(eclient: Any, patch: dict[str, Any],
                                                                         where: str) -> None:
    r = await eclient.post("/v1/handoffs", json=intake_body(**patch))
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_error" and r.json()["message"].startswith(f"{where}:")
    await _nothing_written(eclient)


async def test_strict_types_in_agent_action_bodies(eclient: Any) -> None:
    hid = (await eclient.post("/v1/handoffs", json=intake_body())).json()["id"]
    await eclient.post(f"/v1/handoffs/{hid}/claim", json={"agent_id": "emma"})
    r = await eclient.post(f"/v1/handoffs/{hid}/escalate", json={"agent_id": "emma", "warm": 0})
    assert r.status_code == 422 and r.json()["message"].startswith("warm:")
    r = await eclient.post(f"/v1/handoffs/{hid}/resolve", json={"agent_id": "emma", "kb_gap": "yes"})
    assert r.status_code == 422 and r.json()["message"].startswith("kb_gap:")
    r = await eclient.put("/v1/agents/emma", json={"capacity": "3"})
    assert r.status_code == 422 and r.json()["message"].startswith("capacity:")
    r = await eclient.put("/v1/agents/" + "a" * 201, json={})
    assert r.status_code == 422 and "agent_id" in r.json()["message"]
    ok = await eclient.post("/v1/evaluate", json=intake_body(ai={"confidence": 1, "kb_hits": 2}))
    assert ok.status_code == 200  # an integer is a fine number


async def test_bodies_that_are_not_json_say_what_is_expected(eclient: Any) -> None:
    r = await eclient.post("/v1/handoffs", content=b"{bad", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json() == {
        "error": "invalid_json",
        "message": "request body is not valid JSON: Expecting property name enclosed in double quotes at line 1, "
                   "column 2"}
    raw = json.dumps(intake_body()).encode()
    r = await eclient.post("/v1/handoffs", content=raw, headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type"
    assert "'Content-Type: application/json'" in r.json()["message"] and "'text/plain'" in r.json()["message"]
    r = await eclient.post("/v1/handoffs", content=raw, headers={"Content-Type": ""})
    assert r.status_code == 415 and "no Content-Type header" in r.json()["message"]
    r = await eclient.post("/v1/handoffs/ho_x/reopen")
    assert r.status_code == 422 and "needs a JSON body" in r.json()["message"]
    ok = await eclient.post("/v1/handoffs", content=raw, headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 201


async def test_unknown_routes_and_methods_answer_in_the_error_shape(eclient: Any) -> None:
    for r in (await eclient.get("/v1/nope"), await eclient.post("/v1/handoffs/ho_x/frobnicate", json={})):
        assert r.status_code == 404 and r.json()["error"] == "not_found" and "no route" in r.json()["message"]
    r = await eclient.delete("/v1/handoffs")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    assert r.headers["allow"] == "GET, POST, OPTIONS"
    r = await eclient.options("/v1/handoffs")
    assert r.status_code == 204 and r.headers["allow"] == "GET, POST, OPTIONS"
    r = await eclient.options("/v1/agents/emma")
    assert r.status_code == 204 and r.headers["allow"] == "PUT, OPTIONS"
    assert (await eclient.options("/v1/nope")).status_code == 404


async def test_a_cursor_is_one_this_api_gave_out(eclient: Any) -> None:
    for _ in range(3):
        assert (await eclient.post("/v1/handoffs", json=intake_body())).status_code == 201
    page = (await eclient.get("/v1/handoffs", params={"limit": 2})).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = (await eclient.get("/v1/handoffs", params={"limit": 2, "cursor": page["next_cursor"]})).json()
    assert len(rest["items"]) == 1
    for bad in ("zzz", "ho_" + "!" * 26, "x" * 64):
        r = await eclient.get("/v1/handoffs", params={"cursor": bad})
        assert r.status_code == 422 and r.json()["message"].startswith("query.cursor:")


async def test_anonymous_or_empty_intake_is_accepted_with_warnings(eclient: Any) -> None:
    r = await eclient.post("/v1/handoffs", json={"conversation_id": "anon-1"})
    assert r.status_code == 201, r.text
    assert [w["code"] for w in r.json()["warnings"]] == ["anonymous_customer", "empty_transcript"]
    assert all(w["message"] for w in r.json()["warnings"])
    e = await eclient.post("/v1/evaluate", json={"conversation_id": "anon-2", "customer": {"email": "a@b.co"}})
    assert [w["field"] for w in e.json()["warnings"]] == ["transcript"]
    full = await eclient.post("/v1/handoffs", json=intake_body())
    assert full.json()["warnings"] == []
