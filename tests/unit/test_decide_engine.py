"""The engine as intake and /v1/evaluate use it: every Decision field, the widget trigger, topic, the why line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from handoff.contract import ConversationIn, HandoffIn, TriggerIn
from handoff.decide import DecisionContext, RuleEngine, Rules, default_rules_path
from handoff.decide.text import normalise, strip_quoted, tokens
from handoff.models import Priority, Urgency

ENGINE = RuleEngine(Rules.load(default_rules_path()))
CTX = DecisionContext(now=datetime(2026, 11, 17, 14, 0, tzinfo=UTC))
QUIET = [
    {"role": "customer", "text": "How do I change the widget colour?"},
    {"role": "ai", "text": "Widget > Appearance > Colour.", "confidence": 0.95},
]


def conv(transcript: list[dict[str, Any]], **fields: Any) -> ConversationIn:
    return ConversationIn.model_validate({"conversation_id": "e", "transcript": transcript, **fields})


def test_issue_example_decision_is_complete_and_explained() -> None:
    body = HandoffIn.model_validate(
        {
            "conversation_id": "conv_abc123",
            "customer": {"name": "Sarah Chen", "email": "sarah@techcompany.com", "plan": "enterprise"},
            "transcript": [
                {"role": "customer", "text": "Widget not loading after the WordPress update, we launch tomorrow"},
                {"role": "ai", "text": "Try clearing the cache.", "confidence": 0.71},
                {"role": "customer", "text": "Did that, no change."},
                {"role": "ai", "text": "It might be a theme conflict.", "confidence": 0.52},
            ],
            "ai": {"intent": "technical", "confidence": 0.52, "kb_hits": 0, "attempted_steps": ["Cleared cache"]},
        }
    )
    d = ENGINE.evaluate(body, CTX)
    assert d.escalate and d.urgency is Urgency.IMMEDIATE
    assert d.topic == "technical" and d.queue == "technical"
    assert d.rules_version == ENGINE.version and len(d.rules_version) == 12
    assert d.why.startswith("why: AI confidence fell 71%→52%")
    assert "enterprise plan" in d.why and "'launch tomorrow'" in d.why
    assert all(r.code and r.detail for r in d.reasons)
    assert {"low_confidence", "kb_miss", "topic.intent", "priority.score"} <= {r.code for r in d.reasons}


def test_widget_trigger_is_recorded_and_raises_but_escalate_stays_the_rules_verdict() -> None:
    plain = ENGINE.evaluate(conv(QUIET), CTX)
    with_trigger = ENGINE.evaluate(conv(QUIET), CTX, TriggerIn(reason="customer_request", detail="asked twice"))
    assert not plain.escalate and not with_trigger.escalate
    assert with_trigger.urgency is Urgency.IMMEDIATE and plain.urgency is Urgency.NONE
    assert with_trigger.priority.rank <= plain.priority.rank
    assert with_trigger.reasons[0].code == "widget.customer_request"
    assert "asked twice" in with_trigger.reasons[0].detail
    assert "customer request (widget)" in with_trigger.why


def test_widget_trigger_never_lowers() -> None:
    hacked = conv([{"role": "customer", "text": "My account was hacked"}])
    before = ENGINE.evaluate(hacked, CTX)
    after = ENGINE.evaluate(hacked, CTX, TriggerIn(reason="timeout"))  # a weak trigger
    assert (after.urgency, after.priority) == (before.urgency, before.priority)
    assert (after.urgency, after.priority) == (Urgency.IMMEDIATE, Priority.CRITICAL)


def test_widget_trigger_floor_from_rules() -> None:
    d = ENGINE.evaluate(conv(QUIET), CTX, TriggerIn(reason="security"))
    assert d.priority is Priority.CRITICAL
    unknown = ENGINE.evaluate(conv(QUIET), CTX, TriggerIn(reason="something_new"))
    assert unknown.urgency is Urgency.SCHEDULED  # widget_triggers.default


@pytest.mark.parametrize(
    ("intent", "text", "topic"),
    [
        ("billing", "hello", "billing"),
        ("Account-Security", "hello", "account"),
        ("pricing", "hello", "sales"),
        ("weird_intent", "I was charged for 20 seats, where is the invoice?", "billing"),
        (None, "My password reset email never arrives", "account"),
        (None, "The webhook returns a 500 status code", "technical"),
        (None, "Can I get a quote for 50 seats?", "sales"),
        (None, "hi", "general"),
        (None, "¿Dónde descargo mis facturas?", "billing"),
        (None, "Mon mot de passe ne fonctionne plus", "account"),
    ],
)
def test_topic_from_intent_else_words(intent: str | None, text: str, topic: str) -> None:
    d = ENGINE.evaluate(conv([{"role": "customer", "text": text}], ai={"intent": intent}), CTX)
    assert d.topic == topic
    assert d.queue == ENGINE.rules.queue_for(topic)


def test_priority_signals_can_be_re_run_with_sla_bumps() -> None:
    c = conv([{"role": "customer", "text": "export not working"}], customer={"plan": "pro"})
    signals = ENGINE.priority_signals(c, CTX)
    now, _ = ENGINE.priority_for(signals)
    assert now is ENGINE.evaluate(c, CTX).priority
    bumped, reasons = ENGINE.priority_for(signals.with_flags("long_wait"))
    assert bumped.rank == now.rank - 1 and any("long wait" in r.detail for r in reasons)


def test_after_hours_uses_business_hours() -> None:
    assert not ENGINE.after_hours(datetime(2026, 11, 17, 9, 0, tzinfo=UTC))
    assert ENGINE.after_hours(datetime(2026, 11, 17, 19, 0, tzinfo=UTC))
    assert ENGINE.after_hours(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))  # Sunday


def test_context_requires_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DecisionContext(now=datetime(2026, 11, 17, 14, 0))


def test_quotes_code_and_mentions_are_stripped_from_cues() -> None:
    assert strip_quoted('the "urgent" tag and `refund()` and\n> quoted mail\nreal words') == (
        "the   tag and   and\n \nreal words"
    )
    assert tokens(normalise("Don\u2019t l'avocat Rückerstattung")) == ["dont", "l", "avocat", "ruckerstattung"]


def test_empty_conversation() -> None:
    d = ENGINE.evaluate(conv([]), CTX)
    assert not d.escalate and d.topic == "general" and d.why == "why: no escalation signal"


def test_naive_and_aware_timestamps_mix() -> None:
    d = ENGINE.evaluate(
        conv(
            [
                {"role": "customer", "text": "routing question", "ts": "2026-11-17T13:40:00"},
                {"role": "ai", "text": "Try the routing page.", "confidence": 0.85, "ts": "2026-11-17T13:55:00Z"},
            ]
        ),
        CTX,
    )
    assert "long_conversation" in {r.code for r in d.reasons}
