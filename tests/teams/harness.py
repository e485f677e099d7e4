"""A running Baton (real uvicorn, dispatcher, Agents SDK) wired to the fake Bot Connector and Bot Framework login,
and optionally to the fake Slack too — everything through the real code paths: intake over HTTP, the outbox,
signed activities into ``/api/messages``, proactive sends and updates out through the SDK."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.conftest import API_KEY, make_settings
from tests.fakes.bf_auth import FakeBotFrameworkAuth
from tests.fakes.botconnector import FakeBotConnector
from tests.fakes.botconnector_state import SentActivity
from tests.support.factories import intake_body
from tests.support.server import serve_in_thread
from tests.support.waiting import eventually

CHANNEL = "19:technical-escalations@thread.tacv2"
BILLING = "19:billing-escalations@thread.tacv2"
TENANT = "72f988bf-0000-4000-8000-000000000001"
EMMA = {"id": "29:1emma", "name": "Emma Ruiz", "aadObjectId": "aad-emma"}
LIAM = {"id": "29:1liam", "name": "Liam Chen", "aadObjectId": "aad-liam"}
_ids = itertools.count(1)


def write_config(tmp: Path, slack: dict[str, str] | None = None) -> Path:
    config = {
        "queues": {
            "technical": {"display_name": "Technical", "lead": "emma",
                          "channels": {"teams": CHANNEL, **({"slack": slack["technical"]} if slack else {})}},
            "billing": {"display_name": "Billing", "channels": {"teams": BILLING}},
            "accounts": {}, "sales": {}, "general": {},
        },
        "agents": [
            {"id": "emma", "display_name": "Emma Ruiz", "tier": "L2", "skills": ["technical"],
             "handles": {"teams": EMMA["aadObjectId"], **({"slack": slack["emma"]} if slack else {})}},
            {"id": "liam", "display_name": "Liam Chen", "skills": ["billing"],
             "handles": {"teams": LIAM["aadObjectId"]}},
        ],
        "outbox": {"log_destination": False, "poll_seconds": 0.2},
    }
    path = tmp / "baton.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def teams_env(bf_auth: FakeBotFrameworkAuth) -> dict[str, str]:
    return {"TEAMS_APP_ID": bf_auth.app_id, "TEAMS_APP_PASSWORD": bf_auth.app_password,
            "TEAMS_TENANT_ID": bf_auth.tenant_id, "TEAMS_OPENID_METADATA_URL": bf_auth.openid_metadata_url,
            "TEAMS_AUTHORITY": bf_auth.authority}


def card_of(sent: SentActivity) -> dict[str, Any] | None:
    for a in sent.attachments:
        if a.get("contentType") == "application/vnd.microsoft.card.adaptive":
            return dict(a["content"])
    return None


def card_handoff(card: dict[str, Any] | None) -> str | None:
    """The handoff an Adaptive Card is for (from its actions' versioned data)."""
    if not card:
        return None
    for action in [*(card.get("actions") or []), (card.get("refresh") or {}).get("action") or {}]:
        data = action.get("data") if isinstance(action, dict) else None
        if isinstance(data, dict) and data.get("h"):
            return str(data["h"])
    return None


def shown(card: dict[str, Any] | None) -> str:
    """Every text a person reads on a card (TextBlocks, TextRuns, facts), joined."""
    out: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for k in ("text", "value", "title"):
                if isinstance(x.get(k), str):
                    out.append(x[k])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk((card or {}).get("body") or [])
    return "\n".join(out)


class TeamsBaton:
    """The running service plus helpers to drive it as Teams and the AI widget would."""

    def __init__(self, base: str, rt: Any, bf_auth: FakeBotFrameworkAuth, connector: FakeBotConnector,
                 settings: Any = None) -> None:
        self.base, self.rt, self.bf_auth, self.connector, self.settings = base, rt, bf_auth, connector, settings
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30)

    def domain(self, fn: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run ``fn(runtime)`` on the same database from the test thread, as another process would."""
        from app import build

        side = build(self.settings, integrations=[], with_log=False)

        async def go() -> Any:
            try:
                return await fn(side)
            finally:
                await side.engine.dispose()

        return asyncio.run(go())

    def activity(self, type: str, *, conversation_id: str, user: dict[str, str] = EMMA,
                 conversation_type: str = "channel", **fields: Any) -> httpx.Response:
        """POST an activity to /api/messages as Teams does, with a valid channel token."""
        body = {"type": type, "id": f"1700000000{next(_ids):05d}", "timestamp": "2026-11-22T14:30:05.000Z",
                "channelId": "msteams", "serviceUrl": self.connector.service_url, "from": user,
                "conversation": {"id": conversation_id, "conversationType": conversation_type, "tenantId": TENANT},
                "recipient": {"id": "28:baton-bot", "name": "Baton"}, "channelData": {"tenant": {"id": TENANT}},
                **fields}
        token = self.bf_auth.channel_token(self.connector.service_url)
        return self.http.post("/api/messages", content=json.dumps(body),
                              headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})

    def install(self, channel: str = CHANNEL) -> None:
        r = self.activity("installationUpdate", conversation_id=channel, action="add")
        assert r.status_code in (200, 202), r.text

    def invoke(self, card_id: str, action: dict[str, Any], user: dict[str, str] = EMMA,
               inputs: dict[str, Any] | None = None, channel: str = CHANNEL) -> dict[str, Any]:
        """Press an ``Action.Execute`` (with form inputs merged into its data) and return the invoke's answer."""
        value = {"action": {"type": "Action.Execute", "verb": action["verb"],
                            "data": {**action.get("data", {}), **(inputs or {})}}, "trigger": "manual"}
        r = self.activity("invoke", conversation_id=channel, user=user, name="adaptiveCard/action", value=value,
                          replyToId=card_id)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def intake(self, **overrides: Any) -> str:
        r = self.http.post("/v1/handoffs", json=intake_body(**overrides))
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def card(self, handoff_id: str, channel: str = CHANNEL, timeout: float = 15.0,
             where: Callable[[dict[str, Any]], bool] = lambda c: True) -> SentActivity:
        """Wait for the top-level card of ``handoff_id`` in ``channel`` (its current version matching ``where``)."""
        deadline = time.monotonic() + timeout
        while True:
            for sent in self.connector.activities(channel):
                card = card_of(sent)
                if sent.reply_to_id is None and card_handoff(card) == handoff_id and card and where(card):
                    return sent
            if time.monotonic() > deadline:
                seen = [(s.id, s.reply_to_id, shown(card_of(s))[:200]) for s in self.connector.activities(channel)]
                raise AssertionError(f"no matching card for {handoff_id} in {channel}: {seen!r:.3000}")
            time.sleep(0.02)

    def thread(self, root_id: str, channel: str = CHANNEL) -> list[SentActivity]:
        return [s for s in self.connector.activities(channel) if s.reply_to_id == root_id]

    def wait(self, predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
        return eventually(predicate, timeout, what)


@contextmanager
def running_baton(db_url: str, tmp: Path, bf_auth: FakeBotFrameworkAuth, connector: FakeBotConnector, *,
                  slack: Any = None, config: Path | None = None, **env: str) -> Iterator[TeamsBaton]:
    from app import build, create_app
    from bot.teams.integration import teams_integration
    from bot.web.customer import customer_integration

    factories = [customer_integration, teams_integration]
    extra = dict(env)
    if slack is not None:
        from bot.slack.integration import slack_integration

        factories.append(slack_integration)
        extra.update(SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET=slack.signing_secret,
                     SLACK_API_URL=slack.base_url)
    settings = make_settings(db_url, BATON_CONFIG=str(config or write_config(tmp)), **teams_env(bf_auth), **extra)
    rt = build(settings, integrations=factories, with_log=False)
    with serve_in_thread(create_app(rt)) as base:
        baton = TeamsBaton(base, rt, bf_auth, connector, settings)
        try:
            yield baton
        finally:
            baton.http.close()
