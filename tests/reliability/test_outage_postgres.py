"""Fault test: PostgreSQL restarted mid-run (``pg_ctl stop -m immediate``), on a private throw-away cluster.

Intakes go over HTTP to a real uvicorn with the dispatcher running. While the database is down the service
answers 503 with ``Retry-After`` (never a 500, never a half-written handoff); the widget retries the same
conversation. Afterwards, with no manual step: every conversation that got 201 exists exactly once, and every
outbox item reached the idempotent receiver (redeliveries counted, none missing).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import API_KEY, make_settings
from tests.support.factories import intake_body
from tests.support.http_recorder import HttpRecorderDestination, receiver
from tests.support.pg_cluster import PrivateCluster, find_bindir
from tests.support.server import serve_in_thread

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

INTAKES = 60
STOP_AFTER = 20  # intakes answered before the restart
DOWN_SECONDS = 2.0
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but no PostgreSQL server binaries (initdb, pg_ctl) were found")
        pytest.skip("no initdb/pg_ctl found (install the postgresql server package)")
    c = PrivateCluster(bindir)
    try:
        c.init()
        c.start()
        yield c
    finally:
        c.remove()


async def _state(url: str) -> tuple[Counter[str], dict[str, int], list[Any]]:
    from app import build

    rt = build(make_settings(url), with_log=False, integrations=[])
    try:
        async with rt.deps.uow(read_only=True) as uow:
            from sqlalchemy import text

            rows = (await uow.connection.execute(text("SELECT conversation_id FROM handoffs"))).all()
            counts = dict(await uow.outbox.counts())
            items = list(await uow.outbox.list(status=None, limit=100_000))
        return Counter(r[0] for r in rows), counts, items
    finally:
        await rt.engine.dispose()


def test_postgres_restart_mid_run_loses_nothing(cluster: PrivateCluster, tmp_path: Path) -> None:
    from app import build, create_app
    from handoff.store.migrate import upgrade

    upgrade(cluster.url)
    config = tmp_path / "baton.yaml"
    config.write_text("outbox:\n  poll_seconds: 0.1\n  log_destination: false\n  backoff_base_seconds: 0.2\n"
                      "  backoff_cap_seconds: 2\n")
    statuses: Counter[int] = Counter()
    created: dict[str, str] = {}  # conversation id → handoff id, from 201s
    answered = threading.Event()
    restart: dict[str, float] = {}
    with receiver() as rec:
        rt = build(make_settings(cluster.url, BATON_CONFIG=str(config)),
                   extra_destinations=[HttpRecorderDestination(rec.url)], with_log=False, integrations=[])
        with serve_in_thread(create_app(rt)) as base, \
                httpx.Client(base_url=base, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30) as http:

            def bounce() -> None:
                answered.wait(60)
                cluster.stop("immediate")
                restart["down_at"] = time.monotonic()
                time.sleep(DOWN_SECONDS)
                cluster.start()
                restart["up_at"] = time.monotonic()

            bouncer = threading.Thread(target=bounce, daemon=True)
            bouncer.start()
            for n in range(INTAKES):
                body = intake_body()
                while True:  # a well-behaved widget: retry the same conversation after a 503
                    r = http.post("/v1/handoffs", json=body)
                    statuses[r.status_code] += 1
                    if r.status_code in (200, 201):
                        break
                    assert r.status_code == 503, (r.status_code, r.text)
                    assert r.headers.get("Retry-After") and r.json()["error"] == "store_unavailable"
                    restart.setdefault("first_503_at", time.monotonic())
                    time.sleep(0.2)
                if r.status_code == 201:
                    created[body["conversation_id"]] = r.json()["id"]
                if "up_at" in restart and "recovered_at" not in restart:
                    restart["recovered_at"] = time.monotonic()
                if n + 1 == STOP_AFTER:
                    answered.set()  # the bouncer stops the server now; the intakes go on
            bouncer.join(60)
            deadline = time.monotonic() + 60
            while True:
                rows, counts, items = asyncio.run(_state(cluster.url))
                if (set(counts) <= {"done"} and len(rec.stored) >= len(items)) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
    assert statuses[503] > 0, "the restart was not noticed: nothing proven"
    assert set(statuses) <= {200, 201, 503}, statuses  # no 500s
    assert all(rows[c] == 1 for c in created) and sum(rows.values()) == len(rows) == INTAKES
    assert counts == {"done": len(items)}, counts
    keys = {i.idempotency_key for i in items}
    assert set(rec.stored) == keys  # every item delivered; the receiver stores each key once
    figures = {
        "intakes": INTAKES, "answers": dict(statuses), "created_201": len(created),
        "handoffs_in_db": sum(rows.values()), "lost": INTAKES - len(rows), "duplicates": sum(rows.values()) - len(rows),
        "outbox_items": len(items), "delivered_keys": len(rec.stored),
        "redeliveries": sum(rec.received.values()) - len(rec.received),
        "down_seconds": DOWN_SECONDS,
        "intake_back_seconds_after_start": round(restart.get("recovered_at", 0) - restart.get("up_at", 0), 2),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "outage_postgres.json").write_text(json.dumps(figures, indent=2))
    print(f"\nPostgreSQL restart: {json.dumps(figures)}")
