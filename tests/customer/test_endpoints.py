"""Customer endpoints over HTTP: token scope and expiry, status, messages, CSAT once, callback, CORS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import API_KEY
from tests.customer.conftest import KEY, bearer, new_handoff


async def test_status_needs_the_handoffs_own_token_never_the_api_key(cclient: Any) -> None:
    a = await new_handoff(cclient)
    b = await new_handoff(cclient)
    url = f"/v1/handoffs/{a['id']}/status"
    assert (await cclient.get(url)).status_code == 401
    assert (await cclient.get(url, headers=KEY)).status_code == 401  # the server key is not a customer token
    assert (await cclient.get(url, headers=bearer(b["customer_token"]))).status_code == 401  # scoped to one handoff
    assert (await cclient.get(url, params={"token": a["customer_token"][:-1] + "x"})).status_code == 401
    unknown = await cclient.get("/v1/handoffs/ho_nope/status", headers=bearer(a["customer_token"]))
    assert unknown.status_code == 401  # unknown ids look like wrong tokens: ids cannot be probed
    ok = await cclient.get(url, headers=bearer(a["customer_token"]))
    assert ok.status_code == 200, ok.text
    by_query = await cclient.get(url, params={"token": a["customer_token"]})
    assert by_query.status_code == 200
    s = ok.json()
    assert s["status"] == "queued" and s["position"] == 1 and s["agent"] is None
    assert s["estimate"] is not None and s["estimate"]["seconds"] >= 0
    assert [m["role"] for m in s["messages"]] == ["customer", "ai", "customer"]
    assert "why" not in s and "reasons" not in s and "basis" not in s["estimate"]


async def test_status_shows_agent_display_name_and_messages_after_cursor(cclient: Any) -> None:
    h = await new_handoff(cclient)
    tok = bearer(h["customer_token"])
    claim = await cclient.post(f"/v1/handoffs/{h['id']}/claim", json={"agent_id": "emma"}, headers=KEY)
    assert claim.status_code == 200
    await cclient.post(f"/v1/handoffs/{h['id']}/replies", json={"agent_id": "emma", "text": "Looking now"}, headers=KEY)
    await cclient.post(f"/v1/handoffs/{h['id']}/notes", json={"agent_id": "emma", "text": "SECRET internal"},
                       headers=KEY)
    s = (await cclient.get(f"/v1/handoffs/{h['id']}/status", params={"after": 2}, headers=tok)).json()
    assert s["status"] == "claimed" and s["agent"] == {"display_name": "Emma"} and s["position"] is None
    assert s["estimate"] is None
    assert [(m["role"], m["text"], m["author"]) for m in s["messages"]] == [("agent", "Looking now", "Emma")]
    assert "SECRET" not in str(s) and "emma" not in str(s)
    assert s["next_cursor"] == 3


async def test_customer_message_reaches_the_thread_through_the_outbox(cclient: Any, crt: Any) -> None:
    h = await new_handoff(cclient)
    r = await cclient.post(f"/v1/handoffs/{h['id']}/messages", json={"text": "Any news?"},
                           headers=bearer(h["customer_token"]))
    assert r.status_code == 201, r.text
    while await crt.dispatcher.drain_once():
        pass
    recorder = next(d for d in crt.destinations if d.name == "recorder")
    assert recorder.kinds_for(h["id"]) == ["created", "customer_message"]
    assert recorder.delivered[recorder.order[-1]].payload["data"]["text"] == "Any news?"
    empty = await cclient.post(f"/v1/handoffs/{h['id']}/messages", json={"text": ""},
                               headers=bearer(h["customer_token"]))
    assert empty.status_code == 422


async def test_csat_only_after_resolution_and_only_once(cclient: Any) -> None:
    h = await new_handoff(cclient)
    tok, hid = bearer(h["customer_token"]), h["id"]
    early = await cclient.post(f"/v1/handoffs/{hid}/csat", json={"score": 5}, headers=tok)
    assert early.status_code == 409
    await cclient.post(f"/v1/handoffs/{hid}/claim", json={"agent_id": "emma"}, headers=KEY)
    await cclient.post(f"/v1/handoffs/{hid}/resolve", json={"agent_id": "emma"}, headers=KEY)
    assert (await cclient.post(f"/v1/handoffs/{hid}/csat", json={"score": 6}, headers=tok)).status_code == 422
    first = await cclient.post(f"/v1/handoffs/{hid}/csat", json={"score": 4, "comment": "quick"}, headers=tok)
    assert first.status_code == 201, first.text
    again = await cclient.post(f"/v1/handoffs/{hid}/csat", json={"score": 1}, headers=tok)
    assert again.status_code == 409
    s = (await cclient.get(f"/v1/handoffs/{hid}/status", headers=tok)).json()
    assert s["rated"] is True and s["status"] == "resolved"
    detail = (await cclient.get(f"/v1/handoffs/{hid}", headers=KEY)).json()
    csat = [e for e in detail["timeline"] if e["kind"] == "csat_received"]
    assert len(csat) == 1 and csat[0]["data"] == {"score": 4, "comment": "quick"}


async def test_callback_request_is_recorded_once_for_the_card(cclient: Any) -> None:
    h = await new_handoff(cclient)
    tok, hid = bearer(h["customer_token"]), h["id"]
    r = await cclient.post(f"/v1/handoffs/{hid}/callback", json={"channel": "email", "contact": "s@x.io"}, headers=tok)
    assert r.status_code == 201 and r.json()["created"] is True
    again = await cclient.post(f"/v1/handoffs/{hid}/callback", json={"channel": "callback"}, headers=tok)
    assert again.status_code == 200 and again.json()["event_id"] == r.json()["event_id"]
    bad = await cclient.post(f"/v1/handoffs/{hid}/callback", json={"channel": "fax"}, headers=tok)
    assert bad.status_code == 422
    detail = (await cclient.get(f"/v1/handoffs/{hid}", headers=KEY)).json()
    calls = [e for e in detail["timeline"] if e["kind"] == "callback_requested"]
    assert len(calls) == 1 and calls[0]["data"]["contact"] == "s@x.io"
    assert (await cclient.get(f"/v1/handoffs/{hid}/status", headers=tok)).json()["callback_requested"] is True


async def test_token_expires_after_resolution_plus_grace(cclient: Any, crt: Any) -> None:
    from handoff.services.common import SystemClock
    from tests.support.clock import FakeClock

    h = await new_handoff(cclient)
    tok, hid = bearer(h["customer_token"]), h["id"]
    await cclient.post(f"/v1/handoffs/{hid}/claim", json={"agent_id": "emma"}, headers=KEY)
    await cclient.post(f"/v1/handoffs/{hid}/resolve", json={"agent_id": "emma"}, headers=KEY)
    assert (await cclient.get(f"/v1/handoffs/{hid}/status", headers=tok)).status_code == 200
    clock = FakeClock(SystemClock().now() + timedelta(hours=crt.config.customer_token_grace_hours, minutes=1))
    object.__setattr__(crt.deps, "clock", clock)  # Deps is frozen; the services share this one instance
    expired = await cclient.get(f"/v1/handoffs/{hid}/status", headers=tok)
    assert expired.status_code == 401 and "expired" in expired.json()["message"]


async def test_cors_only_on_customer_endpoints(cclient: Any) -> None:
    h = await new_handoff(cclient)
    pre = await cclient.options(f"/v1/handoffs/{h['id']}/events", headers={"Origin": "https://shop.example",
                                                                          "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "*"
    assert "Last-Event-ID" in pre.headers["access-control-allow-headers"]
    s = await cclient.get(f"/v1/handoffs/{h['id']}/status", headers=bearer(h["customer_token"]))
    assert s.headers["access-control-allow-origin"] == "*"
    api = await cclient.get(f"/v1/handoffs/{h['id']}", headers={**KEY, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in api.headers
    assert API_KEY not in s.text


async def test_widget_and_demo_page_are_served_small_and_self_contained(cclient: Any) -> None:
    js = await cclient.get("/widget.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("application/javascript")
    assert len(js.content) < 20 * 1024
    assert "http://" not in js.text and "https://" not in js.text.split("*/", 1)[1]  # no CDN, no external calls
    page = await cclient.get("/")
    assert page.status_code == 200 and '<script src="/widget.js"' in page.text
    assert "aria-label" in js.text and "<label" not in js.text  # labels are built as elements
    assert 'el("label"' in js.text


async def test_demo_intake_forces_source_and_refuses_emails(cclient: Any) -> None:
    body = {"conversation_id": "demo-abcdef12", "name": "Maria", "locale": "es",
            "transcript": [{"role": "customer", "text": "Me cobraron dos veces la suscripción"}]}
    r = await cclient.post("/demo/handoffs", json=body)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["customer_token"] and "Maria" in d["customer_message"] and "Te estoy conectando" in d["customer_message"]
    detail = (await cclient.get(f"/v1/handoffs/{d['id']}", headers=KEY)).json()
    assert detail["source"] == "demo"
    assert (await cclient.post("/demo/handoffs", json={**body, "email": "ceo@bigco.com"})).status_code == 422
    assert (await cclient.post("/demo/handoffs", json={**body, "source": "widget"})).status_code == 422


async def test_demo_intake_is_rate_limited_per_address_in_the_one_error_shape(cclient: Any) -> None:
    codes = []
    for i in range(8):
        body = {"conversation_id": f"demo-rate{i:04d}", "transcript": [{"role": "customer", "text": "a human"}]}
        r = await cclient.post("/demo/handoffs", json=body)
        codes.append(r.status_code)
    assert codes == [201] * 6 + [429] * 2  # six a minute from one address
    assert r.json()["error"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1


async def test_concurrent_ratings_record_exactly_one(cclient: Any) -> None:
    import asyncio

    h = await new_handoff(cclient)
    tok, hid = bearer(h["customer_token"]), h["id"]
    await cclient.post(f"/v1/handoffs/{hid}/claim", json={"agent_id": "emma"}, headers=KEY)
    await cclient.post(f"/v1/handoffs/{hid}/resolve", json={"agent_id": "emma"}, headers=KEY)
    answers = await asyncio.gather(*[cclient.post(f"/v1/handoffs/{hid}/csat", json={"score": s}, headers=tok)
                                     for s in (1, 2, 3, 4, 5)])
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409, 409]
    detail = (await cclient.get(f"/v1/handoffs/{hid}", headers=KEY)).json()
    assert len([e for e in detail["timeline"] if e["kind"] == "csat_received"]) == 1


async def test_a_status_poll_reads_only_what_its_state_shows(cclient: Any, crt: Any) -> None:
    """A waiting customer's poll: the token check, the place in line, the customer's time zone, new messages and
    the timeline's mark — five reads (outside a transaction on PostgreSQL), nothing written once listened."""
    from tests.support.statements import statements

    h = await new_handoff(cclient)
    url, tok = f"/v1/handoffs/{h['id']}/status", bearer(h["customer_token"])
    assert (await cclient.get(url, headers=tok)).status_code == 200  # the first poll marks it listened to
    with statements(crt.engine) as seen:
        s = (await cclient.get(url, headers=tok)).json()
    assert s["status"] == "queued" and s["position"] == 1 and s["estimate"] is not None
    assert [x for x in seen if x != "BEGIN"] == ["SELECT"] * 5, seen  # SQLite's own BEGIN DEFERRED aside
