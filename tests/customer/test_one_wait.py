"""One wait estimate: for one handoff at one moment, the intake answer, ``/status``, SSE (status and timeline
events), the signed webhook and the scheduled update all say the same — a number, or the same null and state,
including "nobody is on shift, back at …". A real uvicorn, a real dispatcher, a frozen clock; SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import API_KEY
from tests.customer.conftest import customer_settings
from tests.customer.sse_client import SseEvent, events, read_until
from tests.customer.webhook_receiver import Receiver, webhook_receiver
from tests.support.clock import FakeClock
from tests.support.factories import intake_body
from tests.support.server import serve_in_thread

KEY = {"Authorization": f"Bearer {API_KEY}"}
SECRET = "whsec_test_" + "w" * 24
# Both agents work 09:00-17:00 in Madrid (UTC+1 in November): 08:00-16:00 UTC.
CONFIG = """
queues:
  billing: {display_name: billing}
  technical: {display_name: technical}
  accounts: {display_name: accounts}
  sales: {display_name: sales}
  general: {display_name: support}
agents:
  - {id: emma, display_name: Emma, skills: [billing, technical, general, accounts, sales], capacity: 1,
     working_hours: "09:00-17:00", timezone: Europe/Madrid}
  - {id: raj, display_name: Raj, skills: [technical, general, billing], capacity: 1,
     working_hours: "09:00-17:00", timezone: Europe/Madrid}
outbox: {log_destination: false, poll_seconds: 0.05}
customer_updates: {tick_seconds: 0.1, min_interval_seconds: 60, max_interval_seconds: 90, long_wait_seconds: 600}
"""
WAIT_KEYS = ("wait_state", "wait_seconds", "wait_low", "wait_high", "back_at", "back_zone")


@contextmanager
def service(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[str]:
    from app import build, create_app
    from bot.web.customer import customer_integration
    from integrations.webhooks import webhook_integration

    cfg = tmp_path / "shifts.yaml"
    cfg.write_text(CONFIG)
    rt = build(customer_settings(db_url, str(cfg), BATON_WEBHOOK_SECRET=SECRET, BATON_CALLBACK_ALLOW="127.0.0.1"),
               integrations=[customer_integration, webhook_integration], with_log=False, clock=clock)
    rt.waits.ttl = 0  # no snapshot reuse: each path reads the queue itself, so any agreement is the code's
    app = create_app(rt)

    @app.get("/test/scheduled/{handoff_id}")
    async def scheduled(handoff_id: str) -> dict[str, Any]:
        """When the scheduler has planned the first update (so the test moves the clock only after that)."""
        from sqlalchemy import select

        from handoff.store import tables

        u = tables.customer_updates
        async with rt.deps.uow(read_only=True) as uow:
            row = (await uow.connection.execute(select(u.c.due_at).where(u.c.handoff_id == handoff_id))).first()
        return {"due_at": None if row is None or row.due_at is None else row.due_at.isoformat()}

    with serve_in_thread(app) as base:
        yield base


def wait_until(check: Callable[[], Any], what: str, within: float = 15) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def webhook(rec: Receiver, event_type: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        with rec.lock:
            for r in rec.requests:
                if r.headers.get("Baton-Event-Type") == event_type:
                    return dict(json.loads(r.body))
        return None

    return dict(wait_until(found, f"the {event_type} webhook"))


def as_facts(estimate: dict[str, Any]) -> dict[str, Any]:
    """``/status``'s estimate object in the flat names events carry."""
    return {"wait_state": estimate["state"], "wait_seconds": estimate["seconds"], "wait_low": estimate["low"],
            "wait_high": estimate["high"], "back_at": estimate["back_at"], "back_zone": estimate["back_zone"]}


def first(stream: Iterator[SseEvent], kind: str) -> SseEvent:
    return next(e for e in read_until(stream, lambda s: any(e.event == kind for e in s)) if e.event == kind)


def everything_agrees(api: httpx.Client, rec: Receiver, clock: FakeClock, body: dict[str, Any]) -> dict[str, Any]:
    """Create the handoff and check every path against the intake answer; returns the intake answer."""
    intake = api.post("/v1/handoffs", json=body, headers=KEY).json()
    hid, tok = intake["id"], {"Authorization": f"Bearer {intake['customer_token']}"}
    wait = intake["wait"]
    assert intake["estimated_wait_seconds"] == wait["seconds"]
    status = api.get(f"/v1/handoffs/{hid}/status", headers=tok).json()
    assert status["estimate"] == wait
    with api.stream("GET", f"/v1/handoffs/{hid}/events", params={"token": intake["customer_token"]}) as r:
        stream = events(r)
        seen = read_until(stream, lambda s: {"queued", "status"} <= {e.event for e in s})
        queued = next(e for e in seen if e.event == "queued")
        sse_status = next(e for e in seen if e.event == "status")
        assert sse_status.data["estimate"] == wait
        assert {k: queued.data["data"][k] for k in WAIT_KEYS} == as_facts(wait)
        assert queued.data["text"] == intake["customer_message"]  # the same words, too
        hook = webhook(rec, "queued")
        assert hook["data"] == queued.data["data"] and hook["text"] == queued.data["text"]
        # The first scheduled update is due one interval later; at that (frozen) moment it agrees with /status.
        wait_until(lambda: api.get(f"/test/scheduled/{hid}").json()["due_at"], "the update schedule")
        clock.advance(61)
        update = first(stream, "wait_update")
    later = api.get(f"/v1/handoffs/{hid}/status", headers=tok).json()["estimate"]
    assert {k: update.data["data"][k] for k in WAIT_KEYS} == as_facts(later)
    assert webhook(rec, "wait_update")["data"] == update.data["data"]
    return dict(intake, update_text=update.data["text"])


def test_nobody_on_shift_is_said_the_same_way_everywhere(db_url: str, tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 24, 3, 0, tzinfo=UTC))  # Tuesday 04:00 in Madrid: nobody works
    with webhook_receiver() as rec, service(db_url, tmp_path, clock) as base, \
            httpx.Client(base_url=base, timeout=20) as api:
        body = intake_body(callback_url=rec.url, customer={"timezone": "America/New_York"})
        intake = everything_agrees(api, rec, clock, body)
    wait = intake["wait"]
    assert wait["state"] == "nobody_on_shift" and wait["seconds"] is None and intake["estimated_wait_seconds"] is None
    assert wait["back_at"] == "2026-11-24T08:00:00+00:00" and wait["back_zone"] == "America/New_York"
    # 08:00 UTC is 03:00 in New York, where it is still Monday evening: "tomorrow", in the customer's time.
    assert "Nobody on our team is working right now — we're back tomorrow at 03:00 your time (America/New_York)" \
        in intake["customer_message"]
    assert "longer than usual" not in intake["customer_message"] + intake["update_text"]
    assert "Nobody on our team is working right now" in intake["update_text"]


def test_without_the_customers_zone_the_return_is_told_in_utc(db_url: str, tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 24, 3, 0, tzinfo=UTC))
    with webhook_receiver(), service(db_url, tmp_path, clock) as base, httpx.Client(base_url=base, timeout=20) as api:
        body = intake_body(customer={"timezone": None, "locale": "es"})
        intake = api.post("/v1/handoffs", json=body, headers=KEY).json()
    assert intake["wait"]["back_zone"] == "UTC"
    assert "Ahora mismo no hay nadie del equipo trabajando — volvemos hoy a las 08:00 (UTC)" \
        in intake["customer_message"]


@pytest.mark.parametrize("busy", [True, False], ids=["agents-busy", "agent-free"])
def test_a_number_is_the_same_number_everywhere(db_url: str, tmp_path: Path, busy: bool) -> None:
    clock = FakeClock(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))  # 11:00 in Madrid: both on shift
    with webhook_receiver() as rec, service(db_url, tmp_path, clock) as base, \
            httpx.Client(base_url=base, timeout=20) as api:
        if busy:  # fill both agents' only slot: the estimate is a real, non-zero number
            for agent in ("emma", "raj"):
                h = api.post("/v1/handoffs", json=intake_body(), headers=KEY).json()
                api.post(f"/v1/handoffs/{h['id']}/claim", json={"agent_id": agent}, headers=KEY).raise_for_status()
        intake = everything_agrees(api, rec, clock, intake_body(callback_url=rec.url))
    wait = intake["wait"]
    assert wait["state"] == "estimate" and wait["back_at"] is None
    assert (wait["seconds"] > 0) is busy and intake["estimated_wait_seconds"] == wait["seconds"]
