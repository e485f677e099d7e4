"""The learned intent layer: model file integrity, fresh paraphrases in four languages, typos, negation,
policy questions that must not escalate, explanations, and the untouched test split's targets."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from handoff.contract import ConversationIn
from handoff.decide import DecisionContext, RuleEngine, Rules, default_rules_path
from handoff.decide.intent import IntentModel, IntentModelError
from handoff.decide.intent_eval import run_intents
from handoff.models import Decision

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "intent"
MODEL = ROOT / "config" / "intent_model.json"
ENGINE = RuleEngine(Rules.load(default_rules_path()))
NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)


def decide(text: str, lang: str = "en", engine: RuleEngine = ENGINE) -> Decision:
    conv = ConversationIn.model_validate({
        "conversation_id": "c1", "customer": {"locale": lang}, "transcript": [{"role": "customer", "text": text}],
    })
    return engine.evaluate(conv, DecisionContext(now=NOW))


def codes(d: Decision) -> set[str]:
    return {r.code for r in d.reasons}


def test_model_file_matches_its_recorded_training_data_hash() -> None:
    from tools.intent.train import read_rows

    files = sorted(p for p in DATA.glob("*.jsonl") if not p.name.startswith("test"))
    _, sha = read_rows(files)
    model = IntentModel.load(MODEL)
    assert model.data_sha == sha, "config/intent_model.json is stale: run python3 app.py model train"
    assert model.version == hashlib.sha256(MODEL.read_bytes()).hexdigest()[:12]


def test_test_split_is_not_training_data() -> None:
    test = {json.loads(x)["text"].casefold() for p in DATA.glob("test*.jsonl")
            for x in p.read_text().splitlines() if x.strip()}
    train = {json.loads(x)["text"].casefold() for p in DATA.glob("*.jsonl") if not p.name.startswith("test")
             for x in p.read_text().splitlines() if x.strip()}
    assert len(test) >= 150
    assert not test & train


@pytest.mark.parametrize(("split", "person", "false_positives"), [
    ("test_v2", 1.0, 0.0), ("test_v3", 0.97, 0.04), ("test_v4", 0.97, 0.03), ("test_v5", 0.95, 0.03)])
def test_the_splits_used_for_tuning_keep_their_figures(split: str, person: float, false_positives: float) -> None:
    """test_v2 … test_v5 were blind once and guided training since: they guard against regressions."""
    lines = [json.loads(x) for x in (DATA / f"{split}.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    report = run_intents(ENGINE, lines)
    assert report.recall("person") >= person, report.format()
    assert report.escalate_false_positive_rate <= false_positives, report.format()


def test_the_model_loads_and_decisions_record_it() -> None:
    # How fast it loads is printed by bench/decide.py (79 ms here); tests assert nothing about wall-clock time.
    model = IntentModel.load(MODEL)
    d = decide("hello")
    assert d.model_version == model.version and d.model_data == model.data_sha[:12]


def test_a_broken_model_file_is_refused_with_a_reason(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(IntentModelError, match="not a Baton intent model"):
        IntentModel.load(bad)
    doc = json.loads(MODEL.read_text())
    doc["bias"] = doc["bias"][:3]
    bad.write_text(json.dumps(doc))
    with pytest.raises(IntentModelError, match="bias has 3 numbers"):
        IntentModel.load(bad)


# Fresh paraphrases: written for this test, in neither the training data nor the test split.
PERSON = [
    ("en", "would it be possible to get a staff member on the line?"),
    ("en", "I keep failing to reach anybody at customer service"),
    ("es", "¿me pueden pasar con alguien de atención al cliente?"),
    ("fr", "est-ce que je peux discuter avec un conseiller humain ?"),
    ("de", "könnte ich bitte mit einem echten Mitarbeiter reden?"),
]
INTENTS = [
    ("en", "I intend to lodge a complaint about your support", "complaint"),
    ("es", "quiero presentar una queja formal", "complaint"),
    ("fr", "je souhaite faire une réclamation officielle", "complaint"),
    ("de", "ich will mich offiziell beschweren", "complaint"),
    ("en", "I expect compensation for the downtime", "billing_dispute"),
    ("es", "quiero que me reembolsen lo que pagué", "billing_dispute"),
    ("fr", "remboursez-moi ce mois, svp", "billing_dispute"),
    ("de", "ich fordere eine Rückerstattung", "billing_dispute"),
    ("en", "you billed my card two times for April", "payment_failure"),
    ("es", "me cobraron dos veces la factura de abril", "payment_failure"),
    ("fr", "vous m'avez débité deux fois en avril", "payment_failure"),
    ("de", "Sie haben im April zweimal abgebucht", "payment_failure"),
    ("en", "we will be moving to another provider next month", "churn_threat"),
    ("es", "nos vamos a otro proveedor", "churn_threat"),
    ("fr", "nous allons résilier le contrat", "churn_threat"),
    ("de", "wir werden den Vertrag kündigen", "churn_threat"),
]


@pytest.mark.parametrize(("lang", "text"), PERSON)
def test_person_requests_escalate_immediately_in_four_languages(lang: str, text: str) -> None:
    d = decide(text, lang)
    assert d.escalate and "person_request" in codes(d), d.why


@pytest.mark.parametrize(("lang", "text", "code"), INTENTS)
def test_each_intent_on_fresh_paraphrases(lang: str, text: str, code: str) -> None:
    d = decide(text, lang)
    assert d.escalate and code in codes(d), d.why


@pytest.mark.parametrize("text", ["i wnat to tlak to a humna", "can i spek to an agnet", "get me a preson pls"])
def test_typos_still_reach_a_person(text: str) -> None:
    assert "person_request" in codes(decide(text))


def test_a_negated_looking_request_is_a_request() -> None:
    d = decide("I can't get through to a live agent at all")
    assert d.escalate and "person_request" in codes(d)


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "in which cases can I get a refund?"),
    ("en", "what is your refund policy for annual plans?"),
    ("es", "¿en qué casos puedo pedir un reembolso?"),
    ("fr", "dans quels cas puis-je être remboursé ?"),
    ("de", "in welchen Fällen bekomme ich eine Erstattung?"),
])
def test_policy_questions_do_not_escalate(lang: str, text: str) -> None:
    d = decide(text, lang)
    assert not d.escalate, d.why


def test_the_why_shows_the_phrase_and_score_that_fired() -> None:
    d = decide("I would really like chatting with an operator")
    reason = next(r for r in d.reasons if r.code == "person_request")
    assert "intent model" in reason.detail and "operator" in reason.detail
    assert re.search(r"asked for a person \(model [01]\.\d\d\)", d.why) and "operator" in d.why


def test_a_rule_hit_set_aside_as_a_question_is_recorded() -> None:
    d = decide("what happens if I get charged twice?")
    assert not d.escalate
    assert any(r.code.startswith("set_aside.") and "informational question" in r.detail for r in d.reasons)


@pytest.mark.parametrize(("question", "demand"), [
    ("Is there a way for visitors to request a live agent from the widget on the Starter plan?",
     "I want to request a live agent now, please"),
    ("What does error 429 mean on the messages endpoint?",
     "Error 429 on every call since this morning, our integration is down and orders are piling up"),
])
def test_a_question_about_the_product_is_set_aside_but_the_request_is_not(question: str, demand: str) -> None:
    """A rule phrase inside an informational question (the hand-over feature, an error code) is recorded as set
    aside; the same words as a request or a live problem escalate."""
    asked = decide(question)
    assert not asked.escalate, asked.why
    assert any(r.code.startswith("set_aside.") and "informational question" in r.detail for r in asked.reasons)
    assert decide(demand).escalate


def test_a_person_phrase_needs_the_stricter_test_to_be_set_aside() -> None:
    """With ``protected_question_at_least`` unset, a person phrase is never set aside, however informational."""
    rules = Rules.load(default_rules_path())
    assert rules.intent_model is not None
    strict = RuleEngine(rules.model_copy(update={"intent_model": rules.intent_model.model_copy(
        update={"protected_question_at_least": None})}))
    text = "Is there a way for visitors to request a live agent from the widget on the Starter plan?"
    assert not decide(text).escalate
    assert decide(text, engine=strict).escalate


@pytest.mark.xfail(strict=True, reason="not met yet on test_v7, the newest split written blind (its one blind run: "
                   "person recall 95.3%, escalate false positives 7.5%, queue 85.8%): see README 'The learned intent "
                   "layer'")
def test_the_untouched_test_split_meets_the_issue_targets() -> None:
    lines = [json.loads(x) for x in (DATA / "test_v7.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    report = run_intents(ENGINE, lines)
    printed = report.format()
    assert report.recall("person") >= 0.97, printed
    assert report.escalate_false_positive_rate <= 0.03, printed
    assert report.queue_accuracy >= 0.90, printed
