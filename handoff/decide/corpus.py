"""Running the rules over a labelled corpus: ``python3 app.py rules test FILE.jsonl``.

Each JSONL line is a ``/v1/evaluate`` body (a ConversationIn) plus, optionally,
``"expected": {"escalate": bool, "queue": str, "priority": str, "note": str}`` and
``"context": {"recent_escalations_30d": int, "now": iso8601}``. Without ``context.now`` the time of the
last message is used (then the current time), so results do not depend on when the test runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from handoff.contract import ConversationIn
from handoff.decide.context import DecisionContext
from handoff.decide.engine import RuleEngine
from handoff.decide.priority import within_one
from handoff.models import Decision, Priority


@dataclass(frozen=True, slots=True)
class CorpusRow:
    """One corpus line: its decision (or the error that prevented one) and its expected labels."""

    line: int
    conversation_id: str
    decision: Decision | None
    expected: Mapping[str, Any]
    error: str | None = None

    def misses(self) -> str:
        """Letters for each label the decision got wrong: E(scalate), Q(ueue), P(riority, more than one level)."""
        d, exp = self.decision, self.expected
        if d is None:
            return "!"
        out = ""
        if "escalate" in exp and bool(exp["escalate"]) != d.escalate:
            out += "E"
        if "queue" in exp and exp["queue"] != d.queue:
            out += "Q"
        if "priority" in exp and not within_one(Priority(exp["priority"]), d.priority):
            out += "P"
        return out


@dataclass
class CorpusReport:
    """Decisions over a corpus and how they compare with the labels.

    Ratios are ``nan`` when no line carries the label they need.
    """

    rows: list[CorpusRow] = field(default_factory=list)
    true_pos: int = 0
    false_pos: int = 0
    true_neg: int = 0
    false_neg: int = 0
    queue_right: int = 0
    queue_total: int = 0
    priority_near: int = 0
    priority_exact: int = 0
    priority_total: int = 0

    @property
    def errors(self) -> list[CorpusRow]:
        return [r for r in self.rows if r.error is not None]

    @property
    def escalate_accuracy(self) -> float:
        return _ratio(self.true_pos + self.true_neg, self.true_pos + self.true_neg + self.false_pos + self.false_neg)

    @property
    def false_positive_rate(self) -> float:
        return _ratio(self.false_pos, self.false_pos + self.true_neg)

    @property
    def queue_accuracy(self) -> float:
        return _ratio(self.queue_right, self.queue_total)

    @property
    def priority_within_one(self) -> float:
        return _ratio(self.priority_near, self.priority_total)

    @property
    def priority_exact_rate(self) -> float:
        return _ratio(self.priority_exact, self.priority_total)

    def add(self, row: CorpusRow) -> None:
        """Record one line and update the counts."""
        self.rows.append(row)
        d, exp = row.decision, row.expected
        if d is None:
            return
        if "escalate" in exp:
            want = bool(exp["escalate"])
            if want and d.escalate:
                self.true_pos += 1
            elif want:
                self.false_neg += 1
            elif d.escalate:
                self.false_pos += 1
            else:
                self.true_neg += 1
        if "queue" in exp:
            self.queue_total += 1
            self.queue_right += exp["queue"] == d.queue
        if "priority" in exp:
            want_p = Priority(exp["priority"])
            self.priority_total += 1
            self.priority_near += within_one(want_p, d.priority)
            self.priority_exact += want_p == d.priority

    def format(self) -> str:
        """The printed report: one line per conversation, the confusion table, the figures."""
        lines = [f"{'line':>4}  {'conversation':<22} {'decision':<36} {'expected':<24} {'miss':<4} why"]
        for r in self.rows:
            if r.decision is None:
                lines.append(f"{r.line:>4}  {r.conversation_id[:22]:<22} ERROR: {r.error}")
                continue
            d, exp = r.decision, r.expected
            got = f"{'yes' if d.escalate else 'no':<3} {d.urgency.value:<9} {d.queue:<9} {d.priority.value:<8}"
            want = " ".join(
                str(x)
                for x in (
                    "yes" if exp.get("escalate") else "no" if "escalate" in exp else "-",
                    exp.get("queue", "-"),
                    exp.get("priority", "-"),
                )
            )
            lines.append(f"{r.line:>4}  {r.conversation_id[:22]:<22} {got:<36} {want:<24} {r.misses():<4} {d.why[:90]}")
        lines += [
            "",
            "escalate        expected yes  expected no",
            f"decided yes     {self.true_pos:>12}  {self.false_pos:>11}",
            f"decided no      {self.false_neg:>12}  {self.true_neg:>11}",
            "",
            f"lines: {len(self.rows)} ({len(self.errors)} invalid)",
            f"escalate accuracy:          {_pct(self.escalate_accuracy)}",
            f"false-positive rate:        {_pct(self.false_positive_rate)}  (escalated / labelled no-escalation)",
            f"queue accuracy:             {_pct(self.queue_accuracy)}  ({self.queue_right}/{self.queue_total})",
            f"priority within one level:  {_pct(self.priority_within_one)}"
            f"  ({self.priority_near}/{self.priority_total}; exact {_pct(self.priority_exact_rate)})",
        ]
        return "\n".join(lines)


def run_corpus(engine: RuleEngine, lines: Iterable[Mapping[str, Any]]) -> CorpusReport:
    """Decide every corpus line and compare with its labels.

    Args:
        engine: the rule engine to test.
        lines: parsed JSONL objects (see the module docstring); invalid ones are reported, not raised.

    Returns:
        The report; print ``report.format()``.
    """
    report = CorpusReport()
    for n, raw in enumerate(lines, start=1):
        body = dict(raw)
        expected = body.pop("expected", None) or {}
        context = body.pop("context", None) or {}
        cid = str(body.get("conversation_id", f"line {n}"))
        try:
            conv = ConversationIn.model_validate(body)
            ctx = DecisionContext(
                now=_now(context.get("now"), conv),
                recent_escalations_30d=int(context.get("recent_escalations_30d", 0)),
            )
            _check_expected(expected)
            decision = engine.evaluate(conv, ctx)
        except (ValidationError, ValueError, TypeError) as exc:
            report.add(CorpusRow(n, cid, None, expected, _one_line(exc)))
            continue
        report.add(CorpusRow(n, cid, decision, expected))
    return report


def parse_jsonl(text: str) -> list[dict[str, Any]]:
    """Parse JSONL text, skipping blank lines and ``//`` comment lines.

    Raises:
        ValueError: naming the line that is not a JSON object.
    """
    out: list[dict[str, Any]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {n}: not valid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise ValueError(f"line {n}: must be a JSON object")
        out.append(obj)
    return out


def _now(value: object, conv: ConversationIn) -> datetime:
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    stamps = [t.ts for t in conv.transcript if t.ts is not None]
    if stamps:
        last = max(stamps)
        return last if last.tzinfo is not None else last.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _check_expected(expected: Mapping[str, Any]) -> None:
    if "priority" in expected:
        Priority(expected["priority"])
    if "escalate" in expected and not isinstance(expected["escalate"], bool):
        raise ValueError("expected.escalate must be true or false")


def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:.1f}%"


def _one_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        loc = ".".join(str(p) for p in e["loc"])
        return f"{loc}: {e['msg']}" + (f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else "")
    return str(exc).splitlines()[0]
