"""Self-tests of the fake Bot Connector and the fake Bot Framework identity services, over raw HTTP (httpx)."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from tests.fakes.bf_auth import BF_ISSUER, FakeBotFrameworkAuth
from tests.fakes.botconnector import FakeBotConnector
from tests.fakes.botconnector_state import SlidingWindows
from tests.fakes.slack_state import ManualClock


@pytest.fixture
def auth() -> Iterator[FakeBotFrameworkAuth]:
    with FakeBotFrameworkAuth() as fake:
        yield fake
    assert not fake.internal_errors


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def connector(auth: FakeBotFrameworkAuth, clock: ManualClock) -> Iterator[FakeBotConnector]:
    with FakeBotConnector(token_verifier=auth.verify_bot_token, clock=clock) as fake:
        yield fake
    assert not fake.internal_errors


def client(connector: FakeBotConnector, auth: FakeBotFrameworkAuth | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {auth.bot_token()}"} if auth else {}
    return httpx.Client(base_url=connector.service_url, headers=headers)


MESSAGE = {"type": "message", "text": "hi", "from": {"id": "28:bot"}}


def test_send_reply_update_delete_are_recorded(connector: FakeBotConnector, auth: FakeBotFrameworkAuth) -> None:
    with client(connector, auth) as c:
        before = time.time()
        sent = c.post("v3/conversations/a:1/activities", json=MESSAGE)
        assert sent.status_code == 201
        aid = sent.json()["id"]
        assert c.post(f"v3/conversations/a:1/activities/{aid}", json={**MESSAGE, "text": "re"}).status_code == 201
        assert c.put(f"v3/conversations/a:1/activities/{aid}", json={**MESSAGE, "text": "edited"}).json() == {"id": aid}
        after = time.time()
        # wall-clock stamps for benchmarks: when each activity was stored, each update applied, each call answered
        stored = connector.activity(aid)
        assert before <= stored.at <= stored.updated_at[0] <= after and len(stored.updated_at) == len(stored.versions)
        assert all(before <= call.at <= after for call in connector.calls)
        assert c.put("v3/conversations/a:1/activities/nope", json=MESSAGE).json()["error"]["code"] == (
            "ActivityNotFoundInConversation")
        first, reply = connector.activities("a:1")
        assert (first.text, first.body["text"], reply.reply_to_id) == ("edited", "hi", aid)
        assert c.delete(f"v3/conversations/a:1/activities/{aid}").status_code == 200
        assert connector.activity(aid).deleted


def test_bearer_token_is_required_and_checked(connector: FakeBotConnector, auth: FakeBotFrameworkAuth) -> None:
    with client(connector, None) as c:
        assert c.post("v3/conversations/a:1/activities", json=MESSAGE).status_code == 401
        expired = {"Authorization": f"Bearer {auth.bot_token(lifetime=-60)}"}
        assert c.post("v3/conversations/a:1/activities", json=MESSAGE, headers=expired).status_code == 401
    assert connector.activities("a:1") == []


def test_bodies_are_checked_against_the_activity_schema(connector: FakeBotConnector,
                                                        auth: FakeBotFrameworkAuth) -> None:
    with client(connector, auth) as c:
        r = c.post("v3/conversations/a:1/activities", json={"type": "message", "attachments": "not-a-list"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "BadSyntax"
        assert "attachments" in r.json()["error"]["message"]
    assert connector.schema_errors and connector.activities("a:1") == []
    connector.schema_errors.clear()


def test_create_conversation_personal_and_channel_thread(connector: FakeBotConnector,
                                                         auth: FakeBotFrameworkAuth) -> None:
    with client(connector, auth) as c:
        one = c.post("v3/conversations", json={"bot": {"id": "28:bot"}, "members": [{"id": "29:emma"}],
                                               "tenantId": "t1", "isGroup": False}).json()
        again = c.post("v3/conversations", json={"bot": {"id": "28:bot"}, "members": [{"id": "29:emma"}]}).json()
        assert one["id"] == again["id"] == "a:29:emma" and one["serviceUrl"] == connector.service_url
        thread = c.post("v3/conversations", json={"isGroup": True, "channelData": {"channel": {"id": "19:c@thread"}},
                                                  "activity": MESSAGE}).json()
        assert thread["id"] == f"19:c@thread;messageid={thread['activityId']}"
        c.post(f"v3/conversations/{thread['id']}/activities", json={**MESSAGE, "text": "in thread"})
        assert c.get("v3/conversations/a:29:emma/members").json() == [{"id": "29:emma"}]
        assert c.get("v3/conversations/a:29:emma/members/29:emma").json() == {"id": "29:emma"}
        assert c.get("v3/conversations/a:29:emma/members/29:x").status_code == 404
    root, reply = connector.activities("19:c@thread")
    assert reply.reply_to_id == root.id == thread["activityId"]


def test_removed_conversation_and_injected_faults(connector: FakeBotConnector, auth: FakeBotFrameworkAuth) -> None:
    with client(connector, auth) as c:
        connector.fail_next(412, "PreconditionFailed", operation="send", conversation_id="a:1")
        assert c.post("v3/conversations/a:1/activities", json=MESSAGE).status_code == 412
        assert c.post("v3/conversations/a:1/activities", json=MESSAGE).status_code == 201
        connector.remove_conversation("a:1", "deleted")
        r = c.post("v3/conversations/a:1/activities", json=MESSAGE)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "ConversationNotFound")


def test_per_conversation_pacing_answers_429_with_retry_after(connector: FakeBotConnector, clock: ManualClock,
                                                              auth: FakeBotFrameworkAuth) -> None:
    with client(connector, auth) as c:
        statuses = [c.post("v3/conversations/a:1/activities", json=MESSAGE).status_code for _ in range(8)]
        assert statuses == [201] * 7 + [429]
        r = c.post("v3/conversations/a:1/activities", json=MESSAGE)
        assert r.json()["error"]["code"] == "Throttled" and r.headers["Retry-After"] == "1"
        assert c.post("v3/conversations/a:2/activities", json=MESSAGE).status_code == 201  # other conversations pass
        clock.advance(1.5)
        assert c.post("v3/conversations/a:1/activities", json=MESSAGE).status_code == 201  # 8 in 2 s
        assert c.post("v3/conversations/a:1/activities", json=MESSAGE).status_code == 429
    assert len(connector.activities("a:1")) == 8 and connector.throttled == 3


def test_sliding_windows_long_window_and_global_rate() -> None:
    clock = ManualClock()
    windows = SlidingWindows(clock)
    limits = ((1, 7), (2, 8), (30, 60), (3600, 1800))
    sent = 0
    for _ in range(400):  # 400 one-second steps: the 30 s window (60 operations) binds, not the 1 s one
        while windows.wait("c", limits) is None:
            windows.record("c")
            sent += 1
        clock.advance(1)
    assert 60 * (400 // 30) <= sent <= 60 * (400 // 30 + 1)
    assert windows.wait("c", ()) is None


def test_channel_tokens_and_openid_documents(auth: FakeBotFrameworkAuth) -> None:
    metadata = httpx.get(auth.openid_metadata_url).json()
    assert metadata["issuer"] == BF_ISSUER and metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    [key] = httpx.get(metadata["jwks_uri"]).json()["keys"]
    assert key["kid"] == auth.channel_key.kid and key["endorsements"] == ["msteams"] and "d" not in key
    token = auth.channel_token("https://smba.example/amer/")
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=auth.app_id, issuer=BF_ISSUER)
    assert claims["serviceurl"] == "https://smba.example/amer/" and claims["exp"] > time.time()
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(auth.channel_token("x", issued_at=time.time() - 7200), jwt.PyJWK(key).key, algorithms=["RS256"],
                   audience=auth.app_id)


def test_token_endpoint_speaks_tls_and_checks_the_secret(auth: FakeBotFrameworkAuth) -> None:
    with httpx.Client(verify=ssl.create_default_context(cafile=auth.ca_file)) as c:
        discovery = c.get(f"{auth.authority}/v2.0/.well-known/openid-configuration").json()
        form = {"grant_type": "client_credentials", "client_id": auth.app_id, "client_secret": auth.app_password,
                "scope": "https://api.botframework.com/.default"}
        ok = c.post(discovery["token_endpoint"], data=form).json()
        assert auth.verify_bot_token(ok["access_token"])["appid"] == auth.app_id and ok["expires_in"] == 3600
        bad = c.post(discovery["token_endpoint"], data={**form, "client_secret": "wrong"})
        assert (bad.status_code, bad.json()["error"]) == (401, "invalid_client")
    assert [r.status for r in auth.token_requests] == [200, 401]
    with pytest.raises(httpx.ConnectError):  # not trusted without the fake's certificate
        httpx.get(f"{auth.authority}/v2.0/.well-known/openid-configuration", verify=True)
