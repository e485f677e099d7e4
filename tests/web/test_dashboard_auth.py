"""The dashboard is never open: sign-in with a key, a session cookie that expires and dies with its key,
scopes, and the headers every answer carries (on both databases, in process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import API_KEY, make_settings
from tests.support.clock import FakeClock

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[tuple[Any, Any, FakeClock]]:
    from app import build, create_app

    clock = FakeClock(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    rt = build(make_settings(db_url), with_log=False, integrations=[], clock=clock)
    try:
        yield rt, create_app(rt, run_dispatcher=False), clock
    finally:
        await rt.engine.dispose()


def client(asgi: Any, **kw: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="https://baton.test", **kw)


async def sign_in(c: httpx.AsyncClient, key: str) -> httpx.Response:
    return await c.post("/dashboard/login", content=f"key={key}", headers=FORM)


async def test_a_session_works_expires_and_dies_with_its_key(app: tuple[Any, Any, FakeClock]) -> None:
    rt, asgi, clock = app
    from handoff.services.keys import ApiKeys

    keys = ApiKeys(rt.deps)
    lead = await keys.create("agent", "lead")
    async with client(asgi) as c:
        assert (await c.get("/dashboard/data.json")).status_code == 401
        r = await sign_in(c, lead.secret)
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
        assert lead.secret not in cookie and "Path=/dashboard" in cookie
        data = await c.get("/dashboard/data.json")
        assert data.status_code == 200 and data.json()["metrics"]["handoffs"] == 0
        assert "script-src 'self'" in data.headers["content-security-policy"]
        assert data.headers["cache-control"] == "no-store"
        page = await c.get("/dashboard/")
        assert page.status_code == 200 and "chart.umd.min.js" in page.text  # the dashboard, not the sign-in
        csv = await c.get("/dashboard/data.csv")
        assert csv.status_code == 200 and csv.text.startswith("period_from,period_to,dimension,key,handoffs")
        clock.advance(13 * 3600)  # past the 12 hours
        assert (await c.get("/dashboard/data.json")).status_code == 401
        assert 'action="/dashboard/login"' in (await c.get("/dashboard/")).text
        clock.advance(-13 * 3600)
        assert (await c.get("/dashboard/data.json")).status_code == 200
        await keys.revoke(lead.key.id)
        assert (await c.get("/dashboard/data.json")).status_code == 401  # at once: the key is read per request
        forged = c.cookies.get("baton_session", "")
        c.cookies.set("baton_session", forged[:-4] + "0000", domain="baton.test", path="/dashboard")
        assert (await c.get("/dashboard/data.json")).status_code == 401


async def test_scopes_bearer_keys_and_refusals(app: tuple[Any, Any, FakeClock]) -> None:
    rt, asgi, _ = app
    from handoff.services.keys import ApiKeys

    widget = await ApiKeys(rt.deps).create("intake", "widget")
    async with client(asgi) as c:
        r = await sign_in(c, widget.secret)
        assert r.status_code == 403 and "cannot open the dashboard" in r.text and "baton_session" not in r.headers.get(
            "set-cookie", "")
        r = await sign_in(c, "bk_" + "x" * 43)
        assert r.status_code == 401 and "unknown or revoked" in r.text
        assert (await sign_in(c, "")).status_code == 401
        assert (await sign_in(c, "k" * 5000)).status_code == 401
        bearer = {"Authorization": f"Bearer {API_KEY}"}
        assert (await c.get("/dashboard/data.json", headers=bearer)).status_code == 200
        assert (await c.get("/dashboard/data.json", headers={"Authorization": f"Bearer {widget.secret}"})
                ).status_code == 401
        bad = await c.get("/dashboard/data.json", params={"from": "soon"}, headers=bearer)
        assert bad.status_code == 422 and "not a date" in bad.json()["message"]
        assert (await c.get("/dashboard")).status_code == 308
        assert (await c.get("/static/vendor/chart.umd.min.js")).status_code == 200
