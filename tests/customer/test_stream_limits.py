"""Bounded customers on a real uvicorn: stream caps, idle streams that hold no database connection yet hear
about changes committed by another process, and per-token rates — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from handoff.models import Surface
from tests.conftest import API_KEY
from tests.customer.conftest import CONFIG, customer_settings
from tests.customer.sse_client import events, read_until
from tests.support.factories import intake_body
from tests.support.server import serve_in_thread

KEY = {"Authorization": f"Bearer {API_KEY}"}
LIMITS = """
limits:
  streams_per_token: 5
  streams_per_ip: 12
  customer_writes: {per_second: 1, burst: 3}
  customer_reads: {per_second: 1, burst: 4}
  stream_db_reads: 2  # below the five streams woken at once, even with the process's own two readers added
"""


@dataclass
class PoolWatch:
    """Counts pool checkouts and the most connections checked out at once."""

    pool: Any
    checkouts: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_checkout(self, *_: Any) -> None:
        with self.lock:
            self.checkouts += 1
            self.most = max(self.most, self.pool.checkedout())

    def reset(self) -> None:
        with self.lock:
            self.checkouts = self.most = 0


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[tuple[str, Any, PoolWatch]]:
    """No dispatcher and a slow update tick: while streams idle, only the change feed may use the database."""
    from app import build, create_app
    from bot.web.customer import customer_integration
    from bot.web.server import uvicorn_options

    cfg = tmp_path / "limits.yaml"
    cfg.write_text(CONFIG.replace("tick_seconds: 0.2", "tick_seconds: 300") + LIMITS)
    rt = build(customer_settings(db_url, str(cfg)), integrations=[customer_integration], with_log=False)
    rt.integrations[0].stream.poll_seconds = 0.25
    watch = PoolWatch(rt.engine.pool)
    event.listen(rt.engine.sync_engine, "checkout", watch.on_checkout)
    with serve_in_thread(create_app(rt, run_dispatcher=False), **uvicorn_options(rt.config.limits)) as base:
        yield base, rt, watch


def _new(api: httpx.Client) -> dict[str, Any]:
    r = api.post("/v1/handoffs", json=intake_body(), headers=KEY)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _open_streams(base: str, urls: list[str]) -> tuple[httpx.AsyncClient, list[httpx.Response]]:
    client = httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=len(urls) + 5))
    responses = await asyncio.gather(*(client.send(client.build_request("GET", u), stream=True) for u in urls))
    return client, list(responses)


def test_only_the_cap_of_200_concurrent_streams_on_one_token_is_admitted(served: tuple[str, Any, PoolWatch]) -> None:
    base, rt, _ = served
    with httpx.Client(base_url=base, timeout=20) as api:
        h = _new(api)
    url = f"/v1/handoffs/{h['id']}/events?token={h['customer_token']}"

    async def go() -> None:
        client, rs = await _open_streams(base, [url] * 200)
        try:
            codes = [r.status_code for r in rs]
            assert codes.count(200) == 5 and codes.count(429) == 195
            refused = next(r for r in rs if r.status_code == 429)
            await refused.aread()
            assert refused.headers["Retry-After"].isdigit() and int(refused.headers["Retry-After"]) >= 1
            assert refused.headers["access-control-allow-origin"] == "*"  # the widget can read the refusal
            err = refused.json()
            assert err["error"] == "rate_limited" and err["details"]["limit"] == "streams_per_token"
            assert rt.integrations[0].slots.open_for(h["id"]) == 5
            for r in rs:
                await r.aclose()
            for _ in range(200):  # the server notices the closed streams and gives their places back
                if rt.integrations[0].slots.open_for(h["id"]) == 0:
                    break
                await asyncio.sleep(0.05)
            again = await client.send(client.build_request("GET", url), stream=True)
            assert again.status_code == 200
            await again.aclose()
        finally:
            await client.aclose()

    asyncio.run(go())


def test_streams_are_capped_per_client_address(served: tuple[str, Any, PoolWatch]) -> None:
    base, _, _ = served
    with httpx.Client(base_url=base, timeout=20) as api:
        hs = [_new(api) for _ in range(3)]
    urls = [f"/v1/handoffs/{h['id']}/events?token={h['customer_token']}" for h in hs for _ in range(5)]

    async def go() -> None:
        client, rs = await _open_streams(base, urls)
        try:
            codes = [r.status_code for r in rs]
            assert codes.count(200) == 12 and codes.count(429) == 3  # 15 within the per-token caps, 12 per address
            for r in rs:
                if r.status_code == 429:
                    await r.aread()
                    assert r.json()["details"]["limit"] in ("streams_per_ip", "streams_per_token")
        finally:
            for r in rs:
                await r.aclose()
            await client.aclose()

    asyncio.run(go())


def test_idle_streams_hold_no_connection_and_hear_another_processes_commit(
        served: tuple[str, Any, PoolWatch], db_url: str, tmp_path: Path) -> None:
    base, rt, watch = served
    with httpx.Client(base_url=base, timeout=20) as api:
        hs = [_new(api) for _ in range(2)]
    target = hs[0]
    urls = [f"/v1/handoffs/{h['id']}/events?token={h['customer_token']}" for h in hs for _ in range(5)]
    got: dict[int, list[str]] = {}

    def reader(i: int, url: str, ready: threading.Barrier) -> None:
        with httpx.Client(base_url=base, timeout=30) as c, c.stream("GET", url) as r:
            assert r.status_code == 200
            stream = events(r)
            read_until(stream, lambda s: any(e.event == "status" for e in s))
            ready.wait()
            if url.startswith(f"/v1/handoffs/{target['id']}/"):
                seen = read_until(stream, lambda s: any(e.event == "agent_joined" for e in s), timeout=20)
                got[i] = [e.event for e in seen]

    ready = threading.Barrier(len(urls) + 1)
    threads = [threading.Thread(target=reader, args=(i, u, ready), daemon=True) for i, u in enumerate(urls)]
    for t in threads:
        t.start()
    ready.wait(timeout=30)  # all ten streams are open and have their first status
    watch.reset()
    ticks_before, loads_before = rt.integrations[0].feed.reads, rt.waits.loads
    samples = []
    for _ in range(20):  # two seconds of idling, looking at the pool
        samples.append(rt.engine.pool.checkedout())
        time.sleep(0.1)
    ticks = rt.integrations[0].feed.reads - ticks_before
    refreshes = rt.waits.loads - loads_before  # the process's wait refresher: once after the streams' first reads
    assert ticks >= 1  # the feed did poll meanwhile
    assert refreshes <= 2
    assert watch.checkouts <= ticks + refreshes  # one short read per tick for all ten streams, nothing per stream
    own = 1 + min(refreshes, 1)  # the feed's read, and the refresher's if it ran meanwhile
    assert max(samples) <= own and watch.most <= own

    async def claim_elsewhere() -> None:  # a second process: its own runtime and pool, no broadcaster of ours
        from app import build

        other = build(customer_settings(db_url, str(tmp_path / "limits.yaml")), with_log=False, integrations=[])
        try:
            await other.actions.claim(target["id"], "emma", Surface.API)
        finally:
            await other.engine.dispose()

    asyncio.run(claim_elsewhere())
    for t in threads:
        t.join(timeout=30)
    assert len(got) == 5 and all("agent_joined" in kinds for kinds in got.values())
    # Woken streams read through the shared gate (2 here, for 5 streams); besides them the process's own readers,
    # one each at most: the change feed's poll and the wait refresher (either may coincide with the wake-up).
    assert rt.config.limits.stream_db_reads == 2
    assert watch.most <= rt.config.limits.stream_db_reads + 2


def test_customer_rates_per_token_then_recovery(served: tuple[str, Any, PoolWatch]) -> None:
    base, _, _ = served
    with httpx.Client(base_url=base, timeout=20) as api:
        a, b = _new(api), _new(api)
        msg = f"/v1/handoffs/{a['id']}/messages"
        codes = [api.post(msg, json={"text": f"hello {i}"}, params={"token": a["customer_token"]}).status_code
                 for i in range(4)]
        assert codes == [201, 201, 201, 429]
        limited = api.post(msg, json={"text": "again"}, headers={"Authorization": f"Bearer {a['customer_token']}"})
        assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
        retry_after = int(limited.headers["Retry-After"])
        # Another customer is not slowed down, and a wrong token is refused without spending a's budget.
        assert api.post(f"/v1/handoffs/{b['id']}/messages", json={"text": "hi"},
                        params={"token": b["customer_token"]}).status_code == 201
        assert api.post(msg, json={"text": "x"}, params={"token": "not-it"}).status_code == 401
        # Status polls have their own bucket.
        status = [api.get(f"/v1/handoffs/{a['id']}/status", params={"token": a["customer_token"]}).status_code
                  for _ in range(5)]
        assert status == [200, 200, 200, 200, 429]
        time.sleep(retry_after)
        assert api.post(msg, json={"text": "later"}, params={"token": a["customer_token"]}).status_code == 201
        timeline = api.get(f"/v1/handoffs/{a['id']}", headers=KEY).json()["timeline"]
        texts = [e["data"].get("text") for e in timeline if e["kind"] == "customer_message"]
        assert texts == ["hello 0", "hello 1", "hello 2", "later"]  # nothing refused was half-written


def test_unauthenticated_customer_upload_is_refused_before_the_body(served: tuple[str, Any, PoolWatch]) -> None:
    from tests.e2e.test_client_limits import _upload_slowly

    base, _, _ = served
    with httpx.Client(base_url=base, timeout=20) as api:
        h = _new(api)
    port = int(base.rsplit(":", 1)[1])
    status, sent, body = _upload_slowly(port, f"/v1/handoffs/{h['id']}/messages?token=wrong", "", 900 * 1024)
    assert status == 401 and sent < 64 * 1024
    assert b'"error": "unauthorized"' in body
