"""Tests of the fake Slack Web API, driven through the real slack_sdk clients (and Bolt for inbound payloads)."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from jsonschema import Draft4Validator, Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock, HeaderBlock, SectionBlock
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_blocks import LIMITS_PATH, validate_blocks, validate_view
from tests.fakes.slack_payloads import (
    block_actions_payload,
    message_event,
    sign_slack_request,
    slash_command_form,
    view_submission_payload,
)
from tests.fakes.slack_state import ManualClock, RateLimit

pytest_plugins = ["tests.fakes.slack_fixtures"]  # the fake_slack / fake_slack_factory fixtures

CONFORMANCE = LIMITS_PATH.parent
TS = re.compile(r"^\d{10}\.\d{6}$")
CHANNEL = re.compile(r"^[CGD][A-Z0-9]{8,}$")
CARD = [
    {"type": "header", "text": {"type": "plain_text", "text": "Escalation: refund request"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Customer* asked for a human"}},
    {"type": "actions", "block_id": "handoff_actions", "elements": [
        {"type": "button", "action_id": "claim", "text": {"type": "plain_text", "text": "Claim"},
         "value": '{"v":1,"h":"H1"}', "style": "primary"},
    ]},
]  # fmt: skip
MODAL = {"type": "modal", "callback_id": "transfer", "title": {"type": "plain_text", "text": "Transfer"},
         "submit": {"type": "plain_text", "text": "Transfer"}, "private_metadata": "H1",
         "blocks": [{"type": "input", "block_id": "to", "label": {"type": "plain_text", "text": "To"},
                     "element": {"type": "plain_text_input", "action_id": "queue"}}]}  # fmt: skip
HOME = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Your queue"}}]}


# ------------------------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads((CONFORMANCE / "slack_web_openapi_v2.json").read_text(encoding="utf-8"))


def spec_validator(spec: dict[str, Any], method: str, patch: Any = None) -> Draft4Validator:
    """Draft-04 validator for a method's 200 schema, optionally relaxed by ``patch(schema)`` (README: stale spec)."""
    doc = copy.deepcopy(spec)
    op = next(iter(doc["paths"][f"/{method}"].values()))
    if patch:
        patch(op["responses"]["200"]["schema"])
    verb = next(iter(doc["paths"][f"/{method}"]))
    registry = Registry().with_resource("urn:slack", Resource.from_contents(doc, default_specification=DRAFT4))
    ref = f"urn:slack#/paths/~1{method}/{verb}/responses/200/schema"
    return Draft4Validator({"$ref": ref}, registry=registry)


def api_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


def raw_post(fake: FakeSlack, method: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(fake.base_url + method, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=5) as resp:
        return resp.status, json.loads(resp.read())


# ------------------------------------------------------------------------------------------- sync client
def test_auth_test_matches_openapi_schema(fake_slack: FakeSlack, spec: dict[str, Any]) -> None:
    resp = WebClient(token=fake_slack.token, base_url=fake_slack.base_url).auth_test()
    assert resp["user_id"] == fake_slack.bot_user_id and resp["team_id"] == fake_slack.team_id
    assert list(spec_validator(spec, "auth.test").iter_errors(resp.data)) == []


def test_post_update_delete_round_trip(fake_slack: FakeSlack, spec: dict[str, Any]) -> None:
    channel = fake_slack.add_channel("escalations")
    client = fake_slack.web_client()
    posted = client.chat_postMessage(channel=channel, text="Escalation H1", blocks=CARD, unfurl_links=False)
    assert CHANNEL.match(posted["channel"]) and TS.match(posted["ts"])
    stored = fake_slack.message(channel, posted["ts"])
    assert stored is not None and stored["text"] == "Escalation H1" and stored["bot_id"] == fake_slack.bot_id
    assert [b["block_id"] for b in stored["blocks"]][2] == "handoff_actions"  # Slack keeps given ids...
    assert all(b.get("block_id") for b in stored["blocks"])  # ...and assigns the missing ones
    assert fake_slack.last_call("chat.postMessage").content_type.startswith("application/json")

    updated = client.chat_update(channel=channel, ts=posted["ts"], text="Claimed by Ana", blocks=CARD[:2])
    assert fake_slack.message(channel, posted["ts"])["text"] == "Claimed by Ana"
    assert len(fake_slack.message(channel, posted["ts"])["blocks"]) == 2

    def relax(schema: dict[str, Any]) -> None:  # the 2020 spec types message.blocks as an object
        schema["properties"]["message"]["properties"]["blocks"] = {"type": "array"}

    assert list(spec_validator(spec, "chat.update", relax).iter_errors(updated.data)) == []

    client.chat_update(channel=channel, ts=posted["ts"], text="text only keeps the blocks")
    assert len(fake_slack.message(channel, posted["ts"])["blocks"]) == 2
    assert client.chat_delete(channel=channel, ts=posted["ts"])["ts"] == posted["ts"]
    assert fake_slack.message(channel, posted["ts"]) is None and fake_slack.messages(channel) == []
    err = api_error(lambda: client.chat_update(channel=channel, ts=posted["ts"], text="again"))
    assert err.response["error"] == "message_not_found"


def test_threads_broadcast_history_and_pagination(fake_slack_factory: Any) -> None:
    fake_slack = fake_slack_factory(rate_limiting=False)
    channel = fake_slack.add_channel("escalations")
    agent = fake_slack.add_user("ana", channels=(channel,))
    client = fake_slack.web_client()
    parent = client.chat_postMessage(channel=channel, text="card")["ts"]
    client.chat_postMessage(channel=channel, text="reply 1", thread_ts=parent)
    human = fake_slack.post_user_message(channel, agent, "on it", thread_ts=parent)
    client.chat_postMessage(channel=channel, text="resolved", thread_ts=parent, reply_broadcast=True)

    thread = fake_slack.thread(channel, parent)
    assert [m["text"] for m in thread] == ["card", "reply 1", "on it", "resolved"]
    assert thread[0]["reply_count"] == 3 and thread[0]["reply_users"] == [fake_slack.bot_user_id, agent]
    assert [m["text"] for m in fake_slack.messages(channel)] == ["card", "resolved"]  # broadcast shows
    history = client.conversations_history(channel=channel)
    assert [m["text"] for m in history["messages"]] == ["resolved", "card"]  # newest first

    first = client.conversations_replies(channel=channel, ts=human, limit=2)  # a reply ts finds its thread
    assert first["has_more"] and [m["text"] for m in first["messages"]] == ["card", "reply 1"]
    rest = client.conversations_replies(channel=channel, ts=parent, cursor=first["response_metadata"]["next_cursor"])
    assert [m["text"] for m in rest["messages"]] == ["on it", "resolved"] and not rest["has_more"]
    assert api_error(lambda: client.chat_postMessage(channel=channel, text="x", thread_ts="123")).response[
        "error"] == "invalid_thread_ts"  # fmt: skip
    link = client.chat_getPermalink(channel=channel, message_ts=human)["permalink"]
    assert link.startswith(f"https://baton-test.slack.com/archives/{channel}/p") and f"thread_ts={parent}" in link


def test_ephemeral_users_and_conversations(fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("escalations", bot_member=False)
    ana = fake_slack.add_user("ana", email="ana@example.com", channels=(channel,))
    bob = fake_slack.add_user("bob")
    client = fake_slack.web_client()
    assert client.conversations_info(channel=channel)["channel"]["is_member"] is False
    assert api_error(lambda: client.chat_postMessage(channel=channel, text="x")).response["error"] == "not_in_channel"
    assert client.conversations_join(channel=channel)["channel"]["is_member"] is True
    assert client.conversations_join(channel=channel)["warning"] == "already_in_channel"

    sent = client.chat_postEphemeral(channel=channel, user=ana, text="Only you can see this", blocks=CARD)
    assert TS.match(sent["message_ts"]) and fake_slack.ephemerals[0]["user"] == ana
    assert fake_slack.messages(channel) == []  # ephemerals never reach history
    err = api_error(lambda: client.chat_postEphemeral(channel=channel, user=bob, text="x"))
    assert err.response["error"] == "user_not_in_channel"

    assert client.users_info(user=ana)["user"]["profile"]["email"] == "ana@example.com"
    assert client.users_lookupByEmail(email="ANA@example.com")["user"]["id"] == ana
    assert api_error(lambda: client.users_info(user="U0NOBODY99")).response["error"] == "user_not_found"
    assert api_error(lambda: client.users_lookupByEmail(email="x@y.z")).response["error"] == "users_not_found"
    dm = client.chat_postMessage(channel=bob, text="You were assigned H1")  # posting to a user id opens a DM
    assert dm["channel"].startswith("D") and fake_slack.messages(dm["channel"])[0]["text"] == "You were assigned H1"


def test_views_open_push_update_publish(fake_slack: FakeSlack) -> None:
    ana = fake_slack.add_user("ana")
    client = fake_slack.web_client()
    opened = client.views_open(trigger_id="123.456.abc", view=MODAL)["view"]
    assert re.match(r"^V[A-Z0-9]{8,}$", opened["id"]) and opened["hash"] and opened["root_view_id"] == opened["id"]
    pushed = client.views_push(trigger_id="123.456.def", view=MODAL)["view"]
    assert pushed["previous_view_id"] == opened["id"]
    new = client.views_update(view_id=opened["id"], hash=opened["hash"], view={**MODAL, "private_metadata": "H2"})
    assert new["view"]["private_metadata"] == "H2" and fake_slack.views[opened["id"]]["private_metadata"] == "H2"
    stale = api_error(lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL))
    assert stale.response["error"] == "hash_conflict"

    home = client.views_publish(user_id=ana, view=HOME)["view"]
    assert home["type"] == "home" and fake_slack.home_view(ana)["id"] == home["id"]
    assert client.views_publish(user_id=ana, view=HOME)["view"]["id"] == home["id"]  # one Home per user
    bad_home = {"type": "home", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]}
    err = api_error(lambda: client.views_publish(user_id=ana, view=bad_home))
    assert err.response["error"] == "invalid_arguments"
    assert "[json-pointer:/view/blocks/0/text/text]" in err.response["response_metadata"]["messages"][0]
    assert fake_slack.block_errors[-1].method == "views.publish"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
def test_slack_errors_map_to_slack_api_error(fake_slack: FakeSlack) -> None:
    archived = fake_slack.add_channel("old", archived=True)
    channel = fake_slack.add_channel("escalations")
    client = fake_slack.web_client()
    cases = {
        "channel_not_found": lambda: client.chat_postMessage(channel="C0NOTHERE1", text="x"),
        "is_archived": lambda: client.chat_postMessage(channel=archived, text="x"),
        "no_text": lambda: client.chat_postMessage(channel=channel),
        "unknown_method": lambda: client.api_call("chat.teleport"),
        "invalid_auth": lambda: WebClient(token="xoxb-wrong", base_url=fake_slack.base_url).auth_test(),
        "not_authed": lambda: WebClient(base_url=fake_slack.base_url).auth_test(),
    }
    for error, call in cases.items():
        err = api_error(call)
        assert (err.response.status_code, err.response["ok"], err.response["error"]) == (200, False, error)

    fake_slack.fail_next("chat.postMessage", "channel_not_found")
    err = api_error(lambda: client.chat_postMessage(channel=channel, text="x"))
    assert err.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel=channel, text="one-shot is over")["ok"]
    fake_slack.fail_http("chat.update", status=503, times=2)
    ts = fake_slack.messages(channel)[0]["ts"]
    for _ in range(2):
        assert api_error(lambda: client.chat_update(channel=channel, ts=ts, text="y")).response.status_code == 503
    assert client.chat_update(channel=channel, ts=ts, text="y")["ok"]
    fake_slack.revoke_token()
    assert api_error(client.auth_test).response["error"] == "token_revoked"
    assert {c.error for c in fake_slack.calls if not c.ok} >= {"channel_not_found", "token_revoked", "fatal_error"}


def test_form_json_and_query_encodings(fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("escalations")
    client = fake_slack.web_client()
    # form-encoded, with blocks as a JSON string, as older code and `params=` send them
    resp = client.api_call("chat.postMessage", params={"channel": channel, "text": "t", "blocks": json.dumps(CARD)})
    assert fake_slack.last_call("chat.postMessage").content_type == "application/x-www-form-urlencoded"
    assert fake_slack.message(channel, resp["ts"])["blocks"][0]["type"] == "header"
    form = f"token={fake_slack.token}&channel={channel}&text=token+in+the+body".encode()
    assert raw_post(fake_slack, "chat.postMessage", form, {"Content-Type": "application/x-www-form-urlencoded"})[1][
        "ok"]  # fmt: skip
    auth = {"Authorization": f"Bearer {fake_slack.token}", "Content-Type": "application/json"}
    assert raw_post(fake_slack, "chat.postMessage", b"{not json", auth)[1]["error"] == "invalid_json"
    assert raw_post(fake_slack, "chat.postMessage", b"[1]", auth)[1]["error"] == "json_not_object"
    bad_blocks = f"channel={channel}&blocks=%5Bnope".encode()
    form_auth = {**auth, "Content-Type": "application/x-www-form-urlencoded"}
    assert raw_post(fake_slack, "chat.postMessage", bad_blocks, form_auth)[1]["error"] == "invalid_blocks_format"


# ------------------------------------------------------------------------------------------- rate limits
def test_post_message_rate_limit_per_channel(fake_slack_factory: Any) -> None:
    clock = ManualClock()
    fake = fake_slack_factory(post_rate_per_channel=1.0, burst=2, clock=clock)
    busy, quiet = fake.add_channel("busy"), fake.add_channel("quiet")
    client = fake.web_client()
    client.chat_postMessage(channel=busy, text="1")
    client.chat_postMessage(channel=busy, text="2")
    err = api_error(lambda: client.chat_postMessage(channel=busy, text="3"))
    assert err.response.status_code == 429 and err.response.headers["Retry-After"] == "1"
    assert err.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel=quiet, text="other channels are unaffected")["ok"]
    clock.advance(1.0)
    assert client.chat_postMessage(channel=busy, text="3 after waiting")["ok"]
    assert fake.rate_limited_count == 1 and fake.rate_limited_by_method == {"chat.postMessage": 1}
    assert [m["text"] for m in fake.messages(busy)] == ["1", "2", "3 after waiting"]


def test_tier_limits_for_update_and_publish(fake_slack_factory: Any) -> None:
    clock = ManualClock()
    fake = fake_slack_factory(update_per_minute=3, publish_per_minute=2, clock=clock,
                              rate_limits={"conversations.history": RateLimit.per_minute(1)})  # fmt: skip
    channels = [fake.add_channel(f"q{i}") for i in range(3)]
    ana = fake.add_user("ana")
    client = fake.web_client()
    posts = [client.chat_postMessage(channel=c, text="card") for c in channels]
    for p in posts:  # Tier 3 is per workspace, across channels
        client.chat_update(channel=p["channel"], ts=p["ts"], text="claimed")
    err = api_error(lambda: client.chat_update(channel=posts[0]["channel"], ts=posts[0]["ts"], text="x"))
    assert err.response.status_code == 429 and err.response.headers["Retry-After"] == "20"  # 3/min refill
    client.views_publish(user_id=ana, view=HOME)
    client.views_publish(user_id=ana, view=HOME)
    assert api_error(lambda: client.views_publish(user_id=ana, view=HOME)).response.status_code == 429
    client.conversations_history(channel=channels[0])
    assert api_error(lambda: client.conversations_history(channel=channels[0])).response.status_code == 429
    assert fake.rate_limited_by_method == {"chat.update": 1, "views.publish": 1, "conversations.history": 1}
    clock.advance(30)
    assert client.chat_update(channel=posts[0]["channel"], ts=posts[0]["ts"], text="x")["ok"]


def test_sdk_retry_handler_honours_retry_after(fake_slack_factory: Any) -> None:
    fake = fake_slack_factory(post_rate_per_channel=20.0, burst=1, min_retry_after=0)
    channel = fake.add_channel("escalations")
    client = fake.web_client(retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)])
    for i in range(2):
        assert client.chat_postMessage(channel=channel, text=str(i))["ok"]
    assert fake.rate_limited_count >= 1 and len(fake.messages(channel)) == 2


def test_concurrent_burst_from_threads(fake_slack_factory: Any) -> None:
    fake = fake_slack_factory(rate_limiting=False)
    channels = [fake.add_channel(f"q{i}") for i in range(5)]
    client = fake.web_client()
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda i: client.chat_postMessage(channel=channels[i % 5], text=str(i)), range(50)))
    assert len({r["ts"] for r in results}) == 50 and all(TS.match(r["ts"]) for r in results)
    assert sum(len(fake.messages(c)) for c in channels) == 50
    assert len(fake.wait_for_calls("chat.postMessage", 50, timeout=1)) == 50


# ------------------------------------------------------------------------------------------- async client
async def test_async_client_round_trip_and_errors(fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("escalations")
    ana = fake_slack.add_user("ana", channels=(channel,))
    client = AsyncWebClient(token=fake_slack.token, base_url=fake_slack.base_url)
    posted = await client.chat_postMessage(channel=channel, text="card", blocks=CARD)
    await client.chat_update(channel=channel, ts=posted["ts"], text="claimed", blocks=CARD[:1])
    await client.chat_postMessage(channel=channel, text="reply", thread_ts=posted["ts"])
    replies = await client.conversations_replies(channel=channel, ts=posted["ts"])  # GET + query string
    assert [m["text"] for m in replies["messages"]] == ["claimed", "reply"]
    assert (await client.chat_postEphemeral(channel=channel, user=ana, text="psst"))["message_ts"]
    assert (await client.views_open(trigger_id="1.2.3", view=MODAL))["view"]["type"] == "modal"
    assert (await client.conversations_info(channel=channel))["channel"]["id"] == channel
    with pytest.raises(SlackApiError) as info:
        await client.chat_update(channel=channel, ts="1700000000.000100", text="x")
    assert info.value.response["error"] == "message_not_found"
    await fake_slack.wait_for_calls_async("chat.update", 2)


async def test_async_rate_limit_and_gather(fake_slack_factory: Any) -> None:
    fake = fake_slack_factory(burst=3, clock=ManualClock())
    channel = fake.add_channel("escalations")
    client = fake.async_web_client()
    results = await asyncio.gather(
        *(client.chat_postMessage(channel=channel, text=str(i)) for i in range(5)), return_exceptions=True
    )
    limited = [r for r in results if isinstance(r, SlackApiError)]
    assert len(limited) == 2 and len(fake.messages(channel)) == 3
    assert limited[0].response.status_code == 429 and limited[0].response.headers["Retry-After"] == "1"
    assert fake.rate_limited_count == 2


# ------------------------------------------------------------------------------------------- Block Kit
def test_block_validation_rejects_oversize_header(fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("escalations")
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]
    err = api_error(lambda: fake_slack.web_client().chat_postMessage(channel=channel, text="t", blocks=blocks))
    assert err.response["error"] == "invalid_blocks"
    assert err.response["errors"] == ["must be less than 151 characters [json-pointer:/blocks/0/text/text]"]
    assert err.response["response_metadata"]["messages"][0].startswith("[ERROR] ")
    assert [(e.method, e.surface) for e in fake_slack.block_errors] == [("chat.postMessage", "message")]
    assert fake_slack.messages(channel) == []


@pytest.mark.parametrize(
    ("blocks", "surface", "expected"),
    [
        ([{"type": "divider"}] * 51, "message", "no more than 50 items allowed [json-pointer:/blocks]"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "message", "less than 3001"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "message", "no more than 10"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "message", "less than 2001"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "message", "plain_text"),
        ([{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76},
                                            "action_id": "a"}]}], "message", "less than 76"),
        ([{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b"},
                                            "action_id": "a", "value": "v" * 2001}]}], "message", "less than 2001"),
        ([{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b"},
                                            "action_id": f"a{i}"} for i in range(26)]}], "message", "no more than 25"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], "message", "no more than 10"),
        ([{"type": "divider", "block_id": "b" * 256}], "message", "less than 256 characters"),
        ([{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b"},
                                            "action_id": "a" * 256}]}], "message", "less than 256"),
        ([{"type": "divider", "block_id": "x"}, {"type": "divider", "block_id": "x"}], "message", "duplicate"),
        ([{"type": "divider"}] * 101, "home", "no more than 100 items"),
        ([{"type": "carousel"}], "message", "unsupported block type"),
    ],
)
def test_validate_blocks_limits(blocks: list[dict[str, Any]], surface: str, expected: str) -> None:
    errors = validate_blocks(blocks, surface)
    assert errors and any(expected in e for e in errors), errors


def test_validate_blocks_accepts_sdk_built_blocks_and_limits_at_the_edge() -> None:
    sdk_blocks = [
        HeaderBlock(text="h" * 150),
        SectionBlock(text="s" * 3000, fields=["f" * 2000] * 10),
        ActionsBlock(elements=[ButtonElement(text="b" * 75, action_id=f"a{i}", value="v" * 2000) for i in range(25)]),
        ContextBlock(elements=[{"type": "mrkdwn", "text": "c"}] * 10),
    ]
    for block in sdk_blocks:
        block.validate_json()  # slack_sdk agrees these are at, not over, the limits
    assert validate_blocks([b.to_dict() for b in sdk_blocks]) == []
    assert validate_blocks([{"type": "divider"}] * 100, "modal") == []
    assert validate_view(MODAL) == [] and validate_view(HOME) == []
    assert validate_view({**MODAL, "submit": None}) != []  # input blocks need a submit button
    assert validate_view({**MODAL, "title": {"type": "plain_text", "text": "t" * 25}}) != []


def test_long_text_is_truncated_with_warning(fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("escalations")
    resp = fake_slack.web_client().chat_postMessage(channel=channel, text="x" * 40_001)
    assert len(resp["message"]["text"]) == 40_000 and resp["response_metadata"]["warnings"] == ["message_truncated"]


# ------------------------------------------------------------------------------------------- inbound payloads
def test_signature_verifies_with_slack_sdk() -> None:
    body = b"payload=%7B%22type%22%3A%22block_actions%22%7D"
    headers = sign_slack_request(body, "s3cr3t")
    verifier = SignatureVerifier("s3cr3t")
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = sign_slack_request(body, "s3cr3t", timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)  # Slack's 5-minute replay window


def test_message_event_matches_wrapper_schema() -> None:
    schema = json.loads((CONFORMANCE / "slack_common_event_wrapper_schema.json").read_text(encoding="utf-8"))
    schema["required"] = [r for r in schema["required"] if r != "authed_users"]  # deprecated by Slack
    validator = Draft7Validator(schema)
    human = message_event("C0123ABCDE", "U0AGENT001", "on it", thread_ts="1700000000.000100")
    bot = message_event("C0123ABCDE", None, "card", bot_id="B0BATONBOT1", subtype="bot_message")
    for inbound in (human, bot):
        assert list(validator.iter_errors(inbound.payload)) == []
        assert json.loads(inbound.body) == inbound.payload and inbound.content_type == "application/json"
    assert human.payload["event"]["thread_ts"] == "1700000000.000100" and "bot_id" not in human.payload["event"]
    assert bot.payload["event"]["bot_id"] == "B0BATONBOT1" and bot.payload["event"]["subtype"] == "bot_message"


def test_interaction_bodies_are_form_encoded_payload_json(fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("escalations")
    ts = fake_slack.web_client().chat_postMessage(channel=channel, text="card", blocks=CARD)["ts"]
    click = block_actions_payload("claim", '{"v":1,"h":"H1"}', "U0AGENT001", channel, ts,
                                  message=fake_slack.message(channel, ts))  # fmt: skip
    decoded = json.loads(parse_qs(click.body.decode())["payload"][0])
    assert decoded == click.payload and click.content_type == "application/x-www-form-urlencoded"
    action = decoded["actions"][0]
    assert (action["block_id"], action["type"], action["text"]["text"]) == ("handoff_actions", "button", "Claim")
    assert decoded["container"] == {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False}
    submit = view_submission_payload("transfer", "H1", {"to": {"queue": "billing"}}, "U0AGENT001")
    values = json.loads(parse_qs(submit.body.decode())["payload"][0])["view"]["state"]["values"]
    assert values == {"to": {"queue": {"type": "plain_text_input", "value": "billing"}}}
    command = slash_command_form("/baton", "queue billing", "U0AGENT001", channel)
    assert parse_qs(command.body.decode())["command"] == ["/baton"]


def test_bolt_accepts_the_built_payloads(fake_slack: FakeSlack) -> None:
    """Bolt verifies the signatures and routes every payload kind to the right listener."""
    from slack_bolt import App, BoltRequest

    secret = fake_slack.signing_secret
    app = App(signing_secret=secret, client=fake_slack.web_client(), token_verification_enabled=False)
    seen: list[str] = []
    app.action("claim")(lambda ack, body: (ack(), seen.append(body["actions"][0]["value"])))
    app.view("transfer")(lambda ack, view: (ack(), seen.append(view["private_metadata"])))
    app.command("/baton")(lambda ack, command: (ack(), seen.append(command["text"])))
    app.message("on it")(lambda message: seen.append(message["text"]))
    inbound = [
        block_actions_payload("claim", "H1", "U0AGENT001", "C0123ABCDE", "1700000000.000100"),
        view_submission_payload("transfer", "H2", {}, "U0AGENT001"),
        slash_command_form("/baton", "status", "U0AGENT001", "C0123ABCDE"),
        message_event("C0123ABCDE", "U0AGENT001", "on it", authed_bot_user_id=fake_slack.bot_user_id),
    ]
    for item in inbound:
        response = app.dispatch(BoltRequest(body=item.body.decode(), headers=item.headers(secret)))
        assert response.status == 200, response.body
    forged = inbound[0].headers("wrong-secret")
    assert app.dispatch(BoltRequest(body=inbound[0].body.decode(), headers=forged)).status == 401
    deadline = time.monotonic() + 5
    while len(seen) < 4 and time.monotonic() < deadline:  # message listeners run lazily in a thread
        time.sleep(0.01)
    assert sorted(seen) == sorted(["H1", "H2", "status", "on it"])


def test_limits_file_is_the_shared_conformance_copy() -> None:
    assert LIMITS_PATH.is_file() and LIMITS_PATH.parent.name == "slack"
    assert Path(LIMITS_PATH).parts[-3:] == ("conformance", "slack", "block-kit-limits.json")


def test_history_window_and_waiting_helpers(fake_slack_factory: Any) -> None:
    fake = fake_slack_factory(rate_limiting=False)
    channel = fake.add_channel("escalations")
    client = fake.web_client()
    stamps = [client.chat_postMessage(channel=channel, text=str(i))["ts"] for i in range(4)]
    window = client.conversations_history(channel=channel, oldest=stamps[0], latest=stamps[3])
    assert [m["text"] for m in window["messages"]] == ["2", "1"]
    inclusive = client.conversations_history(channel=channel, oldest=stamps[0], latest=stamps[3], inclusive=True)
    assert len(inclusive["messages"]) == 4
    err = api_error(lambda: client.conversations_history(channel=channel, oldest="yesterday"))
    assert err.response["error"] == "invalid_ts_oldest"
    assert len(fake.wait_for_calls("chat.postMessage", 4, timeout=0.1)) == 4
    with pytest.raises(TimeoutError):
        fake.wait_for_calls("chat.delete", timeout=0.05)
    fake.fail_http("*", status=500)
    assert api_error(client.auth_test).response.status_code == 500
    assert client.auth_test()["ok"] and fake.internal_errors == []
