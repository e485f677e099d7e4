"""``/handoff`` subcommands, App Home, and a listener for every action, modal and command we send."""

from __future__ import annotations

import json

import pytest

from bot.slack.ids import COMMAND, ActionId, CallbackId, Ref
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_blocks import validate_blocks
from tests.fakes.slack_payloads import (
    block_actions_payload,
    message_event,
    slash_command_form,
    view_submission_payload,
)
from tests.slack.harness import EMMA, LIAM, TECH, Baton, card_text

pytestmark = pytest.mark.slow


def command(baton: Baton, text: str, user: str = EMMA) -> dict:
    r = baton.slack(slash_command_form(COMMAND, text, user, TECH))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body.get("response_type") == "ephemeral"
    assert validate_blocks(body.get("blocks") or []) == []
    return dict(body)


def test_handoff_command(baton: Baton, fake: FakeSlack) -> None:
    first, second = baton.intake(), baton.intake(customer={"vip": True, "plan": "enterprise"})
    queue = command(baton, "queue")
    text = card_text(queue)
    assert first in text and second in text
    assert text.index(second) < text.index(first) or "critical" in text  # most urgent first

    assert baton.http.post(f"/v1/handoffs/{first}/claim", json={"agent_id": "emma"}).status_code == 200
    assert first in card_text(command(baton, "mine"))
    assert "no open handoffs" in card_text(command(baton, "mine", LIAM))

    assert "now *away*" in command(baton, "status away")["text"]
    assert next(a for a in baton.http.get("/v1/agents").json() if a["id"] == "emma")["status"] == "away"
    assert "Usage" in command(baton, "status sleeping")["text"]

    stats = card_text(command(baton, "stats"))
    assert "*New*\n2" in stats and "*Answered*\n1" in stats and "*Waiting now*\n1" in stats
    assert "/handoff queue" in card_text(command(baton, "help"))
    assert "/handoff queue" in card_text(command(baton, "dance"))


def test_app_home_is_published_and_republished_on_change(baton: Baton, fake: FakeSlack) -> None:
    hid = baton.intake()
    opened = message_event(TECH, EMMA, "", event_type="app_home_opened")
    payload = json.loads(opened.body)
    payload["event"] = {"type": "app_home_opened", "user": EMMA, "channel": "D0EMMA00001", "tab": "home",
                        "event_ts": payload["event"]["event_ts"]}
    body = json.dumps(payload).encode()
    r = baton.http.post("/slack/events", content=body,
                        headers={"Content-Type": "application/json", **_sign(body, fake.signing_secret)})
    assert r.status_code == 200
    home = baton.wait(lambda: fake.home_view(EMMA), what="home published")
    assert hid in json.dumps(home) and "Your open handoffs* (0)" in json.dumps(home)
    assert baton.http.post(f"/v1/handoffs/{hid}/claim", json={"agent_id": "emma"}).status_code == 200
    baton.wait(lambda: "Your open handoffs* (1)" in json.dumps(fake.home_view(EMMA)), timeout=15,
               what="home republished")
    assert fake.block_errors == []


def _sign(body: bytes, secret: str) -> dict[str, str]:
    from tests.fakes.slack_payloads import sign_slack_request

    return sign_slack_request(body, secret)


def test_every_action_modal_and_command_has_a_listener(baton: Baton) -> None:
    value = Ref(handoff_id="ho_missing").encode()
    for action in ActionId:
        r = baton.slack(block_actions_payload(action.value, value, EMMA, TECH, "1700000000.000100"))
        assert r.status_code == 200, (action, r.status_code)
    for callback in CallbackId:
        r = baton.slack(view_submission_payload(callback.value, value, {}, EMMA))
        assert r.status_code == 200, (callback, r.status_code)
    assert baton.slack(block_actions_payload("nobody.listens", value, EMMA, TECH, "1.1")).status_code == 404
