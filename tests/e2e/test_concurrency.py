"""Concurrency through a real uvicorn on loopback, from real threads, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.conftest import API_KEY, make_settings
from tests.support.factories import intake_body
from tests.support.server import serve_in_thread

pytestmark = pytest.mark.slow


@pytest.fixture
def server(db_url: str) -> Any:
    from app import build, create_app
    from tests.support.destinations import RecordingDestination

    recorder = RecordingDestination()
    rt = build(make_settings(db_url), extra_destinations=[recorder], with_log=False, integrations=[])
    with serve_in_thread(create_app(rt)) as base:
        yield base, recorder


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60)


def test_200_concurrent_intakes_with_duplicates_leave_exactly_the_distinct_handoffs(server: Any) -> None:
    base, _ = server
    distinct = [intake_body() for _ in range(160)]
    calls = distinct + [random.Random(7).choice(distinct) for _ in range(40)]  # 20% duplicates
    random.Random(11).shuffle(calls)
    local = threading.local()

    def send(body: dict[str, Any]) -> tuple[str, int, str]:
        if not hasattr(local, "c"):
            local.c = _client(base)
        r = local.c.post("/v1/handoffs", json=body)
        return body["conversation_id"], r.status_code, r.json().get("id", r.text)

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(send, calls))
    statuses = Counter(code for _, code, _ in results)
    assert set(statuses) <= {200, 201}, statuses
    assert statuses[201] == len(distinct)
    assert statuses[200] == len(calls) - len(distinct)
    by_conv: dict[str, set[str]] = {}
    for conv, _, hid in results:
        by_conv.setdefault(conv, set()).add(hid)
    assert all(len(ids) == 1 for ids in by_conv.values())  # every duplicate got the same handoff
    with _client(base) as c:
        stored: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = c.get("/v1/handoffs", params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
            stored.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break
    assert sorted(h["conversation_id"] for h in stored) == sorted(b["conversation_id"] for b in distinct)


def test_50_concurrent_claims_have_one_winner_and_49_clean_409s(server: Any) -> None:
    base, _ = server
    with _client(base) as c:
        hid = c.post("/v1/handoffs", json=intake_body()).json()["id"]
    barrier = threading.Barrier(50)

    def claim(i: int) -> tuple[int, dict[str, Any]]:
        with _client(base) as c:
            barrier.wait()
            r = c.post(f"/v1/handoffs/{hid}/claim", json={"agent_id": f"agent-{i:02d}"})
            return r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(claim, range(50)))
    winners = [body for code, body in results if code == 200]
    losers = [body for code, body in results if code != 200]
    assert len(winners) == 1
    assert len(losers) == 49 and all(code == 409 for code, _ in results if code != 200)
    holder = winners[0]["claimed_by"]
    assert all(b["error"] == "already_claimed" and b["details"]["claimed_by"] == holder for b in losers)
    with _client(base) as c:
        timeline = c.get(f"/v1/handoffs/{hid}").json()["timeline"]
    assert [e["kind"] for e in timeline].count("claimed") == 1
    assert [e["actor"] for e in timeline if e["kind"] == "claimed"] == [f"agent:{holder}"]
