"""Translators and the button-value parser, on payloads shaped exactly like Slack's."""

from __future__ import annotations

import json

import pytest

from bot.slack.ids import ActionId, CallbackId, Ref, parse_ref
from bot.slack.translate import (
    to_click,
    to_command,
    to_escalate,
    to_note,
    to_resolve,
    to_thread_reply,
    to_transfer,
)
from handoff.errors import InvalidCommand
from handoff.lifecycle import EscalationForm
from handoff.models import Tier
from tests.fakes.slack_payloads import (
    block_actions_payload,
    message_event,
    slash_command_form,
    view_submission_payload,
)

META = Ref(handoff_id="ho_1", channel="C0TECH00001").encode()


def test_button_values_round_trip_and_reject_garbage() -> None:
    assert parse_ref(Ref(handoff_id="ho_1", channel="C1").encode()) == Ref("ho_1", None, "C1")
    assert parse_ref('{"v":1,"q":"technical"}').queue == "technical"
    for bad in (None, "", "ho_1", "{}", '{"v":2,"h":"ho_1"}', '{"v":1}', '{"v":1,"h":5}', "[1]",
                json.dumps({"v": 1, "h": "x" * 500})):
        with pytest.raises(InvalidCommand):
            parse_ref(bad)


def test_to_click_reads_user_channel_message_and_value() -> None:
    p = block_actions_payload(ActionId.CLAIM.value, META, "U0EMMA00001", "C0TECH00001", "1700000000.000100").payload
    click = to_click(p)
    assert (click.action, click.user_id, click.channel_id, click.message_ts) == (
        ActionId.CLAIM, "U0EMMA00001", "C0TECH00001", "1700000000.000100")
    assert click.ref.handoff_id == "ho_1" and click.trigger_id
    with pytest.raises(InvalidCommand):
        to_click(block_actions_payload("someone.else", META, "U1", "C1", "1700000000.000100").payload)


def test_modal_translators() -> None:
    select = lambda v: {"type": "static_select", "selected_option": {"value": v}}  # noqa: E731
    t = to_transfer(view_submission_payload(CallbackId.TRANSFER.value, META, {
        "queue": {"queue": select("billing")}, "agent": {"agent": {"type": "users_select", "selected_user": "U2"}},
        "note": {"note": " refund "}}, "U1").payload)
    assert (t.handoff_id, t.to_queue, t.to_agent_user, t.note, t.user_id) == ("ho_1", "billing", "U2", "refund", "U1")
    with pytest.raises(InvalidCommand) as err:
        to_transfer(view_submission_payload(CallbackId.TRANSFER.value, META, {}, "U1").payload)
    assert err.value.details["field"] == "queue"
    only_agent = to_transfer(view_submission_payload(CallbackId.TRANSFER.value, META, {
        "agent": {"agent": {"type": "users_select", "selected_user": "U2"}}}, "U1").payload)
    assert only_agent.to_queue is None and only_agent.to_agent_user == "U2"

    e = to_escalate(view_submission_payload(CallbackId.ESCALATE.value, META, {
        "tier": {"tier": select("L3")}, "summary": {"summary": "s"}, "steps": {"steps": "tried x"},
        "impact": {"impact": "down"},
        "handoff_style": {"handoff_style": {"type": "radio_buttons", "selected_option": {"value": "warm"}}}},
        "U1").payload)
    assert e.to_tier is Tier.L3 and e.form == EscalationForm(summary="s", steps_taken=("tried x",),
                                                             customer_impact="down", warm=True)
    with pytest.raises(InvalidCommand):
        to_escalate(view_submission_payload(CallbackId.ESCALATE.value, META, {"summary": {"summary": "s"},
                                                                              "tier": {"tier": select("L9")}},
                                            "U1").payload)

    r = to_resolve(view_submission_payload(CallbackId.RESOLVE.value, META, {
        "note": {"note": "fixed"}, "kb_gap": {"kb_gap": {"type": "checkboxes", "selected_options": [{"value": "x"}]}}},
        "U1").payload)
    assert (r.note, r.outcome, r.kb_gap) == ("fixed", "resolved", True)
    n = to_note(view_submission_payload(CallbackId.NOTE.value, META, {"note": {"note": "n" * 5000}}, "U1").payload)
    assert len(n.text) == 3000
    with pytest.raises(InvalidCommand):
        to_note(view_submission_payload(CallbackId.NOTE.value, '{"v":1,"q":"technical"}', {"note": {"note": "x"}},
                                        "U1").payload)


def test_thread_reply_filter() -> None:
    ts = "1700000000.000100"
    reply = to_thread_reply(message_event("C1", "U1", "hello", thread_ts=ts).payload["event"])
    assert reply is not None and (reply.thread_ts, reply.user_id, reply.text) == (ts, "U1", "hello")
    skipped = [message_event("C1", "U1", "top level").payload["event"],
               message_event("C1", None, "bot", thread_ts=ts, bot_id="B1").payload["event"],
               message_event("C1", "U1", "edit", thread_ts=ts, subtype="message_changed").payload["event"],
               message_event("C1", "U1", "bcast", thread_ts=ts, subtype="thread_broadcast").payload["event"],
               message_event("C1", "U1", "   ", thread_ts=ts).payload["event"],
               message_event("C1", "U1", "parent", thread_ts=ts, ts=ts).payload["event"]]
    assert [to_thread_reply(e) for e in skipped] == [None] * len(skipped)


def test_to_command() -> None:
    c = to_command(slash_command_form("/handoff", "status  Away", "U1", "C1").payload)
    assert (c.name, c.arg, c.user_id, c.channel_id) == ("status", "Away", "U1", "C1")
    assert to_command(slash_command_form("/handoff", "", "U1", "C1").payload).name == "help"
