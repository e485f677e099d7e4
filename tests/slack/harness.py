"""A running Baton (real uvicorn, real dispatcher, real Bolt) wired to a FakeSlack, for end-to-end tests.

Everything goes through the real code paths: intake over HTTP, the outbox dispatcher, slack_sdk's
``AsyncWebClient`` against the fake Web API, and signed requests into ``/slack/events``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.conftest import API_KEY, make_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_payloads import SlackInbound
from tests.support.factories import intake_body
from tests.support.server import serve_in_thread
from tests.support.waiting import eventually

TECH, BILLING, FALLBACK = "C0TECH00001", "C0BILL00001", "C0FALLBACK1"
EMMA, LIAM, OMAR = "U0EMMA00001", "U0LIAM00001", "U0OMAR00001"


def write_config(tmp: Path, **chat: Any) -> Path:
    config = {
        "queues": {
            "technical": {"display_name": "Technical", "channels": {"slack": TECH}, "lead": "emma"},
            "billing": {"display_name": "Billing", "channels": {"slack": BILLING}},
            "accounts": {}, "sales": {}, "general": {},
        },
        "agents": [
            {"id": "emma", "display_name": "Emma", "tier": "L2", "skills": ["technical"], "handles": {"slack": EMMA}},
            {"id": "liam", "display_name": "Liam", "skills": ["billing"], "handles": {"slack": LIAM}},
        ],
        "outbox": {"log_destination": False, "poll_seconds": 0.2},
        "chat": chat or {"burst_threshold": 10},
    }
    path = tmp / "baton.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def seed_workspace(fake: FakeSlack) -> None:
    for cid, name in ((TECH, "technical"), (BILLING, "billing"), (FALLBACK, "support-fallback")):
        fake.add_channel(name, id=cid)
    for uid, name in ((EMMA, "emma"), (LIAM, "liam"), (OMAR, "omar")):
        fake.add_user(name, id=uid, channels=(TECH, BILLING, FALLBACK))


class Baton:
    """The running service plus helpers to drive it like Slack and the AI widget would."""

    def __init__(self, base: str, fake: FakeSlack, rt: Any, settings: Any) -> None:
        self.base, self.fake, self.rt, self.settings = base, fake, rt, settings
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=90)
        self._side: Any = None

    def domain(self, fn: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run ``fn(runtime)`` against the same database from the test thread, as another process would
        (e.g. the customer channel writing a customer message); the server's dispatcher delivers the result."""
        from app import build
        from bot.slack.integration import slack_integration

        if self._side is None:
            self._side = build(self.settings, integrations=[slack_integration], with_log=False)
        side = self._side

        async def go() -> Any:
            try:
                return await fn(side)
            finally:
                await side.engine.dispose()

        return asyncio.run(go())

    def intake(self, **overrides: Any) -> str:
        r = self.http.post("/v1/handoffs", json=intake_body(**overrides))
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def handoff(self, handoff_id: str) -> dict[str, Any]:
        r = self.http.get(f"/v1/handoffs/{handoff_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def slack(self, inbound: SlackInbound, *, secret: str | None = None) -> httpx.Response:
        """POST a Slack request body, signed like Slack signs it, to /slack/events."""
        return self.http.post("/slack/events", content=inbound.body,
                              headers=inbound.headers(secret or self.fake.signing_secret))

    def card(self, channel: str, handoff_id: str, timeout: float = 10.0,
             where: Callable[[dict[str, Any]], bool] = lambda m: True) -> dict[str, Any]:
        """Wait for the top-level card of ``handoff_id`` in ``channel`` (matching ``where``)."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.fake.messages(channel):
                if card_handoff(m) == handoff_id and where(m):
                    return m
            if time.monotonic() > deadline:
                raise AssertionError(f"no card for {handoff_id} in {channel}: {self.fake.messages(channel)!r:.2000}")
            time.sleep(0.02)

    def wait(self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
        return eventually(predicate, timeout, what)


def click(baton: Baton, action: Any, user: str, card: dict[str, Any], channel: str) -> httpx.Response:
    """Press a card's button as ``user`` (a signed ``block_actions`` request with the real posted message)."""
    from tests.fakes.slack_payloads import block_actions_payload

    el = next(e for b in card["blocks"] for e in b.get("elements") or [] if e.get("action_id") == action)
    return baton.slack(block_actions_payload(str(action), el["value"], user, channel, card["ts"], message=card))


def card_handoff(message: dict[str, Any]) -> str | None:
    """The handoff a card message is for (from its buttons' versioned values)."""
    for block in message.get("blocks") or []:
        for el in block.get("elements") or []:
            if isinstance(el, dict) and isinstance(el.get("value"), str) and el["value"].startswith("{"):
                value = json.loads(el["value"])
                if value.get("h"):
                    return str(value["h"])
    return None


def card_text(message: dict[str, Any]) -> str:
    """Every text of a message's blocks, joined (for assertions on what agents read)."""
    out: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            if isinstance(x.get("text"), str):
                out.append(x["text"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(message.get("blocks") or [])
    return "\n".join(out)


@contextmanager
def running_baton(db_url: str, tmp: Path, fake: FakeSlack, *, config: Path | None = None,
                  **env: str) -> Iterator[Baton]:
    from app import build, create_app
    from bot.slack.integration import slack_integration

    settings = make_settings(db_url, SLACK_BOT_TOKEN=fake.token, SLACK_SIGNING_SECRET=fake.signing_secret,
                             SLACK_API_URL=fake.base_url, SLACK_DEFAULT_CHANNEL=FALLBACK,
                             BATON_CONFIG=str(config or write_config(tmp)), **env)
    rt = build(settings, integrations=[slack_integration], with_log=False)
    with serve_in_thread(create_app(rt)) as base:
        baton = Baton(base, fake, rt, settings)
        try:
            yield baton
        finally:
            baton.http.close()
