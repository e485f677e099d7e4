"""Broken threads, channels and tokens are handled, not crashed on; 429s are honoured without hammering."""

from __future__ import annotations

import time

import pytest

from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_payloads import message_event
from tests.slack.harness import BILLING, EMMA, FALLBACK, TECH, Baton, card_handoff, card_text

pytestmark = pytest.mark.slow


def slack_integration(baton: Baton):
    return next(i for i in baton.rt.integrations if i.name == "slack")


def test_deleted_card_is_reposted_and_relinked(baton: Baton, fake: FakeSlack) -> None:
    hid = baton.intake()
    card = baton.card(TECH, hid)
    fake.web_client().chat_delete(channel=TECH, ts=card["ts"])
    assert baton.http.post(f"/v1/handoffs/{hid}/claim", json={"agent_id": "emma"}).status_code == 200
    new = baton.card(TECH, hid, where=lambda m: m["ts"] != card["ts"] and "Claimed by" in card_text(m))
    assert any(c.error == "message_not_found" for c in fake.calls_to("chat.update"))
    # The thread of the new card is the handoff's thread now (once its transcript is there, the ref is stored).
    baton.wait(lambda: len(fake.thread(TECH, new["ts"])) >= 2, what="transcript in the new thread")
    baton.slack(message_event(TECH, EMMA, "Back on it", thread_ts=new["ts"]))
    baton.wait(lambda: any(e["kind"] == "agent_message" for e in baton.handoff(hid)["timeline"]), what="relay")


def test_archived_channel_falls_back_and_warns_the_lead(baton: Baton, fake: FakeSlack) -> None:
    fake.archive_channel(TECH)
    hid = baton.intake()
    card = baton.card(FALLBACK, hid)
    assert card_handoff(card) == hid
    warning = baton.wait(lambda: [c for c in fake.calls_to("chat.postMessage", ok=True) if c.args["channel"] == EMMA],
                         what="DM to the queue lead")
    assert "is_archived" in warning[0].args["text"] and f"<#{TECH}>" in warning[0].args["text"]


def test_bot_removed_from_channel_falls_back(baton: Baton, fake: FakeSlack) -> None:
    fake.set_bot_member(BILLING, False)
    hid = baton.intake(ai={"intent": "billing", "summary": "Charged twice"},
                       transcript=[{"role": "customer", "text": "I was charged twice, refund please"}])
    assert baton.handoff(hid)["queue"] == "billing"
    baton.card(FALLBACK, hid)
    assert any(c.error == "not_in_channel" for c in fake.calls_to("chat.postMessage"))


def test_revoked_token_parks_deliveries_and_degrades_readiness(baton: Baton, fake: FakeSlack) -> None:
    slack_integration(baton).calls.token_pause = 1.0
    fake.revoke_token()
    hid = baton.intake()
    # Degraded, not 503: intakes are still taken (into the outbox) and a restart would not fix the token.
    body = baton.wait(lambda: (r := baton.http.get("/readyz")).json()["status"] == "degraded" and r, what="degraded")
    assert body.status_code == 200
    ready = body.json()
    assert "token_revoked" in ready["slack"]
    assert ready["outbox"]["slack"]["pending"] >= 1
    assert not [m for m in fake.messages(TECH) if card_handoff(m) == hid]
    fake.restore_token()
    baton.card(TECH, hid, timeout=15)
    baton.wait(lambda: baton.http.get("/readyz").json()["status"] == "ready", what="ready again")


def test_429_is_honoured_without_hammering(baton: Baton, fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", "ratelimited", status=429, headers={"Retry-After": "2"})
    hid = baton.intake()
    limited_at = baton.wait(lambda: [c.time for c in fake.calls_to("chat.postMessage") if c.status == 429],
                            what="the 429")[0]
    baton.card(TECH, hid, timeout=15)
    after = [c.time for c in fake.calls_to("chat.postMessage") if c.time > limited_at and c.args["channel"] == TECH]
    assert after and min(after) - limited_at >= 1.9  # Retry-After respected: nothing sent to the channel meanwhile
    assert fake.rate_limited_count == 1


def test_unsigned_or_stale_requests_are_refused(baton: Baton, fake: FakeSlack) -> None:
    inbound = message_event(TECH, EMMA, "hi", thread_ts="1700000000.000100")
    assert baton.slack(inbound, secret="wrong-secret").status_code == 401
    stale = baton.http.post("/slack/events", content=inbound.body,
                            headers=inbound.headers(fake.signing_secret, timestamp=int(time.time()) - 3600))
    assert stale.status_code == 401


def test_url_verification_challenge_is_answered(baton: Baton, fake: FakeSlack) -> None:
    import json

    from tests.fakes.slack_payloads import sign_slack_request

    body = json.dumps({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"}).encode()
    r = baton.http.post("/slack/events", content=body,
                        headers={"Content-Type": "application/json", **sign_slack_request(body, fake.signing_secret)})
    assert r.status_code == 200 and r.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
