"""Scoring the whole decision on intent-labelled messages: ``python3 app.py rules test data/intent/test.jsonl``.

Each line is ``{"text": ..., "lang": "en", "intents": ["person"], "topic": "billing"}``; it becomes a one-message
conversation (no AI confidence, so only what the customer wrote can escalate it) and goes through the full
engine, rules and model together. An intent counts as found when the decision carries (not set aside) the
signal of the cue the intent maps to in ``intent_model.intents``; ``info`` lines must not escalate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from handoff.contract import ConversationIn
from handoff.decide.context import DecisionContext
from handoff.decide.engine import RuleEngine

_NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # a Tuesday afternoon: inside default business hours
_CUES = {"person": "person_request", "complaint": "complaint", "refund": "billing_dispute",
         "payment": "payment_failure", "cancel": "churn_threat", "security": "security", "legal": "legal_threat"}


def is_intent_line(line: Mapping[str, Any]) -> bool:
    """Whether a corpus line is an intent-labelled message rather than a conversation."""
    return "text" in line and "intents" in line and "transcript" not in line


@dataclass(frozen=True, slots=True)
class IntentRow:
    """One labelled message and what the engine made of it."""

    text: str
    lang: str
    expected: frozenset[str]
    found: frozenset[str]
    escalate: bool
    topic_expected: str | None
    topic: str
    why: str

    @property
    def should_escalate(self) -> bool:
        return bool(self.expected - {"info"})


@dataclass
class IntentReport:
    """Per-intent recall and precision, escalation false positives and queue accuracy over intent lines."""

    rows: list[IntentRow] = field(default_factory=list)

    def recall(self, intent: str) -> float:
        pos = [r for r in self.rows if intent in r.expected]
        if intent == "info":
            return _ratio(sum(not r.escalate for r in pos), len(pos))
        return _ratio(sum(intent in r.found for r in pos), len(pos))

    def precision(self, intent: str) -> float:
        flagged = [r for r in self.rows if intent in r.found]
        return _ratio(sum(intent in r.expected for r in flagged), len(flagged))

    @property
    def escalate_false_positive_rate(self) -> float:
        neg = [r for r in self.rows if not r.should_escalate]
        return _ratio(sum(r.escalate for r in neg), len(neg))

    @property
    def escalate_recall(self) -> float:
        pos = [r for r in self.rows if r.should_escalate]
        return _ratio(sum(r.escalate for r in pos), len(pos))

    @property
    def queue_accuracy(self) -> float:
        labelled = [r for r in self.rows if r.topic_expected]
        return _ratio(sum(r.topic == r.topic_expected for r in labelled), len(labelled))

    def misses(self) -> list[str]:
        """One line per message whose intents, escalation or topic came out wrong."""
        out = []
        for r in self.rows:
            wrong = []
            if r.escalate != r.should_escalate:
                wrong.append("escalated" if r.escalate else "NOT escalated")
            lost, extra = sorted(r.expected - r.found - {"info"}), sorted(r.found - r.expected)
            if lost:
                wrong.append("missed " + ",".join(lost))
            if extra:
                wrong.append("also " + ",".join(extra))
            if r.topic_expected and r.topic != r.topic_expected:
                wrong.append(f"topic {r.topic} (want {r.topic_expected})")
            if wrong:
                out.append(f"  [{r.lang}] {'; '.join(wrong)}: {r.text[:80]!r} -- {r.why}")
        return out

    def format(self) -> str:
        intents = sorted({i for r in self.rows for i in r.expected} | {i for r in self.rows for i in r.found})
        lines = [f"{len(self.rows)} labelled messages", "intent       lines  recall  precision"]
        for name in intents:
            n = sum(name in r.expected for r in self.rows)
            prec = "   -  " if name == "info" else _pct(self.precision(name))
            lines.append(f"{name:<12} {n:>5}  {_pct(self.recall(name)):>6}  {prec:>9}")
        lines += [
            f"escalate recall:          {_pct(self.escalate_recall)}",
            f"escalate false positives: {_pct(self.escalate_false_positive_rate)}",
            f"queue (topic) accuracy:   {_pct(self.queue_accuracy)}",
        ]
        missed = self.misses()
        lines.append(f"misses ({len(missed)}):" if missed else "misses: none")
        return "\n".join(lines + missed)


def run_intents(engine: RuleEngine, lines: Iterable[Mapping[str, Any]]) -> IntentReport:
    """Decide every intent line with ``engine`` and compare with its labels."""
    im = engine.rules.intent_model
    cues = {h.cue: name for name, h in im.intents.items()} if im is not None else {v: k for k, v in _CUES.items()}
    report = IntentReport()
    for n, line in enumerate(lines, 1):
        conv = ConversationIn.model_validate({
            "conversation_id": f"intent-{n}",
            "customer": {"locale": str(line.get("lang") or "en")},
            "transcript": [{"role": "customer", "text": line["text"]}],
        })
        d = engine.evaluate(conv, DecisionContext(now=_NOW))
        found = frozenset(cues[r.code] for r in d.reasons if r.code in cues)
        report.rows.append(IntentRow(
            text=str(line["text"]), lang=str(line.get("lang") or "en"), expected=frozenset(line.get("intents") or ()),
            found=found, escalate=d.escalate, topic_expected=line.get("topic"), topic=d.topic, why=d.why,
        ))
    return report


def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


def _pct(value: float) -> str:
    return "  n/a" if math.isnan(value) else f"{value * 100:.1f}%"
