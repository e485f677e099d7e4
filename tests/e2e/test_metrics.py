"""``GET /metrics`` through HTTP, on SQLite and PostgreSQL: exact counts, database gauges, who may scrape, and
prometheus_client's multiprocess mode across two real ``app.py serve`` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import API_KEY, make_settings
from tests.support.clock import FakeClock
from tests.support.destinations import RecordingDestination
from tests.support.factories import intake_body
from tests.support.server import free_port, stop_all, wait_up

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": f"Bearer {API_KEY}"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape, keyed by (sample name, labels)."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in out, f"duplicate series {key}"
            out[key] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    """One series' value; a series that is absent counts as 0 (a counter never incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


def public_config(tmp_path: Path) -> Path:
    """A BATON_CONFIG that serves /metrics without a key."""
    cfg = tmp_path / "public.yaml"
    cfg.write_text(yaml.safe_dump({"metrics": {"public": True}}))
    return cfg


@asynccontextmanager
async def app_client(db_url: str, *, config: Path | None = None,
                     clock: Any = None) -> AsyncIterator[tuple[Any, httpx.AsyncClient, RecordingDestination]]:
    from app import build, create_app, sync_agents

    env = {"BATON_CONFIG": str(config)} if config is not None else {}
    recorder = RecordingDestination()
    rt = build(make_settings(db_url, **env), extra_destinations=[recorder], with_log=False, integrations=[],
               clock=clock)
    await sync_agents(rt)
    app = create_app(rt, run_dispatcher=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as c:
            yield rt, c, recorder
    finally:
        await rt.engine.dispose()


async def scrape(c: httpx.AsyncClient) -> Samples:
    r = await c.get("/metrics", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return parse(r.text)


async def drain(rt: Any) -> None:
    while await rt.dispatcher.drain_once():
        pass


async def test_metrics_count_intakes_and_export_the_database_state(db_url: str, tmp_path: Path) -> None:
    from handoff.outbox import PermanentFailure, RetryLater

    clock = FakeClock()
    async with app_client(db_url, clock=clock) as (rt, c, recorder):
        bodies = [intake_body(customer={"email": f"c{i}@example.com", "name": f"Customer Number{i}"})
                  for i in range(3)]
        bodies[1]["transcript"] = [{"role": "customer", "text": "You charged me twice, I want a refund"}]
        bodies[1]["ai"] = {"intent": "billing", "summary": "double charge"}
        created = []
        for body in bodies:
            r = await c.post("/v1/handoffs", json=body, headers=AUTH)
            assert r.status_code == 201, r.text
            created.append(r.json())
        assert (await c.post("/v1/handoffs", json=bodies[0], headers=AUTH)).status_code == 200  # a repeat
        assert (await c.post("/v1/handoffs", json={"transcript": "nope"}, headers=AUTH)).status_code == 422
        assert (await c.post("/v1/handoffs", json=intake_body())).status_code == 401  # no key: refused at the gate
        ev = await c.post("/v1/evaluate", json=intake_body(), headers=AUTH)
        assert ev.status_code == 200
        escalate = "true" if ev.json()["escalate"] else "false"
        one = created[0]["id"]
        assert (await c.get(f"/v1/handoffs/{one}", headers=AUTH)).status_code == 200
        assert (await c.get("/v1/no-such-thing/12345", headers=AUTH)).status_code == 404

        s = await scrape(c)
        assert value(s, "baton_intakes_total", result="created") == 3
        assert value(s, "baton_intakes_total", result="repeat") == 1
        assert value(s, "baton_intakes_total", result="rejected") == 2  # the 422 and the 401
        assert value(s, "baton_evaluations_total", escalate=escalate) == 1
        assert value(s, "baton_evaluations_total", escalate={"true": "false", "false": "true"}[escalate]) == 0
        h = "baton_http_request_duration_seconds_count"
        assert value(s, h, method="POST", route="/v1/handoffs", status="201") == 3
        assert value(s, h, method="POST", route="/v1/handoffs", status="200") == 1
        assert value(s, h, method="POST", route="/v1/handoffs", status="422") == 1
        assert value(s, h, method="POST", route="/v1/handoffs", status="401") == 1
        assert value(s, h, method="GET", route="/v1/handoffs/{handoff_id}", status="200") == 1
        assert value(s, h, method="GET", route="unmatched", status="404") == 1
        # Buckets are cumulative and end with the count.
        assert value(s, "baton_http_request_duration_seconds_bucket", method="POST", route="/v1/handoffs",
                     status="201", le="+Inf") == 3

        # No id, name, email, token or raw path in any label.
        secrets = {one, *(x["customer_token"] for x in created), *(b["conversation_id"] for b in bodies),
                   API_KEY, "example.com", "Number", "no-such-thing"}
        for (_, labels) in s:
            for _, v in labels:
                assert not any(x in v for x in secrets), v

        # Queue depth: exactly what intake decided, every other configured (queue, priority) at zero.
        want = Counter((x["queue"], x["priority"]) for x in created)
        depth = series(s, "baton_queue_depth")
        assert len(depth) == len(rt.config.queues) * 4
        for labels, n in depth.items():
            d = dict(labels)
            assert n == want.get((d["queue"], d["priority"]), 0), d
        assert sum(depth.values()) == 3
        for q in rt.config.queues:
            assert value(s, "baton_queue_oldest_wait_seconds", queue=q) == 0  # the clock has not moved

        # Outbox backlog: what the outbox table holds, per status; nothing delivered yet.
        async with rt.deps.uow(read_only=True) as uow:
            counts = dict(await uow.outbox.counts())
        assert counts.get("pending", 0) >= 3
        assert value(s, "baton_outbox_backlog", destination="recorder", status="pending") == counts["pending"]
        assert value(s, "baton_outbox_backlog", destination="recorder", status="delivering") == 0
        assert value(s, "baton_outbox_backlog", destination="recorder", status="dead") == 0
        assert value(s, "baton_open_handoffs", status="claimed") == 0
        assert value(s, "baton_open_handoffs", status="pending_customer") == 0
        assert value(s, "baton_sla_clocks_running", clock="first_response") == 3

        # An agent claims one; 90 s later the outbox's oldest item is 90 s old, and so is the oldest wait.
        r = await c.post(f"/v1/handoffs/{one}/claim", json={"agent_id": "emma"}, headers=AUTH)
        assert r.status_code == 200, r.text
        clock.advance(90)
        s = await scrape(c)
        assert value(s, "baton_open_handoffs", status="claimed") == 1
        assert sum(series(s, "baton_queue_depth").values()) == 2
        assert value(s, "baton_sla_clocks_running", clock="first_response") == 2
        assert value(s, "baton_outbox_oldest_pending_seconds", destination="recorder") == 90
        waiting = {x["queue"] for x in created[1:]}
        for q in rt.config.queues:
            assert value(s, "baton_queue_oldest_wait_seconds", queue=q) == (90 if q in waiting else 0), q

        # Deliver: one attempt fails for a retry, another for good; everything else is delivered.
        async with rt.deps.uow(read_only=True) as uow:
            total = dict(await uow.outbox.counts())["pending"]
        recorder.failures = [RetryLater("busy"), PermanentFailure("gone")]
        await drain(rt)
        clock.advance(600)  # past the retry's backoff
        await drain(rt)
        s = await scrape(c)
        delivered = total - 1
        assert len(recorder.delivered) == delivered
        assert value(s, "baton_outbox_deliveries_total", destination="recorder", result="delivered") == delivered
        assert value(s, "baton_outbox_deliveries_total", destination="recorder", result="retry") == 1
        assert value(s, "baton_outbox_deliveries_total", destination="recorder", result="dead") == 1
        assert value(s, "baton_outbox_delivery_seconds_count", destination="recorder") == delivered
        assert value(s, "baton_outbox_backlog", destination="recorder", status="pending") == 0
        assert value(s, "baton_outbox_backlog", destination="recorder", status="dead") == 1
        assert value(s, "baton_outbox_oldest_pending_seconds", destination="recorder") == 0
        # The clock stood at +90 s for the first drain and +690 s for the retried item: the sum says so.
        assert value(s, "baton_outbox_delivery_seconds_sum", destination="recorder") >= 90 * delivered

        # The SLA tick, past every first-response target: one warning and one breach per waiting handoff.
        await rt.sla.tick()
        s = await scrape(c)
        assert value(s, "baton_sla_warnings_total", clock="first_response") == 2
        assert value(s, "baton_sla_breaches_total", clock="first_response") == 2
        async with rt.deps.uow(read_only=True) as uow:
            from sqlalchemy import func, select

            from handoff.store import tables as t

            rows = (await uow.connection.execute(
                select(t.events.c.kind, func.count()).where(t.events.c.kind.in_(["sla_warning", "sla_breached"]))
                .group_by(t.events.c.kind))).all()
        assert dict(rows) == {"sla_warning": 2, "sla_breached": 2}


async def test_metrics_need_an_admin_key_unless_public(db_url: str, tmp_path: Path) -> None:
    from handoff.services.keys import ApiKeys

    async with app_client(db_url) as (rt, c, _):
        assert (await c.get("/metrics")).status_code == 401
        assert (await c.get("/metrics", headers={"Authorization": "Bearer wrong-key"})).status_code == 401
        intake_key = (await ApiKeys(rt.deps).create("intake", name="widget")).secret
        assert (await c.get("/metrics", headers={"Authorization": f"Bearer {intake_key}"})).status_code == 403
        admin_key = (await ApiKeys(rt.deps).create("admin", name="prometheus")).secret
        r = await c.get("/metrics", headers={"Authorization": f"Bearer {admin_key}"})
        assert r.status_code == 200 and "baton_queue_depth" in r.text
    async with app_client(db_url, config=public_config(tmp_path)) as (rt, c, _):
        assert rt.config.metrics.public
        await c.post("/v1/handoffs", json=intake_body(), headers=AUTH)
        r = await c.get("/metrics")
        assert r.status_code == 200, r.text
        s = parse(r.text)
        assert value(s, "baton_intakes_total", result="created") == 1
        assert sum(series(s, "baton_queue_depth").values()) == 1


# ---------------------------------------------------------------------------------------------- multiprocess


def _serve(db_url: str, port: int, prom_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": db_url, "BATON_PORT": str(port), "BATON_API_KEYS": API_KEY,
           "BATON_AUTO_MIGRATE": "0", "BATON_LOG_LEVEL": "WARNING", "BATON_NO_VENV": "1",
           "PROMETHEUS_MULTIPROC_DIR": str(prom_dir)}
    env.pop("BATON_TEST_PG", None)
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "app.py", "serve", "--no-dispatcher"], cwd=ROOT, env=env,
                                stdout=out, stderr=out)


@pytest.fixture
def two_processes(db_url: str, tmp_path: Path) -> Iterator[tuple[list[int], list[subprocess.Popen[bytes]], Path]]:
    prom_dir = tmp_path / "prom"
    prom_dir.mkdir()
    ports = [free_port(), free_port()]
    procs = [_serve(db_url, port, prom_dir, tmp_path / f"serve{i}.log") for i, port in enumerate(ports)]
    try:
        for i, (port, proc) in enumerate(zip(ports, procs, strict=True)):
            wait_up(port, proc, tmp_path / f"serve{i}.log")
        yield ports, procs, prom_dir
    finally:
        stop_all(procs, timeout=30)


@pytest.mark.slow
def test_multiprocess_mode_sums_every_process_and_reads_gauges_once(
        two_processes: tuple[list[int], list[subprocess.Popen[bytes]], Path]) -> None:
    ports, procs, prom_dir = two_processes
    assert procs[0].pid != procs[1].pid
    sent = [2, 3]
    for port, n in zip(ports, sent, strict=True):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=AUTH, timeout=30) as c:
            for _ in range(n):
                assert c.post("/v1/handoffs", json=intake_body()).status_code == 201
    with httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", headers=AUTH, timeout=30) as c:
        assert c.post("/v1/handoffs", json={"conversation_id": ""}).status_code == 422
    assert {p.name.split("_")[-1] for p in prom_dir.glob("*.db")} >= {f"{procs[0].pid}.db", f"{procs[1].pid}.db"}

    for port in ports:  # either process answers with the sum of both
        s = parse(httpx.get(f"http://127.0.0.1:{port}/metrics", headers=AUTH, timeout=30).text)
        assert value(s, "baton_intakes_total", result="created") == 5
        assert value(s, "baton_intakes_total", result="rejected") == 1
        assert value(s, "baton_http_request_duration_seconds_count", method="POST", route="/v1/handoffs",
                     status="201") == 5
        assert sum(series(s, "baton_queue_depth").values()) == 5  # from the database, once (parse() refuses dupes)

    # One process stops (SIGTERM: lifespan shutdown, mark_process_dead): its counts stay in the other's sum.
    procs[0].send_signal(signal.SIGTERM)
    assert procs[0].wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after its shutdown
    s = parse(httpx.get(f"http://127.0.0.1:{ports[1]}/metrics", headers=AUTH, timeout=30).text)
    assert value(s, "baton_intakes_total", result="created") == 5
    assert sum(series(s, "baton_queue_depth").values()) == 5
