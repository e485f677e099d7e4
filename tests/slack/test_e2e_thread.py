"""Two-way relay in a card's thread: only the holder reaches the customer; customer messages come in."""

from __future__ import annotations

import time

import pytest

from bot.slack.ids import ActionId
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_payloads import DEFAULT_BOT_ID, message_event
from tests.slack.harness import EMMA, LIAM, TECH, Baton, card_text, click

pytestmark = pytest.mark.slow


def kinds(baton: Baton, hid: str) -> list[str]:
    return [e["kind"] for e in baton.handoff(hid)["timeline"]]


def test_thread_replies_reach_the_customer_only_from_the_holder(baton: Baton, fake: FakeSlack) -> None:
    hid = baton.intake()
    card = baton.card(TECH, hid)
    click(baton, ActionId.CLAIM, EMMA, card, TECH)
    baton.card(TECH, hid, where=lambda m: f"<@{EMMA}> is speaking to the customer" in card_text(m))

    reply = message_event(TECH, EMMA, "Hi Sarah, looking at it now", thread_ts=card["ts"])
    assert baton.slack(reply).status_code == 200
    baton.wait(lambda: "agent_message" in kinds(baton, hid), what="agent message")
    detail = baton.handoff(hid)
    sent = next(e for e in detail["timeline"] if e["kind"] == "agent_message")
    assert sent["data"]["text"] == "Hi Sarah, looking at it now" and sent["actor"] == "agent:emma"
    assert detail["transcript"][-1]["text"] == "Hi Sarah, looking at it now"

    baton.slack(message_event(TECH, LIAM, "I think it is the CSP header", thread_ts=card["ts"]))
    baton.slack(message_event(TECH, EMMA, "note: ask about staging", thread_ts=card["ts"]))
    baton.wait(lambda: kinds(baton, hid).count("note_added") == 2, what="two internal notes")
    assert kinds(baton, hid).count("agent_message") == 1  # neither note reached the customer

    def markers() -> list[str]:
        return [card_text(m) for m in fake.thread(TECH, card["ts"]) if ":lock: *Internal*" in card_text(m)]

    found = baton.wait(lambda: len(markers()) == 2 and markers(), what="internal markers")
    liam = next(t for t in found if f"<@{LIAM}>" in t)
    emma = next(t for t in found if f"<@{EMMA}>" in t)
    assert "only emma, who holds the claim" in liam and "marked as a note" in emma

    # The bot's own posts, other bots and edits are not relayed back.
    before = len(baton.handoff(hid)["timeline"])
    baton.slack(message_event(TECH, None, "echo", thread_ts=card["ts"], bot_id=DEFAULT_BOT_ID))
    baton.slack(message_event(TECH, EMMA, "edited", thread_ts=card["ts"], subtype="message_changed"))
    time.sleep(0.5)
    assert len(baton.handoff(hid)["timeline"]) == before


def test_customer_messages_are_posted_into_the_thread(baton: Baton, fake: FakeSlack) -> None:
    hid = baton.intake()
    card = baton.card(TECH, hid)
    baton.domain(lambda rt: rt.conversation.customer_message(hid, "Any update? <!here> & thanks"))
    msg = baton.wait(lambda: next((m for m in fake.thread(TECH, card["ts"]) if "*Customer:*" in card_text(m)), None),
                     what="customer message in thread")
    assert "Any update? &lt;!here&gt; &amp; thanks" in card_text(msg)
    assert fake.block_errors == []
