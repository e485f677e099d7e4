"""API keys: stored hashed, scoped (intake / agent / admin → 403 outside scope), revocable, listed without secrets."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from handoff.auth import Scope
from handoff.errors import Unauthorized
from handoff.services.keys import ApiKeys
from tests.conftest import API_KEY
from tests.support.factories import intake_body


@pytest.fixture
async def app_and_keys(runtime: Any) -> AsyncIterator[tuple[Any, Any, dict[str, str]]]:
    """The ASGI app plus one stored key per scope (as `app.py keys create` makes them)."""
    from app import create_app

    svc = ApiKeys(runtime.deps)
    made = {s.value: (await svc.create(s, f"{s.value} key")).secret for s in Scope}
    yield create_app(runtime, run_dispatcher=False), runtime, made


def client_for(app: Any, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://baton.test", headers=headers)


async def _calls(c: httpx.AsyncClient, hid: str) -> dict[str, int]:
    """One request per scope-relevant endpoint; the status of each."""
    body = intake_body()
    return {
        "intake": (await c.post("/v1/handoffs", json=body)).status_code,
        "evaluate": (await c.post("/v1/evaluate", json={k: v for k, v in body.items() if k != "trigger"})).status_code,
        "read": (await c.get(f"/v1/handoffs/{hid}")).status_code,
        "list": (await c.get("/v1/handoffs")).status_code,
        "note": (await c.post(f"/v1/handoffs/{hid}/notes", json={"agent_id": "emma", "text": "hi"})).status_code,
        "agents": (await c.get("/v1/agents")).status_code,
        "put_agent": (await c.put("/v1/agents/emma", json={"capacity": 4})).status_code,
    }


async def test_each_scope_reaches_its_endpoints_and_gets_403_elsewhere(app_and_keys: Any) -> None:
    app, _, keys = app_and_keys
    async with client_for(app, API_KEY) as env:
        hid = (await env.post("/v1/handoffs", json=intake_body())).json()["id"]
    got = {}
    for name, key in [("intake", keys["intake"]), ("agent", keys["agent"]), ("admin", keys["admin"]),
                      ("env", API_KEY)]:
        async with client_for(app, key) as c:
            got[name] = await _calls(c, hid)
    ok_create = {"intake": 201, "evaluate": 200}
    ok_agent = {"read": 200, "list": 200, "note": 201, "agents": 200}
    assert got["intake"] == {**ok_create, **dict.fromkeys(ok_agent, 403), "put_agent": 403}
    assert got["agent"] == {**dict.fromkeys(ok_create, 403), **ok_agent, "put_agent": 403}
    assert got["admin"] == got["env"] == {**ok_create, **ok_agent, "put_agent": 200}


async def test_a_key_outside_its_scope_gets_the_one_error_shape(app_and_keys: Any) -> None:
    app, _, keys = app_and_keys
    async with client_for(app, keys["intake"]) as c:
        r = await c.get("/v1/handoffs")
        reload = await c.post("/v1/admin/rules/reload")
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden",
                        "message": "this API key has scope 'intake'; GET /v1/handoffs needs 'agent' (or 'admin')",
                        "details": {"scope": "intake", "required": "agent"}}
    assert reload.status_code == 403 and reload.json()["details"]["required"] == "admin"


async def test_missing_unknown_and_malformed_keys_are_401(app_and_keys: Any) -> None:
    app, _, keys = app_and_keys
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {keys['admin']}"},
                    {"Authorization": "Bearer " + "x" * 5000}, {"Authorization": keys["admin"]}):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://baton.test") as c:
            r = await c.get("/v1/handoffs", headers=headers)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized", headers
        assert r.headers["WWW-Authenticate"] == "Bearer"


async def test_keys_are_stored_only_as_hashes(runtime: Any) -> None:
    from handoff.store import tables as t

    made = await ApiKeys(runtime.deps).create("intake", "widget")
    assert made.secret.startswith("bk_") and len(made.secret) >= 40
    async with runtime.engine.connect() as conn:
        rows = [dict(r) for r in (await conn.execute(select(t.api_keys))).mappings()]
    assert len(rows) == 1
    row = rows[0]
    assert row["key_hash"] == hashlib.sha256(made.secret.encode()).hexdigest()
    assert made.secret not in repr(row) and made.secret[11:] not in repr(row)
    assert row["prefix"] == made.secret[:11] and row["scope"] == "intake" and row["name"] == "widget"


async def test_revoked_keys_stop_working_here_at_once_and_elsewhere_within_the_cache_time(runtime: Any) -> None:
    from tests.support.clock import FakeClock

    clock = FakeClock()
    object.__setattr__(runtime.deps, "clock", clock)  # Deps is frozen; every service shares this instance
    here = ApiKeys(runtime.deps)
    elsewhere = ApiKeys(runtime.deps)  # another process (the API) that has the key cached
    made = await here.create("agent")
    assert (await here.authenticate(made.secret)) is not None
    assert (await elsewhere.authenticate(made.secret)) is not None
    await here.revoke(made.key.id)
    assert await here.authenticate(made.secret) is None
    clock.advance(10.5)
    assert await elsewhere.authenticate(made.secret) is None
    listed = {k.id: k for k in await here.list()}
    assert listed[made.key.id].revoked_at is not None


async def test_use_is_recorded_at_most_once_a_minute(runtime: Any) -> None:
    from tests.support.clock import FakeClock

    clock = FakeClock()
    object.__setattr__(runtime.deps, "clock", clock)
    svc = ApiKeys(runtime.deps, cache_seconds=0)
    made = await svc.create("intake")
    first_use = clock.now()
    await svc.authenticate(made.secret)
    clock.advance(30)
    await svc.authenticate(made.secret)
    [k] = await svc.list()
    assert k.last_used_at == first_use
    clock.advance(31)
    await svc.authenticate(made.secret)
    [k] = await svc.list()
    assert k.last_used_at == clock.now()


async def test_check_key_is_exposed_for_a_pre_body_check(app_and_keys: Any) -> None:
    app, _, keys = app_and_keys
    principal = await app.state.check_key(f"Bearer {keys['agent']}")
    assert principal.scope is Scope.AGENT and principal.name == "agent key"
    env = await app.state.check_key(f"bearer {API_KEY}")
    assert env.scope is Scope.ADMIN and env.key_id == "env:1"
    with pytest.raises(Unauthorized):
        await app.state.check_key("Bearer bk_madeup")
    with pytest.raises(Unauthorized):
        await app.state.check_key(None)


async def test_bad_scope_or_name_is_refused(runtime: Any) -> None:
    from handoff.errors import InvalidCommand

    with pytest.raises(InvalidCommand, match="scope must be one of intake, agent, admin"):
        await ApiKeys(runtime.deps).create("root")
    with pytest.raises(InvalidCommand, match="100 characters"):
        await ApiKeys(runtime.deps).create("agent", "n" * 101)
