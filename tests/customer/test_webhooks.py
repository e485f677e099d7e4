"""Signed customer webhooks through the outbox: signature format, retry with backoff, permanent failures."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from handoff.outbox import PermanentFailure, RetryLater
from integrations.webhooks import sign, verify, webhook_integration
from tests.customer.conftest import CONFIG, KEY, customer_settings
from tests.customer.webhook_receiver import webhook_receiver
from tests.support.factories import intake_body

SECRET = "whsec_test_" + "s" * 24


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    body = b'{"id":1}'
    header = sign(SECRET.encode(), body, 1_700_000_000)
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify(SECRET.encode(), body, header, now=1_700_000_100)
    assert not verify(SECRET.encode(), body + b" ", header, now=1_700_000_100)  # body tampered
    assert not verify(b"other", body, header, now=1_700_000_100)
    assert not verify(SECRET.encode(), body, header, now=1_700_000_000 + 301)  # replayed too late
    assert verify(SECRET.encode(), body, f"t=1700000000,v1={'0' * 64},v1={expected}", now=1_700_000_000)


def test_webhooks_are_off_without_a_secret(db_url: str, config_path: str) -> None:
    from app import build

    rt = build(customer_settings(db_url, config_path), integrations=[webhook_integration], with_log=False)
    assert rt.integrations == [] and all(d.name != "customer_webhook" for d in rt.destinations)


@pytest.fixture
async def hooked(db_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    from app import build, create_app, sync_agents
    from bot.web.customer import customer_integration

    cfg = tmp_path / "fast.yaml"
    cfg.write_text(CONFIG.replace("poll_seconds: 0.05}", "poll_seconds: 0.05, backoff_base_seconds: 0.05}"))
    # The receivers listen on loopback, which callbacks may reach only when allowed.
    rt = build(customer_settings(db_url, str(cfg), BATON_WEBHOOK_SECRET=SECRET, BATON_CALLBACK_ALLOW="127.0.0.1"),
               integrations=[customer_integration, webhook_integration], with_log=False)
    await sync_agents(rt)
    import httpx

    app = create_app(rt, run_dispatcher=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://baton.test") as c:
        try:
            yield rt, c
        finally:
            for integ in rt.integrations:
                await integ.stop()
            await rt.engine.dispose()


async def drain_until(rt: Any, done: Any, within: float = 8.0) -> None:
    deadline = time.monotonic() + within
    while not done():
        await rt.dispatcher.drain_once()
        if time.monotonic() > deadline:
            raise AssertionError("the outbox did not get there in time")
        await asyncio.sleep(0.05)


async def test_each_customer_event_is_posted_signed_in_order(hooked: Any) -> None:
    rt, client = hooked
    with webhook_receiver() as rec:
        h = (await client.post("/v1/handoffs", json=intake_body(callback_url=rec.url), headers=KEY)).json()
        plain = (await client.post("/v1/handoffs", json=intake_body(), headers=KEY)).json()  # no callback_url
        await client.post(f"/v1/handoffs/{h['id']}/claim", json={"agent_id": "emma"}, headers=KEY)
        await client.post(f"/v1/handoffs/{h['id']}/notes", json={"agent_id": "emma", "text": "SECRET"}, headers=KEY)
        await client.post(f"/v1/handoffs/{h['id']}/replies", json={"agent_id": "emma", "text": "Hello!"}, headers=KEY)
        await drain_until(rt, lambda: len(rec.requests) >= 3)
        await asyncio.sleep(0.2)
        await rt.dispatcher.drain_once()
    bodies = [json.loads(r.body) for r in rec.requests]
    assert [b["type"] for b in bodies] == ["queued", "agent_joined", "agent_message"]
    assert {b["handoff_id"] for b in bodies} == {h["id"]} and plain["id"] not in str(bodies)
    assert bodies[2]["text"] == "Hello!" and "SECRET" not in str(bodies) and "emma" not in str(bodies)
    for r in rec.requests:
        assert r.path == "/hooks/baton" and r.headers["Content-Type"] == "application/json"
        assert verify(SECRET.encode(), r.body, r.headers["Baton-Signature"], now=int(time.time()))
        assert r.headers["Baton-Event-Id"] == str(json.loads(r.body)["id"])


async def test_5xx_and_429_are_retried_with_backoff_then_delivered(hooked: Any) -> None:
    rt, client = hooked
    with webhook_receiver() as rec:
        rec.script = [(500, {}), (429, {"Retry-After": "1"}), (503, {})]
        h = (await client.post("/v1/handoffs", json=intake_body(callback_url=rec.url), headers=KEY)).json()
        start = time.monotonic()
        await drain_until(rt, lambda: len(rec.requests) >= 4)
        assert time.monotonic() - start >= 1.0  # Retry-After was honoured
    assert len({r.headers["Idempotency-Key"] for r in rec.requests}) == 1  # the same item, retried
    assert {json.loads(r.body)["handoff_id"] for r in rec.requests} == {h["id"]}
    async with rt.deps.uow(read_only=True) as uow:
        items = [i for i in await uow.outbox.list(status=None, limit=50) if i.destination == "customer_webhook"]
    assert [i.status.value for i in items] == ["done"] and items[0].attempts == 4


async def test_4xx_is_a_permanent_failure_and_blocks_nothing_else(hooked: Any) -> None:
    rt, client = hooked
    dest = next(d for d in rt.destinations if d.name == "customer_webhook")
    with webhook_receiver() as rec:
        rec.script = [(400, {}), (408, {})]
        h = (await client.post("/v1/handoffs", json=intake_body(callback_url=rec.url), headers=KEY)).json()
        async with rt.deps.uow(read_only=True) as uow:
            item = next(i for i in await uow.outbox.list(status=None, limit=50) if i.destination == dest.name)
        with pytest.raises(PermanentFailure):
            await dest.deliver(item)
        with pytest.raises(RetryLater):
            await dest.deliver(item)
    other = await client.post("/v1/handoffs", json=intake_body(), headers=KEY)
    assert other.status_code == 201 and h["id"] != other.json()["id"]


async def test_unreachable_receiver_is_retried_later(hooked: Any) -> None:
    from tests.support.server import free_port

    rt, client = hooked
    dest = next(d for d in rt.destinations if d.name == "customer_webhook")
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    await client.post("/v1/handoffs", json=intake_body(callback_url=url), headers=KEY)
    async with rt.deps.uow(read_only=True) as uow:
        item = next(i for i in await uow.outbox.list(status=None, limit=50) if i.destination == dest.name)
    with pytest.raises(RetryLater, match="unreachable"):
        await dest.deliver(item)
