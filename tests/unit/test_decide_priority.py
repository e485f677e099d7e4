"""The one priority function: weights, floors, bumps; and property tests that stronger signals never lower it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from handoff.contract import ConversationIn
from handoff.decide import DecisionContext, PrioritySignals, RuleEngine, Rules, default_rules_path, within_one
from handoff.models import Priority, Urgency

RULES = Rules.load(default_rules_path())
ENGINE = RuleEngine(RULES)
WEEKDAY = datetime(2026, 11, 17, 14, 0, tzinfo=UTC)
SATURDAY_NIGHT = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
LEVELS = [Urgency.NONE, Urgency.SCHEDULED, Urgency.RAPID, Urgency.IMMEDIATE]
PLANS = ["free", "starter", "pro", "business", "enterprise"]  # ascending plan_scores
FLAGS = sorted(
    {
        "security",
        "payment_failure",
        "service_affecting",
        "enterprise",
        "very_low_confidence",
        "billing_dispute",
        "legal_threat",
        "billing_issue",
        "account_access",
        "after_hours",
        "long_wait",
        "repeat_escalation",
        "frustration",
        "time_pressure",
        "churn_threat",
    }
)


def p(**kw: object) -> Priority:
    return ENGINE.priority_for(PrioritySignals(**kw))[0]  # type: ignore[arg-type]


def test_weighted_score_maps_to_levels() -> None:
    assert p() is Priority.LOW
    assert p(urgency=Urgency.IMMEDIATE) is Priority.MEDIUM  # free plan, a person asked: medium
    assert p(urgency=Urgency.IMMEDIATE, plan="pro", complexity=0.5) is Priority.HIGH
    assert p(urgency=Urgency.IMMEDIATE, plan="enterprise", complexity=1.0, sentiment=0.6) is Priority.CRITICAL
    _, reasons = ENGINE.priority_for(PrioritySignals(urgency=Urgency.RAPID, plan="business"))
    assert reasons[0].code == "priority.score" and "tier 0.35x0.75" in reasons[0].detail


def test_hard_floors() -> None:
    assert p(flags=frozenset({"security"})) is Priority.CRITICAL
    assert p(flags=frozenset({"payment_failure"})) is Priority.CRITICAL
    assert p(flags=frozenset({"enterprise", "service_affecting"})) is Priority.CRITICAL
    assert p(flags=frozenset({"service_affecting"})) is not Priority.CRITICAL
    assert p(flags=frozenset({"very_low_confidence"})) is Priority.HIGH
    assert p(at_least=Priority.HIGH) is Priority.HIGH


def test_bumps_add_one_level_each_up_to_max() -> None:
    assert p(flags=frozenset({"after_hours"})) is Priority.MEDIUM
    assert p(flags=frozenset({"after_hours", "long_wait"})) is Priority.HIGH
    assert p(flags=frozenset({"after_hours", "long_wait", "frustration"})) is Priority.HIGH  # max_bump 2
    signals = PrioritySignals(urgency=Urgency.RAPID, plan="pro")
    before = ENGINE.priority_for(signals)[0]
    after, reasons = ENGINE.priority_for(signals.with_flags("repeat_escalation"))
    assert after.rank == before.rank - 1 and reasons[-1].code == "priority.bump"


def test_after_hours_bump_in_a_real_decision() -> None:
    conv = ConversationIn.model_validate(
        {"conversation_id": "x", "customer": {"plan": "pro"}, "transcript": [{"role": "customer", "text": "human"}]}
    )
    weekday = ENGINE.evaluate(conv, DecisionContext(now=WEEKDAY)).priority
    weekend = ENGINE.evaluate(conv, DecisionContext(now=SATURDAY_NIGHT)).priority
    assert weekend.rank == weekday.rank - 1
    assert within_one(weekday, weekend)


signals_st = st.builds(
    PrioritySignals,
    urgency=st.sampled_from(LEVELS),
    plan=st.sampled_from(PLANS),
    vip=st.booleans(),
    complexity=st.floats(0, 1),
    sentiment=st.floats(0, 1),
    flags=st.frozensets(st.sampled_from(FLAGS)),
    at_least=st.none() | st.sampled_from(list(Priority)),
)


@st.composite
def stronger(draw: st.DrawFn, base: PrioritySignals) -> PrioritySignals:
    """``base`` with one or more signals made stronger (never weaker)."""
    s = base
    if draw(st.booleans()):
        s = replace(s, urgency=draw(st.sampled_from(LEVELS[LEVELS.index(s.urgency) :])))
    if draw(st.booleans()):
        s = replace(s, plan=draw(st.sampled_from(PLANS[PLANS.index(s.plan) :])))
    if draw(st.booleans()):
        s = replace(s, vip=True)
    if draw(st.booleans()):
        s = replace(s, complexity=draw(st.floats(s.complexity, 1)))
    if draw(st.booleans()):
        s = replace(s, sentiment=draw(st.floats(s.sentiment, 1)))
    if draw(st.booleans()):
        s = replace(s, flags=s.flags | draw(st.frozensets(st.sampled_from(FLAGS))))
    if draw(st.booleans()):
        ceiling = s.at_least.rank if s.at_least is not None else 3
        s = replace(s, at_least=draw(st.sampled_from([x for x in Priority if x.rank <= ceiling])))
    return s


@given(data=st.data(), base=signals_st)
@settings(max_examples=400)
def test_a_stronger_signal_never_lowers_priority(data: st.DataObject, base: PrioritySignals) -> None:
    more = data.draw(stronger(base))
    assert ENGINE.priority_for(more)[0].rank <= ENGINE.priority_for(base)[0].rank


CUSTOMER_TURNS = [
    "How do I export my contacts?",
    "The widget is slow on mobile",
    "Where is the invoice for October?",
    "Can I add a second inbox?",
    "thanks, that worked",
    "I'm not angry, just confused",
]
STRONG_TURNS = [
    "This is urgent!",
    "I was charged twice, I want a refund",
    "My account was hacked",
    "Get me a human now",
    "THIS IS RIDICULOUS, NOTHING WORKS",
    "My lawyer will hear about this",
    "Our site is down and customers can't pay",
]


@given(
    turns=st.lists(
        st.one_of(
            st.sampled_from(CUSTOMER_TURNS).map(lambda t: {"role": "customer", "text": t}),
            st.tuples(st.sampled_from(["Try this.", "I'm not sure."]), st.floats(0.3, 1.0)).map(
                lambda a: {"role": "ai", "text": a[0], "confidence": round(a[1], 2)}
            ),
        ),
        min_size=1,
        max_size=8,
    ),
    plan=st.sampled_from(PLANS),
    strong=st.sampled_from(STRONG_TURNS),
)
@settings(max_examples=150, deadline=None)
def test_adding_a_stronger_message_never_lowers_a_decision(
    turns: list[dict[str, object]], plan: str, strong: str
) -> None:
    ctx = DecisionContext(now=WEEKDAY)
    base = ConversationIn.model_validate({"conversation_id": "p", "customer": {"plan": plan}, "transcript": turns})
    first = {"role": "customer", "text": strong}
    more = ConversationIn.model_validate(
        {"conversation_id": "p", "customer": {"plan": plan}, "transcript": [first, *turns]}
    )
    before, after = ENGINE.evaluate(base, ctx), ENGINE.evaluate(more, ctx)
    assert after.priority.rank <= before.priority.rank
    assert LEVELS.index(after.urgency) >= LEVELS.index(before.urgency)
