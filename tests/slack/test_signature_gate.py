"""Nothing runs and nothing is sent before a Slack request's signature is verified (issue #10 item 2)."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from bot.slack.verify import WINDOW_SECONDS, SlackRequestGate
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_payloads import sign_slack_request, slash_command_form
from tests.slack.harness import EMMA, TECH, Baton

pytestmark = pytest.mark.slow

VICTIM = "U0VICTIM9"
FORM = "application/x-www-form-urlencoded"


def post(baton: Baton, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    r = baton.http.post("/slack/events", content=body, headers=headers)
    return r.status_code, r.json()


def assert_nothing_sent(baton: Baton, fake: FakeSlack) -> None:
    """Bolt acks before listeners finish; give a wrongly dispatched listener time to call Slack, then look."""
    time.sleep(0.5)
    assert fake.calls == [], [c.method for c in fake.calls]


def test_the_issue_request_is_401_and_messages_nobody(baton: Baton, fake: FakeSlack) -> None:
    fake.clear_calls()
    body = urlencode({"command": "/handoff", "text": "help", "user_id": VICTIM, "channel_id": TECH}).encode()
    status, answer = post(baton, body, {"Content-Type": FORM, "X-Slack-Request-Timestamp": "x",
                                        "X-Slack-Signature": "v0=00"})
    assert status == 401 and answer["error"] == "invalid_timestamp" and answer["message"]
    assert_nothing_sent(baton, fake)


@pytest.mark.parametrize("case", ["no_headers", "wrong_signature", "stale", "future", "huge_timestamp",
                                  "not_utf8"])
def test_unverifiable_requests_are_refused_before_bolt(baton: Baton, fake: FakeSlack, case: str) -> None:
    fake.clear_calls()
    inbound = slash_command_form("/handoff", "help", VICTIM, TECH)
    body = inbound.body
    headers = inbound.headers(fake.signing_secret)
    if case == "no_headers":
        headers = {"Content-Type": FORM}
    elif case == "wrong_signature":
        headers = inbound.headers("not-the-secret")
    elif case == "stale":
        headers = inbound.headers(fake.signing_secret, timestamp=int(time.time()) - WINDOW_SECONDS - 60)
    elif case == "future":
        headers = inbound.headers(fake.signing_secret, timestamp=int(time.time()) + WINDOW_SECONDS + 60)
    elif case == "huge_timestamp":
        headers = {**headers, "X-Slack-Request-Timestamp": "9" * 5000}
    else:
        body = b"command=%2Fhandoff&text=\xff\xfe&user_id=" + VICTIM.encode()
        headers = {"Content-Type": FORM, **sign_slack_request(body, fake.signing_secret)}
    status, answer = post(baton, body, headers)
    expected = {"no_headers": "unsigned_request", "wrong_signature": "invalid_signature", "stale": "stale_request",
                "future": "stale_request", "huge_timestamp": "invalid_timestamp", "not_utf8": "invalid_body"}[case]
    assert (status, answer["error"]) == (400 if case == "not_utf8" else 401, expected)
    assert_nothing_sent(baton, fake)


@pytest.mark.parametrize("body,ctype", [
    (b'{"type": "event_callback", "event": {"type": "message", "user": "U0VICTIM9"', "application/json"),
    (b'["not", "an", "object"]', "application/json"),
    (b'{"user_id": "U0VICTIM9", oops}', FORM),  # Bolt parses a body starting with "{" as JSON
    (b"payload=%7Bnot-json&user_id=U0VICTIM9", FORM),
    (b"payload=%5B1%2C2%5D", FORM),
])
def test_signed_but_malformed_bodies_are_400_not_500(baton: Baton, fake: FakeSlack, body: bytes, ctype: str) -> None:
    fake.clear_calls()
    status, answer = post(baton, body, {"Content-Type": ctype, **sign_slack_request(body, fake.signing_secret)})
    assert status == 400 and answer["error"] == "invalid_body", answer
    assert_nothing_sent(baton, fake)


def test_a_verified_request_still_reaches_bolt(baton: Baton, fake: FakeSlack) -> None:
    r = baton.slack(slash_command_form("/handoff", "help", EMMA, TECH))
    assert r.status_code == 200
    # /handoff help answers in the response body or with an ephemeral; either way Bolt ran the listener.
    assert r.text or fake.wait_for_calls("chat.postEphemeral")


def test_gate_window_edges() -> None:
    now = 1_800_000_000.0
    gate = SlackRequestGate("s3cret", clock=lambda: now)
    body = json.dumps({"type": "event_callback", "event": {"type": "app_mention"}}).encode()
    headers = {"content-type": "application/json"}
    at_edge = {**headers, **{k.lower(): v for k, v in
                             sign_slack_request(body, "s3cret", timestamp=int(now) - WINDOW_SECONDS).items()}}
    assert gate.check(body, at_edge) is None
    past = {**headers, **{k.lower(): v for k, v in
                          sign_slack_request(body, "s3cret", timestamp=int(now) - WINDOW_SECONDS - 1).items()}}
    rejection = gate.check(body, past)
    assert rejection is not None and (rejection.status, rejection.code) == (401, "stale_request")
