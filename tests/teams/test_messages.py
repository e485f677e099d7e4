"""``POST /api/messages`` through the real Agents SDK: Bot Framework JWT checks, replies, card actions, references."""

from __future__ import annotations

import time

import httpx
import pytest

from bot.teams.adapter import TeamsBot, TeamsConfig, TeamsHandlers
from tests.fakes.bf_auth import FakeBotFrameworkAuth, RsaKey
from tests.fakes.botconnector import FakeBotConnector
from tests.fakes.slack_state import ManualClock
from tests.teams.conftest import Recorder, activity, auth_config, serve


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_signed_message_gets_pong_as_reply(client: httpx.AsyncClient, bf_auth: FakeBotFrameworkAuth,
                                                 connector: FakeBotConnector) -> None:
    inbound = activity(connector, text="ping")
    r = await client.post("/api/messages", json=inbound, headers=bearer(bf_auth.channel_token(connector.service_url)))
    assert r.status_code == 202, r.text
    [reply] = connector.activities("a:1user")
    assert reply.text == "pong"
    assert reply.reply_to_id == inbound["id"]
    [call] = [c for c in connector.calls if c.operation == "reply"]
    assert call.path == f"/amer/v3/conversations/a:1user/activities/{inbound['id']}"
    assert reply.body["replyToId"] == inbound["id"] and reply.body["type"] == "message"
    assert reply.body["from"]["id"] == "28:baton-bot" and reply.body["recipient"]["id"] == "29:1user"
    # the bot authenticated to the connector with a client-credentials token from the (fake) login service
    assert [(t.grant_type, t.client_id, t.scope) for t in bf_auth.token_requests][:1] == [
        ("client_credentials", bf_auth.app_id, "https://api.botframework.com/.default")]


@pytest.mark.parametrize("case", ["expired", "wrong_audience", "wrong_issuer", "unsigned", "unlisted_key",
                                  "no_header", "not_bearer", "garbage"])
async def test_bad_tokens_are_refused_and_nothing_reaches_the_connector(
        case: str, client: httpx.AsyncClient, bf_auth: FakeBotFrameworkAuth, connector: FakeBotConnector) -> None:
    url = connector.service_url
    headers = {
        "expired": bearer(bf_auth.channel_token(url, issued_at=time.time() - 7200, lifetime=3600)),
        "wrong_audience": bearer(bf_auth.channel_token(url, audience="some-other-bot")),
        "wrong_issuer": bearer(bf_auth.channel_token(url, issuer="https://sts.windows.net/evil/")),
        "unsigned": bearer(_unsigned(bf_auth.app_id, url)),
        "unlisted_key": bearer(bf_auth.channel_token(url, key=bf_auth.unlisted_key)),
        "no_header": {},
        "not_bearer": {"Authorization": "Basic dXNlcjpwYXNz"},
        "garbage": bearer("not-a-jwt"),
    }[case]
    r = await client.post("/api/messages", json=activity(connector, text="ping"), headers=headers)
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "unauthorized" and r.json()["message"]
    assert r.headers["www-authenticate"] == "Bearer"
    assert connector.calls == []
    assert bf_auth.token_requests == []


async def test_token_for_another_service_url_is_forbidden(client: httpx.AsyncClient, bf_auth: FakeBotFrameworkAuth,
                                                          connector: FakeBotConnector) -> None:
    token = bf_auth.channel_token("https://smba.trafficmanager.net/emea/")
    r = await client.post("/api/messages", json=activity(connector, text="ping"), headers=bearer(token))
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert connector.calls == []


async def test_key_not_endorsed_for_the_channel_is_forbidden(client: httpx.AsyncClient, bf_auth: FakeBotFrameworkAuth,
                                                             connector: FakeBotConnector) -> None:
    token = bf_auth.channel_token(connector.service_url)  # the key is endorsed for msteams only
    r = await client.post("/api/messages", json=activity(connector, text="ping", channelId="webchat"),
                          headers=bearer(token))
    assert r.status_code == 403 and "endorsed" in r.json()["message"]
    assert connector.calls == []


async def test_rotated_signing_key_is_fetched_once(bf_auth: FakeBotFrameworkAuth, connector: FakeBotConnector,
                                                   recorder: Recorder) -> None:
    clock = ManualClock()
    bot = TeamsBot(auth_config(bf_auth), TeamsHandlers(recorder.on_conversation, recorder.on_card_action),
                   clock=clock)
    url = connector.service_url

    async def post(key: RsaKey | None = None) -> int:
        async with serve(bot) as client:
            r = await client.post("/api/messages", json=activity(connector, text="x"),
                                  headers=bearer(bf_auth.channel_token(url, key=key)))
        return r.status_code

    assert await post() == 202
    assert bf_auth.jwks_fetches == 1
    new_key = bf_auth.rotate_channel_key()
    assert await post(new_key) == 401  # an unknown key id refetches at most once a minute (no refetch storm)
    assert bf_auth.jwks_fetches == 1
    clock.advance(61)
    assert [await post(new_key), await post(new_key)] == [202, 202]
    assert bf_auth.jwks_fetches == 2
    await bot.aclose()


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"type": "message"}',
                                  b'{"type": 5, "conversation": {"id": "a"}, "serviceUrl": "http://x/"}'])
async def test_malformed_activities_are_400_not_500(body: bytes, client: httpx.AsyncClient,
                                                    connector: FakeBotConnector) -> None:
    r = await client.post("/api/messages", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_activity"
    assert connector.calls == []


async def test_action_execute_answers_with_the_updated_card(client: httpx.AsyncClient, bf_auth: FakeBotFrameworkAuth,
                                                            connector: FakeBotConnector, recorder: Recorder) -> None:
    invoke = activity(connector, "invoke", name="adaptiveCard/action", replyToId="card-1",
                      value={"action": {"type": "Action.Execute", "verb": "claim", "data": {"v": 1, "h": "ho_1"}},
                             "trigger": "manual"})  # fmt: skip
    r = await client.post("/api/messages", json=invoke, headers=bearer(bf_auth.channel_token(connector.service_url)))
    assert r.status_code == 200, r.text
    assert r.json() == {"statusCode": 200, "type": "application/vnd.microsoft.card.adaptive",
                        "value": await recorder.on_card_action(recorder.actions[0])}
    [action] = recorder.actions[:1]
    assert (action.verb, action.data, action.user_id, action.user_aad_id, action.message_id) == (
        "claim", {"v": 1, "h": "ho_1"}, "29:1user", "aad-emma", "card-1")
    assert [c.operation for c in connector.calls] == []  # the invoke is answered in the HTTP response


async def test_installation_captures_the_conversation_reference(
        client: httpx.AsyncClient, bf_auth: FakeBotFrameworkAuth, connector: FakeBotConnector,
        recorder: Recorder) -> None:
    channel = "19:escalations@thread.tacv2"
    for kind, extra in (("installationUpdate", {"action": "add"}),
                        ("conversationUpdate", {"membersAdded": [{"id": "28:baton-bot"}]})):
        r = await client.post("/api/messages", headers=bearer(bf_auth.channel_token(connector.service_url)),
                              json=activity(connector, kind, conversation_id=channel, conversation_type="channel",
                                            **extra))  # fmt: skip
        assert r.status_code == 202, r.text
    assert len(recorder.conversations) == 2
    stored = recorder.conversations[0].store_item_to_json()
    ref = stored["conversation_reference"]
    assert ref["conversation"]["id"] == channel and ref["serviceUrl"] == connector.service_url
    assert ref["channelId"] == "msteams" and ref.get("activityId") is None
    assert stored["claims"]["aud"] == bf_auth.app_id and stored["claims"]["iss"] == "https://api.botframework.com"
    removed = activity(connector, "installationUpdate", conversation_id=channel, action="remove")
    r = await client.post("/api/messages", json=removed, headers=bearer(bf_auth.channel_token(connector.service_url)))
    assert r.status_code == 202 and len(recorder.conversations) == 2


async def test_emulator_mode_accepts_without_auth_and_sends_without_token(recorder: Recorder) -> None:
    with FakeBotConnector(require_auth=False) as connector:
        bot = TeamsBot(TeamsConfig(emulator=True), TeamsHandlers(recorder.on_conversation, recorder.on_card_action))
        async with serve(bot) as client:
            r = await client.post("/api/messages", json=activity(connector, text="ping", channelId="emulator"))
        await bot.aclose()
        assert r.status_code == 202, r.text
        [reply] = connector.activities("a:1user")
        assert reply.text == "pong"


def test_emulator_with_app_id_is_refused_at_start_up() -> None:
    from settings import Settings, SettingsError, load_settings

    with pytest.raises(ValueError, match="TEAMS_EMULATOR"):
        Settings(TEAMS_EMULATOR="true", TEAMS_APP_ID="app", TEAMS_APP_PASSWORD="pw")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="TEAMS_EMULATOR"):
        TeamsConfig(app_id="app", app_password="pw", emulator=True)
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("TEAMS_EMULATOR", "true")
        mp.setenv("TEAMS_APP_ID", "app")
        mp.setenv("TEAMS_APP_PASSWORD", "pw")
        with pytest.raises(SettingsError, match="refused when TEAMS_APP_ID is set"):
            load_settings()
    finally:
        mp.undo()


def test_settings_build_the_teams_config() -> None:
    from settings import Settings

    s = Settings(TEAMS_APP_ID="app", TEAMS_APP_PASSWORD="pw", TEAMS_TENANT_ID="t1",  # type: ignore[call-arg]
                 TEAMS_OPENID_METADATA_URL="http://127.0.0.1:1/meta", TEAMS_AUTHORITY="https://127.0.0.1:2/t1")
    assert TeamsConfig.from_settings(s) == TeamsConfig(app_id="app", app_password="pw", tenant_id="t1",
                                                       openid_metadata_url="http://127.0.0.1:1/meta",
                                                       authority="https://127.0.0.1:2/t1")
    with pytest.raises(ValueError, match="TEAMS_APP_PASSWORD"):
        Settings(TEAMS_APP_ID="app")  # type: ignore[call-arg]


def _unsigned(app_id: str, service_url: str) -> str:
    import jwt

    now = int(time.time())
    return jwt.encode({"iss": "https://api.botframework.com", "aud": app_id, "serviceurl": service_url,
                       "nbf": now, "exp": now + 600}, key="", algorithm="none")
