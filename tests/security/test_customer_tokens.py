"""Customer tokens expire ``customer_token_grace_hours`` after the conversation ends (resolved or closed)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customer.conftest import KEY, bearer, cclient, config_path, crt, new_handoff  # noqa: F401 (fixtures)
from tests.support.clock import FakeClock


@pytest.fixture
def clock(crt: Any) -> FakeClock:  # noqa: F811
    c = FakeClock()
    object.__setattr__(crt.deps, "clock", c)  # Deps is frozen; every service shares this instance
    return c


async def _status(client: Any, h: dict[str, Any]) -> int:
    return int((await client.get(f"/v1/handoffs/{h['id']}/status", headers=bearer(h["customer_token"]))).status_code)


async def test_the_token_expires_grace_hours_after_the_resolution_closed_or_not(cclient: Any, crt: Any,  # noqa: F811
                                                                                clock: FakeClock) -> None:
    grace = crt.config.customer_token_grace_hours * 3600
    h = await new_handoff(cclient)
    clock.advance(3 * 24 * 3600)  # waiting for days does not expire anything
    assert await _status(cclient, h) == 200
    await cclient.post(f"/v1/handoffs/{h['id']}/claim", json={"agent_id": "emma"}, headers=KEY)
    await cclient.post(f"/v1/handoffs/{h['id']}/resolve", json={"agent_id": "emma"}, headers=KEY)
    clock.advance(3600)
    closed = await cclient.post(f"/v1/handoffs/{h['id']}/close", json={"reason": "rated"}, headers=KEY)
    assert closed.json()["status"] == "closed"
    clock.advance(grace - 3600 - 1)
    assert await _status(cclient, h) == 200  # the customer can still rate and read the end of the conversation
    clock.advance(1)
    assert await _status(cclient, h) == 401
    events = await cclient.get(f"/v1/handoffs/{h['id']}/events", headers=bearer(h["customer_token"]))
    assert events.status_code == 401 and "expired" in events.json()["message"]
    msg = await cclient.post(f"/v1/handoffs/{h['id']}/messages", json={"text": "hello?"},
                             headers=bearer(h["customer_token"]))
    assert msg.status_code == 401


async def test_a_reopened_conversation_makes_the_token_work_again(cclient: Any, crt: Any,  # noqa: F811
                                                                  clock: FakeClock) -> None:
    h = await new_handoff(cclient)
    await cclient.post(f"/v1/handoffs/{h['id']}/claim", json={"agent_id": "emma"}, headers=KEY)
    await cclient.post(f"/v1/handoffs/{h['id']}/resolve", json={"agent_id": "emma"}, headers=KEY)
    clock.advance(crt.config.customer_token_grace_hours * 3600 + 60)
    assert await _status(cclient, h) == 401
    await cclient.post(f"/v1/handoffs/{h['id']}/reopen", json={"reason": "not fixed"}, headers=KEY)
    assert await _status(cclient, h) == 200


async def test_zero_grace_expires_at_resolution(cclient: Any, crt: Any, clock: FakeClock) -> None:  # noqa: F811
    object.__setattr__(crt.config, "customer_token_grace_hours", 0.0)
    h = await new_handoff(cclient)
    await cclient.post(f"/v1/handoffs/{h['id']}/claim", json={"agent_id": "emma"}, headers=KEY)
    assert await _status(cclient, h) == 200
    await cclient.post(f"/v1/handoffs/{h['id']}/resolve", json={"agent_id": "emma"}, headers=KEY)
    assert await _status(cclient, h) == 401


async def test_tokens_are_per_handoff(cclient: Any) -> None:  # noqa: F811
    a, b = await new_handoff(cclient), await new_handoff(cclient)
    r = await cclient.get(f"/v1/handoffs/{a['id']}/status", headers=bearer(b["customer_token"]))
    assert r.status_code == 401 and r.json()["message"] == "unknown handoff or token"
    unknown = await cclient.get("/v1/handoffs/ho_nope/status", headers=bearer(a["customer_token"]))
    assert unknown.json() == r.json()  # an unknown id and a wrong token cannot be told apart
