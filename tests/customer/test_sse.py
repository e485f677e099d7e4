"""SSE over a real uvicorn: the timeline in customer wording, live updates, and resuming with Last-Event-ID."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from handoff.models import Surface
from tests.conftest import API_KEY
from tests.customer.conftest import customer_settings
from tests.customer.sse_client import events, read_until
from tests.support.factories import intake_body
from tests.support.server import serve_in_thread

KEY = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def server(db_url: str, config_path: str) -> Iterator[str]:
    from app import build, create_app
    from bot.web.customer import customer_integration

    rt = build(customer_settings(db_url, config_path), integrations=[customer_integration], with_log=False)
    with serve_in_thread(create_app(rt)) as base:
        yield base


def types(evs: list[Any]) -> list[str]:
    return [e.event for e in evs]


def test_stream_replays_then_goes_live_and_resumes_without_gaps(server: str) -> None:
    with httpx.Client(base_url=server, timeout=20) as api:
        h = api.post("/v1/handoffs", json=intake_body(), headers=KEY).json()
        hid, token = h["id"], h["customer_token"]
        url = f"/v1/handoffs/{hid}/events"
        assert api.get(url).status_code == 401
        assert api.get(url, headers=KEY).status_code == 401
        with api.stream("GET", url, params={"token": token}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            stream = events(r)
            first = read_until(stream, lambda s: {"queued", "status"} <= set(types(s)))
            queued = next(e for e in first if e.event == "queued")
            status = next(e for e in first if e.event == "status")
            assert queued.id is not None and "Sarah" in queued.data["text"] and "specialist" in queued.data["text"]
            assert status.id is None and status.data["position"] == 1 and status.data["estimate"] is not None
            api.post(f"/v1/handoffs/{hid}/claim", json={"agent_id": "emma"}, headers=KEY).raise_for_status()
            api.post(f"/v1/handoffs/{hid}/notes", json={"agent_id": "emma", "text": "refund? SECRET"}, headers=KEY)
            api.post(f"/v1/handoffs/{hid}/replies", json={"agent_id": "emma", "text": "Hi, on it"}, headers=KEY)
            live = read_until(stream, lambda s: "agent_message" in types(s) and any(
                e.event == "status" and e.data["status"] == "claimed" for e in s))
        joined = next(e for e in live if e.event == "agent_joined")
        msg = next(e for e in live if e.event == "agent_message")
        assert "Emma" in joined.data["text"] and "Widget not loading" in joined.data["text"]
        assert msg.data["text"] == "Hi, on it" and msg.data["data"]["agent_name"] == "Emma"
        assert all("SECRET" not in str(e.data) for e in first + live)
        assert all("emma" not in str(e.data) for e in first + live)  # display names only, never agent ids
        claimed_status = [e for e in live if e.event == "status"][-1]
        assert claimed_status.data["agent"] == {"display_name": "Emma"} and claimed_status.data["status"] == "claimed"
        # A customer note arrives while we are disconnected; a reconnect resumes right after what we saw.
        api.post(f"/v1/handoffs/{hid}/messages", json={"text": "thanks!"}, params={"token": token}).raise_for_status()
        with api.stream("GET", url, params={"token": token}, headers={"Last-Event-ID": str(joined.id)}) as r:
            resumed = read_until(events(r), lambda s: "customer_message" in types(s))
        ids = [e.id for e in resumed if e.id is not None]
        assert ids == sorted(ids) and ids[0] == msg.id  # the first event after Last-Event-ID, nothing older
        assert [e.event for e in resumed if e.id is not None] == ["agent_message", "customer_message"]


def test_queue_changes_push_new_position_and_estimate(server: str) -> None:
    with httpx.Client(base_url=server, timeout=20) as api:
        first = api.post("/v1/handoffs", json=intake_body(), headers=KEY).json()
        second = api.post("/v1/handoffs", json=intake_body(), headers=KEY).json()
        assert first["queue"] == second["queue"]
        url = f"/v1/handoffs/{second['id']}/events"
        with api.stream("GET", url, headers={"Authorization": f"Bearer {second['customer_token']}"}) as r:
            stream = events(r)
            before = read_until(stream, lambda s: "status" in types(s))
            assert [e for e in before if e.event == "status"][-1].data["position"] == 2
            api.post(f"/v1/handoffs/{first['id']}/claim", json={"agent_id": "raj"}, headers=KEY).raise_for_status()
            after = read_until(stream, lambda s: any(e.event == "status" and e.data["position"] == 1 for e in s))
        assert after[-1].data["estimate"] is not None


@pytest.fixture
def slow_poll_server(db_url: str, config_path: str) -> Iterator[tuple[str, Any]]:
    """The database poll is slowed to 30 s: anything arriving sooner came through the outbox wake-up."""
    from app import build, create_app
    from bot.web.customer import customer_integration

    rt = build(customer_settings(db_url, config_path), integrations=[customer_integration], with_log=False)
    rt.integrations[0].stream.poll_seconds = 30.0
    rt.integrations[0].stream.status_every_seconds = 30.0
    with serve_in_thread(create_app(rt)) as base:
        yield base, rt


def test_outbox_destination_wakes_streams_at_once(slow_poll_server: tuple[str, Any]) -> None:
    import time

    base, _ = slow_poll_server
    with httpx.Client(base_url=base, timeout=20) as api:
        h = api.post("/v1/handoffs", json=intake_body(), headers=KEY).json()
        with api.stream("GET", f"/v1/handoffs/{h['id']}/events", params={"token": h["customer_token"]}) as r:
            stream = events(r)
            read_until(stream, lambda s: "status" in types(s))
            started = time.monotonic()
            api.post(f"/v1/handoffs/{h['id']}/claim", json={"agent_id": "emma"}, headers=KEY).raise_for_status()
            read_until(stream, lambda s: "agent_joined" in types(s), timeout=10)
            assert time.monotonic() - started < 5


def test_events_committed_by_another_process_arrive_by_polling(server: str, db_url: str, config_path: str) -> None:
    import asyncio

    from app import build

    with httpx.Client(base_url=server, timeout=20) as api:
        h = api.post("/v1/handoffs", json=intake_body(), headers=KEY).json()
        with api.stream("GET", f"/v1/handoffs/{h['id']}/events", params={"token": h["customer_token"]}) as r:
            stream = events(r)
            read_until(stream, lambda s: "status" in types(s))

            async def claim_elsewhere() -> None:  # a second process: its own runtime, no broadcaster of ours
                other = build(customer_settings(db_url, config_path), with_log=False, integrations=[])
                try:
                    await other.actions.claim(h["id"], "emma", Surface.API)
                finally:
                    await other.engine.dispose()

            asyncio.run(claim_elsewhere())
            got = read_until(stream, lambda s: "agent_joined" in types(s), timeout=10)
        assert any(e.event == "agent_joined" and "Emma" in e.data["text"] for e in got)
