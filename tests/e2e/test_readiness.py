"""/readyz tells a failing or dead-lettering destination apart from a healthy one (issue #9 point 2)."""

from __future__ import annotations

from typing import Any

from handoff.outbox import PermanentFailure, RetryLater
from handoff.services.dispatcher import Dispatcher
from tests.support.factories import intake_body


def recorder(rt: Any) -> Any:
    return next(d for d in rt.destinations if d.name == "recorder")


async def test_healthy_outbox_is_ready_with_zero_backlog(runtime: Any, client: Any) -> None:
    assert (await client.post("/v1/handoffs", json=intake_body())).status_code == 201
    await Dispatcher(runtime.deps, runtime.destinations).drain_once()
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"
    assert r.json()["outbox"]["recorder"] == {"status": "ok", "pending": 0, "dead": 0}


async def test_a_retrying_destination_is_degraded_with_its_error_and_backlog(runtime: Any, client: Any) -> None:
    rec = recorder(runtime)
    rec.failures.append(RetryLater("chat.postMessage: HTTP 503 service_unavailable"))
    assert (await client.post("/v1/handoffs", json=intake_body())).status_code == 201
    before = (await client.get("/readyz")).json()
    assert before["status"] == "ready" and before["outbox"]["recorder"]["pending"] == 1  # queued is not failing
    await Dispatcher(runtime.deps, runtime.destinations).drain_once()
    r = await client.get("/readyz")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "degraded"  # still serving: 200, not 503
    out = body["outbox"]["recorder"]
    assert out["status"] == "degraded" and out["pending"] == 1 and out["failing"] == 1 and out["dead"] == 0
    assert out["last_error"] == "chat.postMessage: HTTP 503 service_unavailable"
    assert out["oldest_pending_seconds"] >= 0


async def test_a_dead_lettered_item_degrades_until_it_is_replayed(runtime: Any, client: Any) -> None:
    rec = recorder(runtime)
    rec.failures.append(PermanentFailure("no Slack channel for queue 'technical'"))
    assert (await client.post("/v1/handoffs", json=intake_body())).status_code == 201
    d = Dispatcher(runtime.deps, runtime.destinations)
    await d.drain_once()
    body = (await client.get("/readyz")).json()
    out = body["outbox"]["recorder"]
    assert body["status"] == "degraded" and out["dead"] == 1 and out["dead_last_24h"] == 1 and out["pending"] == 0
    assert out["last_error"] == "permanent: no Slack channel for queue 'technical'"
    async with runtime.deps.uow() as uow:
        dead = await uow.outbox.list(status="dead", limit=5)
        assert await uow.outbox.retry(dead[0].id, runtime.deps.now())
        await uow.commit()
    await d.drain_once()
    again = (await client.get("/readyz")).json()
    assert again["status"] == "ready" and again["outbox"]["recorder"]["status"] == "ok"


async def test_teams_reports_how_it_authenticates(db_url: str) -> None:
    from app import build
    from bot.teams.integration import teams_integration
    from tests.conftest import make_settings

    rt = build(make_settings(db_url, TEAMS_APP_ID="11111111-2222", TEAMS_APP_PASSWORD="pw"), with_log=False,
               integrations=[teams_integration])
    try:
        ok, details = await rt.readiness()
        assert ok and details["teams"] == "ok, Bot Framework authentication at /api/messages"
        assert "pw" not in str(details)
    finally:
        await rt.engine.dispose()
