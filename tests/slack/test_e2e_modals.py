"""Transfer, Escalate, Resolve and Add note: button → views.open → signed view_submission → domain → card."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.ids import ActionId, CallbackId
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_payloads import message_event, view_submission_payload
from tests.slack.harness import BILLING, EMMA, LIAM, TECH, Baton, card_text, click

pytestmark = pytest.mark.slow


def opened_view(baton: Baton, fake: FakeSlack, callback: CallbackId, before: int) -> dict[str, Any]:
    calls = baton.wait(lambda: len(fake.calls_to("views.open", ok=True)) > before and fake.calls_to("views.open"),
                       what=f"views.open for {callback}")
    view = calls[-1].response["view"]
    assert view["callback_id"] == callback.value
    assert fake.block_errors == []
    return dict(view)


def submit(baton: Baton, view: dict[str, Any], user: str, values: dict[str, Any]) -> Any:
    return baton.slack(view_submission_payload(view["callback_id"], view["private_metadata"], values, user,
                                               blocks=view["blocks"]))


def select(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": value},
                                                         "value": value}}


def test_transfer_escalate_resolve_round_trip(baton: Baton, fake: FakeSlack) -> None:
    hid = baton.intake()
    card = baton.card(TECH, hid)
    click(baton, ActionId.CLAIM, EMMA, card, TECH)
    card = baton.card(TECH, hid, where=lambda m: "Claimed by" in card_text(m))

    # Transfer to billing: the card appears in billing's channel, the old one links to it.
    click(baton, ActionId.TRANSFER, EMMA, card, TECH)
    view = opened_view(baton, fake, CallbackId.TRANSFER, 0)
    r = submit(baton, view, EMMA, {"queue": {"queue": select("billing")}, "note": {"note": "refund question"}})
    assert (r.status_code == 200 and r.content in (b"", b"{}")) or r.json() == {}
    moved = baton.card(BILLING, hid, timeout=15)
    assert baton.handoff(hid)["queue"] == "billing"
    old = baton.wait(lambda: next((m for m in fake.messages(TECH) if "Transferred to" in card_text(m)), None),
                     what="old card relinked")
    assert "archives/" + BILLING in card_text(old)
    # A reply in the old card's thread still reaches the handoff (as a note: Emma no longer holds it).
    baton.wait(lambda: len(fake.thread(BILLING, moved["ts"])) >= 2, what="transcript under the moved card")
    baton.slack(message_event(TECH, EMMA, "context for billing", thread_ts=card["ts"]))
    baton.wait(lambda: any(e["kind"] == "note_added" and e["data"].get("text") == "context for billing"
                           for e in baton.handoff(hid)["timeline"]), what="reply in the old thread recorded")

    # Escalate with the structured form: next tier, SLA clock unchanged.
    sla = baton.handoff(hid)["sla_due_at"]
    click(baton, ActionId.ESCALATE, LIAM, moved, BILLING)
    view = opened_view(baton, fake, CallbackId.ESCALATE, 1)
    bad = submit(baton, view, LIAM, {"summary": {"summary": ""}, "steps": {"steps": "x"}, "impact": {"impact": "y"}})
    assert bad.json()["response_action"] == "errors" and "summary" in bad.json()["errors"]
    submit(baton, view, LIAM, {
        "tier": {"tier": select("L2")}, "summary": {"summary": "Widget broken after WP update"},
        "steps": {"steps": "Cleared cache: no change"}, "hypothesis": {"hypothesis": "CSP header"},
        "impact": {"impact": "Launch tomorrow blocked"},
        "handoff_style": {"handoff_style": {"type": "radio_buttons", "selected_option": {"value": "cold"}}}})
    after = baton.wait(lambda: (d := baton.handoff(hid))["tier"] == "L2" and d, what="escalated")
    assert after["status"] == "queued" and after["sla_due_at"] == sla
    escalated = next(e for e in after["timeline"] if e["kind"] == "escalated")
    assert escalated["data"]["hypothesis"] == "CSP header" and escalated["data"]["handoff_style"] == "cold"

    # Claim again and resolve with outcome + knowledge-base gap.
    card = baton.card(BILLING, hid, where=lambda m: "(L2)" in card_text(m))
    click(baton, ActionId.CLAIM, LIAM, card, BILLING)
    card = baton.card(BILLING, hid, where=lambda m: f"Claimed by <@{LIAM}>" in card_text(m))
    click(baton, ActionId.RESOLVE, LIAM, card, BILLING)
    view = opened_view(baton, fake, CallbackId.RESOLVE, 2)
    submit(baton, view, LIAM, {"outcome": {"outcome": select("workaround")}, "note": {"note": "Disabled CSP rule"},
                               "kb_gap": {"kb_gap": {"type": "checkboxes", "selected_options": [{"value": "kb_gap"}]}}})
    done = baton.wait(lambda: (d := baton.handoff(hid))["status"] == "resolved" and d, what="resolved")
    resolved = next(e for e in done["timeline"] if e["kind"] == "resolved")
    assert resolved["data"]["kb_gap"] is True and resolved["data"]["outcome"] == "workaround"
    baton.card(BILLING, hid, where=lambda m: "Resolved by" in card_text(m))
    assert fake.block_errors == []


def test_add_note_goes_to_the_timeline_and_the_thread_as_internal(baton: Baton, fake: FakeSlack) -> None:
    hid = baton.intake()
    card = baton.card(TECH, hid)
    click(baton, ActionId.NOTE, LIAM, card, TECH)
    view = opened_view(baton, fake, CallbackId.NOTE, 0)
    submit(baton, view, LIAM, {"note": {"note": "Customer <!channel> called twice"}})
    thread = baton.wait(lambda: [m for m in fake.thread(TECH, card["ts"]) if "Internal note" in card_text(m)],
                        what="note in thread")
    assert "&lt;!channel&gt;" in card_text(thread[0]) and "<!channel>" not in card_text(thread[0])
    notes = [e for e in baton.handoff(hid)["timeline"] if e["kind"] == "note_added"]
    assert notes[0]["data"]["text"] == "Customer <!channel> called twice"


def test_not_the_holder_gets_an_ephemeral_reason(baton: Baton, fake: FakeSlack) -> None:
    hid = baton.intake()
    card = baton.card(TECH, hid)
    click(baton, ActionId.CLAIM, EMMA, card, TECH)
    card = baton.card(TECH, hid, where=lambda m: "Claimed by" in card_text(m))
    click(baton, ActionId.RELEASE, LIAM, card, TECH)
    eph = baton.wait(lambda: fake.ephemerals, what="ephemeral")
    assert eph[0]["user"] == LIAM and f"Only <@{EMMA}>, who holds the claim" in eph[0]["text"]
    assert baton.handoff(hid)["claimed_by"] == "emma"
