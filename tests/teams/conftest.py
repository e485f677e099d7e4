"""Fixtures for the Teams edge: the fake Bot Framework identity services, the fake Bot Connector, a TeamsBot wired to
them and an httpx client over a FastAPI app serving ``/api/messages`` (no socket for the bot; real sockets for the
fakes, which the SDK's aiohttp and MSAL's requests reach)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bot.teams.adapter import CardAction, Conversation, TeamsBot, TeamsConfig, TeamsHandlers
from tests.fakes.bf_auth import FakeBotFrameworkAuth
from tests.fakes.botconnector import FakeBotConnector

TENANT = "72f988bf-0000-4000-8000-000000000001"
_ids = itertools.count(1)


@dataclass
class Recorder:
    """The handlers' side: what reached them."""

    conversations: list[Conversation] = field(default_factory=list)
    actions: list[CardAction] = field(default_factory=list)

    async def on_conversation(self, conversation: Conversation) -> None:
        self.conversations.append(conversation)

    async def on_card_action(self, action: CardAction) -> dict[str, Any]:
        self.actions.append(action)
        return {"type": "AdaptiveCard", "version": "1.5", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "body": [{"type": "TextBlock", "text": f"{action.verb} by {action.user_id}", "wrap": True}]}


@pytest.fixture
def bf_auth(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBotFrameworkAuth]:
    with FakeBotFrameworkAuth(tenant_id=TENANT) as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_file)  # MSAL (requests) trusts the fake login's certificate
        yield fake
    assert not fake.internal_errors, fake.internal_errors


@pytest.fixture
def connector(bf_auth: FakeBotFrameworkAuth) -> Iterator[FakeBotConnector]:
    with FakeBotConnector(token_verifier=bf_auth.verify_bot_token) as fake:
        yield fake
    assert not fake.internal_errors, fake.internal_errors
    assert not fake.schema_errors, fake.schema_errors


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def auth_config(bf_auth: FakeBotFrameworkAuth) -> TeamsConfig:
    return TeamsConfig(app_id=bf_auth.app_id, app_password=bf_auth.app_password, tenant_id=bf_auth.tenant_id,
                       openid_metadata_url=bf_auth.openid_metadata_url, authority=bf_auth.authority)


@pytest.fixture
async def bot(bf_auth: FakeBotFrameworkAuth, recorder: Recorder) -> AsyncIterator[TeamsBot]:
    teams = TeamsBot(auth_config(bf_auth), TeamsHandlers(recorder.on_conversation, recorder.on_card_action))
    yield teams
    await teams.aclose()


@pytest.fixture
async def client(bot: TeamsBot) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(bot) as c:
        yield c


def serve(bot: TeamsBot) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(bot.router())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://baton.test")


def activity(connector: FakeBotConnector, type: str = "message", *, conversation_id: str = "a:1user",
             conversation_type: str = "personal", **fields: Any) -> dict[str, Any]:
    """An inbound activity as Teams posts it, ``serviceUrl`` pointing at the fake connector."""
    return {
        "type": type, "id": f"1700000000{next(_ids):04d}", "timestamp": "2026-11-22T14:30:05.000Z",
        "channelId": "msteams", "serviceUrl": connector.service_url,
        "from": {"id": "29:1user", "name": "Emma", "aadObjectId": "aad-emma"},
        "conversation": {"id": conversation_id, "conversationType": conversation_type, "tenantId": TENANT},
        "recipient": {"id": "28:baton-bot", "name": "Baton"},
        "channelData": {"tenant": {"id": TENANT}},
        **fields,
    }
