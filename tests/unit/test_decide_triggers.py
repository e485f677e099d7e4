"""One test (or table) per trigger rule, with the false alarms the issue names next to the real alarms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handoff.contract import ConversationIn
from handoff.decide import DecisionContext, RuleEngine, Rules, default_rules_path
from handoff.models import Decision, Urgency

ENGINE = RuleEngine(Rules.load(default_rules_path()))
NOW = datetime(2026, 11, 17, 14, 0, tzinfo=UTC)  # a Tuesday afternoon, inside business hours


def conv(*turns: str | tuple[str, float], minutes: float = 0.0, **fields: Any) -> ConversationIn:
    """Customer messages are strings, AI answers ``(text, confidence)``; turns spread over ``minutes``."""
    step = timedelta(minutes=minutes / max(1, len(turns) - 1))
    transcript = []
    for i, turn in enumerate(turns):
        ts = (NOW - timedelta(minutes=minutes) + i * step).isoformat()
        if isinstance(turn, tuple):
            transcript.append({"role": "ai", "text": turn[0], "confidence": turn[1], "ts": ts})
        else:
            transcript.append({"role": "customer", "text": turn, "ts": ts})
    return ConversationIn.model_validate({"conversation_id": "t", "transcript": transcript, **fields})


def decide(c: ConversationIn, *, recent: int = 0) -> Decision:
    return ENGINE.evaluate(c, DecisionContext(now=NOW, recent_escalations_30d=recent))


def codes(d: Decision) -> set[str]:
    return {r.code for r in d.reasons}


CONFIDENT = ("Here is exactly how: Settings > Widget > Appearance.", 0.95)


# ---------------------------------------------------------------------------------------------- confidence


def test_any_ai_answer_below_60_percent_is_immediate() -> None:
    d = decide(conv("How do I export?", ("Maybe under Reports?", 0.55)))
    assert d.escalate and d.urgency is Urgency.IMMEDIATE and "low_confidence" in codes(d)
    assert not decide(conv("How do I export?", ("Reports > Export.", 0.60))).escalate


def test_three_weak_answers_in_a_row_are_immediate() -> None:
    turns = ["a?", ("maybe", 0.69), "b?", ("perhaps", 0.66), "c?", ("possibly", 0.65)]
    d = decide(conv(*turns))
    assert d.urgency is Urgency.IMMEDIATE and "confidence_streak" in codes(d)
    assert "confidence_streak" not in codes(decide(conv(*turns[:4])))


def test_empty_knowledge_base_is_immediate() -> None:
    d = decide(conv("Do you support Teams shared channels?", ("They should work.", 0.82), ai={"kb_hits": 0}))
    assert d.urgency is Urgency.IMMEDIATE and "kb_miss" in codes(d)
    assert not decide(conv("Do you support X?", ("Yes.", 0.9), ai={"kb_hits": 3})).escalate


def test_confidence_drop_of_20_points_is_rapid() -> None:
    d = decide(conv("q1", ("a1", 0.92), "q2", ("a2", 0.88), "q3", ("a3", 0.70)))
    assert d.urgency is Urgency.RAPID and "confidence_drop" in codes(d)
    assert "AI confidence fell 92%→70%" in d.why
    assert not decide(conv("q1", ("a1", 0.92), "q2", ("a2", 0.75))).escalate


def test_confident_answer_to_plain_question_does_not_escalate() -> None:
    d = decide(conv("How do I change the launcher colour?", CONFIDENT))
    assert not d.escalate and d.urgency is Urgency.NONE
    assert d.why.startswith("why: no escalation signal")


# ---------------------------------------------------------------------------------------------- immediate cues

PERSON_REQUESTS = [
    "Can I speak to a human please",
    "talk to an agent",
    "I want a real person",
    "get me a manager",
    "representative",
    "transfer me",
    "HUMAN!!",
    "can i spek to a humen",  # typos
    "reprensentative please",
    "i want to talk to a rel person",
    "pls get me a huamn",
    "Quiero hablar con una persona",  # es
    "kiero ablar con un agente",
    "Je voudrais parler à un conseiller",  # fr
    "je veux parler a une vraie personne",
    "Ich möchte mit einem Menschen sprechen",  # de
    "Können Sie mich mit einem echten Mitarbeiter verbinden?",
    "why can't I talk to a real person?",  # a question, not a negation
]


@pytest.mark.parametrize("text", PERSON_REQUESTS)
def test_person_requests_in_four_languages_and_typos(text: str) -> None:
    d = decide(conv(text))
    assert d.urgency is Urgency.IMMEDIATE and "person_request" in codes(d), d.why


@pytest.mark.parametrize(
    "text",
    [
        "I don't need a human, just tell me where the API docs are",
        "No hace falta hablar con un agente, solo dime dónde está la factura",
        "Ich brauche keinen Menschen, nur eine kurze Info",
        "Where do I configure when the bot hands over to a human agent?",
        'Our customers type "talk to a human" and the bot ignores it; how do I add that keyword?',
        "Is this a human resources topic or a billing one?",
    ],
)
def test_person_request_false_alarms(text: str) -> None:
    assert "person_request" not in codes(decide(conv(text, CONFIDENT)))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("This is urgent, checkout is broken", "urgent_words"),
        ("EMERGENCY: nothing loads", "urgent_words"),
        ("our site is down", "urgent_words"),
        ("Es urgente, por favor", "urgent_words"),
        ("I was charged twice this month", "billing_dispute"),
        ("I want a refund", "billing_dispute"),
        ("I will file a chargeback", "billing_dispute"),
        ("I haven't received my refund", "billing_dispute"),
        ("still no refund yet", "billing_dispute"),
        ("My account was hacked", "security"),
        ("There was unauthorized access to our workspace", "security"),
        ("This is fraud", "security"),
        ("I think there's been a data breach", "security"),
        ("My lawyer will be in touch", "legal_threat"),
        ("We will take legal action", "legal_threat"),
        ("I'm going to sue you", "legal_threat"),
        ("If this isn't fixed by Friday I'll sue", "legal_threat"),
    ],
)
def test_immediate_cues(text: str, code: str) -> None:
    d = decide(conv(text, CONFIDENT))
    assert d.escalate and d.urgency is Urgency.IMMEDIATE and code in codes(d), d.why


@pytest.mark.parametrize(
    "text",
    [
        "No rush, this isn't urgent: can reports be emailed weekly?",
        "Nothing urgent, just curious about the roadmap",
        "It's not an emergency, but how do I add a second inbox?",
        'The label "Urgent" on my tickets is the wrong colour',
        "How can I inline the critical CSS for the widget?",
        "I don't want a refund, I just want to know when my plan renews",
        "What's your refund policy for annual plans?",
        "Do you have fraud protection settings for the payment form?",
        "I hacked together a script that calls your API, is there a rate limit?",
        "Our legal team needs your DPA, can you send it?",
        "Ce n'est pas urgent, merci",
    ],
)
def test_immediate_cue_false_alarms(text: str) -> None:
    d = decide(conv(text, CONFIDENT))
    assert not d.escalate, d.why


# ---------------------------------------------------------------------------------------------- rapid cues


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("This is absolutely terrible, I hate this product and I'm furious", "negative_sentiment"),
        ("WHY IS THE EXPORT STILL BROKEN", "shouting"),
        ("The export is still not working", "frustration_words"),
        ("honestly this tool is useless", "frustration_words"),
        ("awful experience", "frustration_words"),
        ("Oh great, the widget broke again after your update. Just wonderful.", "sarcasm"),
        ("If this keeps happening we're going to cancel", "churn_threat"),
        ("I'm about to leave a 1 star review", "churn_threat"),
        ("Tried that, same error", "answer_failed"),
        ("no funciona nada", "frustration_words"),
        ("ça ne marche pas", "frustration_words"),
        ("es funktioniert nicht", "frustration_words"),
    ],
)
def test_rapid_cues(text: str, code: str) -> None:
    d = decide(conv(text))
    assert d.escalate and code in codes(d), d.why


@pytest.mark.parametrize(
    "text",
    [
        "I'm not angry, just confused about seats",
        "I'm not frustrated, how do archived chats differ from closed ones?",
        "It's not terrible, just slow to load sometimes; is there a setting?",
        "Oh great, that worked! Thanks a lot",
        "We use SSO via OKTA and SAML; does SCIM support groups?",
        "OK THX",
    ],
)
def test_rapid_cue_false_alarms(text: str) -> None:
    d = decide(conv(text, CONFIDENT))
    assert not d.escalate, d.why


def test_vader_is_not_applied_to_other_languages() -> None:
    # "die" is an English word VADER scores as negative; German customers must not look angry for using it
    d = decide(conv("Danke für die Info", CONFIDENT, customer={"locale": "de"}))
    assert "negative_sentiment" not in codes(d)


def test_repeated_question_is_rapid() -> None:
    d = decide(conv("how do i add a second domain to the widget", ("Widget > Appearance.", 0.74),
                    "how do i add a second domain to teh widget??"))  # fmt: skip
    assert "repeated_question" in codes(d) and d.urgency is Urgency.RAPID


def test_two_unsure_ai_answers_are_rapid_one_is_not() -> None:
    unsure = ["Can it do X?", ("I'm not sure that's supported.", 0.72), "And Y?", ("I don't know, sorry.", 0.71)]
    assert "ai_unsure" in codes(decide(conv(*unsure)))
    assert "ai_unsure" not in codes(decide(conv(*unsure[:2])))


def test_technical_complexity_needs_two_markers() -> None:
    d = decide(conv("Our webhook returns 401 when your API calls it", ("Check the signing secret.", 0.72)))
    assert "technical_complexity" in codes(d) and d.urgency is Urgency.RAPID
    assert not decide(conv("How do I find my API key?", CONFIDENT)).escalate


def test_stack_trace_in_code_block_counts_as_complexity() -> None:
    trace = "It crashes:\n```\nTypeError: x is undefined\n    at init (loader.js:12:5)\n```"
    assert "technical_complexity" in codes(decide(conv(trace, ("Try defer.", 0.75))))


def test_the_word_error_in_a_template_is_not_an_error_code() -> None:
    d = decide(conv("The word ERROR appears in my email template, where do I edit it?", CONFIDENT))
    assert not d.escalate and "technical_complexity" not in codes(d)


def test_complexity_answered_confidently_is_settled_but_billing_is_not() -> None:
    settled = decide(conv("Our webhook integration gets 401 from the API", ("Rotate the secret here: ...", 0.9)))
    assert not settled.escalate
    billing = decide(conv("Why was I charged $99 instead of $49?", ("That is proration for your upgrade.", 0.9)))
    assert billing.escalate and "billing_issue" in codes(billing)  # confidence override


def test_resolution_sets_aside_rapid_signals_but_not_requests() -> None:
    resolved = decide(conv("export not working", ("Select a date range first.", 0.86), "that worked, thanks!"))
    assert not resolved.escalate and "set_aside.frustration_words" in codes(resolved)
    still = decide(conv("I want a refund", ("Refunds are issued in 5 days.", 0.9), "thanks"))
    assert still.escalate  # a refund request is not "resolved" by politeness


# ---------------------------------------------------------------------------------------------- scheduled


def test_long_unresolved_conversation_is_scheduled() -> None:
    turns = ["routing question", ("answer", 0.86), "follow-up", ("answer", 0.84), "still unclear", ("try X", 0.82)]
    d = decide(conv(*turns, minutes=14))
    assert d.urgency is Urgency.SCHEDULED and "long_conversation" in codes(d)
    assert not decide(conv(*turns, "that's all I needed, thanks!", minutes=14)).escalate


def test_low_rating_is_scheduled() -> None:
    assert "low_rating" in codes(decide(conv("q", ("a", 0.9), ai={"customer_rating": 2})))
    assert not decide(conv("q", ("a", 0.9), ai={"customer_rating": 3})).escalate


def test_repeat_customer_escalates_only_an_open_conversation() -> None:
    open_ = conv("Is the discount applied now?", ("It should be, I can't see details.", 0.75))
    assert "repeat_customer" in codes(decide(open_, recent=1))
    assert not decide(conv("How do I add a signature?", CONFIDENT), recent=2).escalate


@pytest.mark.parametrize(
    "customer",
    [{"flags": ["past_due"]}, {"vip": True}, {"plan": "enterprise"}],
)
def test_account_flags_escalate_open_conversations(customer: dict[str, Any]) -> None:
    open_ = decide(conv("Can we route by browser language?", ("If your plan supports it.", 0.76), customer=customer))
    assert open_.urgency is Urgency.SCHEDULED and "account_flag" in codes(open_)
    answered = decide(conv("Can we set hours per team?", CONFIDENT, customer=customer))
    assert not answered.escalate
