"""The validated rules file (:class:`Rules`) and what is compiled from it once, at load (:class:`Compiled`).

Loading is all-or-nothing: :meth:`Rules.load` and :meth:`Rules.parse` either return rules whose every
phrase and pattern compiled, or raise :class:`RulesError` listing each problem with its YAML path. The
service refuses to start on an invalid file and keeps its current rules when a reload fails.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any, Self
from zoneinfo import ZoneInfo

import yaml
from pydantic import PrivateAttr, ValidationError, model_validator

from handoff.decide.lexicon import Matcher, Negation, typo_map, whole_message_set
from handoff.decide.schema import (
    TOPICS,
    AccountRules,
    AIUnsureRules,
    BusinessHours,
    ComplexityRules,
    ConfidenceRules,
    ConversationRules,
    CueRules,
    FrustrationRules,
    IntentModelRules,
    Model,
    PriorityRules,
    ResolutionRules,
    RoutingRules,
    TextRules,
    Topic,
    TopicsRules,
    WidgetTriggers,
    check_names,
)
from handoff.decide.text import words

#: Reason codes of the built-in rules (cue names add to these); ``resolution.suppresses`` may name any of them.
BUILTIN_CODES = frozenset(
    {
        "low_confidence",
        "confidence_streak",
        "confidence_drop",
        "kb_miss",
        "negative_sentiment",
        "shouting",
        "repeated_question",
        "ai_unsure",
        "technical_complexity",
        "long_conversation",
        "low_rating",
        "repeat_customer",
        "account_flag",
    }
)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class RulesError(Exception):
    """The rules file is invalid. ``str()`` names the file, then each problem's YAML path and what is wrong.

    Attributes:
        source: the file (or ``<string>``) the rules came from.
        problems: ``(path, message)`` pairs, e.g. ``("priority.weights.tier", "must be a number between 0 and 1")``.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}: {path}: {msg}" if path else f"{source}: {msg}" for path, msg in problems]
        super().__init__("\n".join(lines) or f"{source}: invalid rules")


class Rules(Model):
    """Every threshold, weight and word list of the escalation decision, validated.

    Build with :meth:`load` or :meth:`parse`; ``version`` is the short sha256 of the file text and is stored
    with every decision.
    """

    confidence: ConfidenceRules = ConfidenceRules()
    text: TextRules
    cues: dict[str, CueRules]
    frustration: FrustrationRules
    ai_unsure: AIUnsureRules
    complexity: ComplexityRules
    conversation: ConversationRules = ConversationRules()
    resolution: ResolutionRules
    account: AccountRules = AccountRules()
    topics: TopicsRules
    topic_queues: dict[Topic, str]  # topic -> queue name
    priority: PriorityRules = PriorityRules()
    business_hours: BusinessHours = BusinessHours()
    routing: RoutingRules = RoutingRules()
    widget_triggers: WidgetTriggers = WidgetTriggers()
    intent_model: IntentModelRules | None = None

    _version: str = PrivateAttr(default="")
    _source: str = PrivateAttr(default="<model>")
    _compiled: Compiled | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _cross_checks(self) -> Self:
        check_names(dict(self.cues), "cue")
        check_names(dict(self.widget_triggers.codes), "widget trigger")
        missing = [t for t in TOPICS if t not in self.topic_queues]
        if missing:
            raise ValueError(f"topic_queues: every topic needs a queue; missing {', '.join(missing)}")
        known = BUILTIN_CODES | set(self.cues)
        unknown = [c for c in self.resolution.suppresses if c not in known]
        if unknown:
            raise ValueError(f"resolution.suppresses: unknown rule code(s) {', '.join(unknown)}")
        if self.intent_model is not None:
            im = self.intent_model
            unknown = sorted({h.cue for h in im.intents.values()} - set(self.cues))
            unknown += [c for c in im.informational_sets_aside if c not in self.cues and c != "technical_complexity"]
            if unknown:
                raise ValueError(f"intent_model: unknown cue(s) {', '.join(unknown)}")
            protected = {im.intents[k].cue for k in ("person", "security", "legal") if k in im.intents}
            if protected & set(im.informational_sets_aside):
                raise ValueError("intent_model.informational_sets_aside: person, security and legal cues are never "
                                 "set aside")
        return self

    def intent_model_path(self) -> Path | None:
        """The model file, relative to the rules file (to ``config/`` for rules built from text). A relative name
        that is not beside a copied rules file is the bundled model (a team that copies only rules.yaml keeps it)."""
        if self.intent_model is None:
            return None
        bundled = default_rules_path().parent / self.intent_model.file
        if self._source in ("<model>", "<string>"):
            return bundled
        beside = Path(self._source).parent / self.intent_model.file
        if not beside.exists() and not Path(self.intent_model.file).is_absolute() and bundled.exists():
            return bundled
        return beside

    @property
    def version(self) -> str:
        """Short sha256 of the rules text (of the canonical JSON when built without a file)."""
        if not self._version:
            self._version = hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]
        return self._version

    @property
    def source(self) -> str:
        return self._source

    @property
    def compiled(self) -> Compiled:
        """Matchers, patterns and lookups built from the rules (once; raises RulesError on a bad phrase)."""
        if self._compiled is None:
            self._compiled = compile_rules(self)
        return self._compiled

    def queue_for(self, topic: str) -> str:
        """The queue a topic routes to (``general``'s queue for an unknown topic)."""
        for name, queue in self.topic_queues.items():
            if name == topic:
                return queue
        return self.topic_queues["general"]

    @classmethod
    def parse(cls, text: str, source: str = "<string>") -> Rules:
        """Validate rules from YAML text.

        Args:
            text: the YAML document.
            source: a name for error messages (the file path).

        Returns:
            Compiled, validated rules whose ``version`` is the sha256 of ``text``.

        Raises:
            RulesError: naming each problem's path.
        """
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
            raise RulesError(source, [("", f"{where}not valid YAML ({getattr(exc, 'problem', exc)})")]) from exc
        if not isinstance(data, dict):
            raise RulesError(source, [("", "must be a YAML mapping of sections (confidence, cues, topics ...)")])
        try:
            rules = cls.model_validate(data)
        except ValidationError as exc:
            raise RulesError(source, [_problem(e) for e in exc.errors()]) from exc
        rules._version = hashlib.sha256(text.encode()).hexdigest()[:12]
        rules._source = source
        rules._compiled = compile_rules(rules)
        return rules

    @classmethod
    def load(cls, path: str | Path) -> Rules:
        """Read and validate a rules file (see :meth:`parse`).

        Raises:
            RulesError: the file cannot be read or is invalid.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise RulesError(str(path), [("", f"cannot read the file ({exc.strerror or exc})")]) from exc
        return cls.parse(text, str(path))


def default_rules_path() -> Path:
    """``config/rules.yaml`` of this checkout (the built-in defaults)."""
    return Path(__file__).resolve().parents[2] / "config" / "rules.yaml"


def _problem(err: Any) -> tuple[str, str]:
    path = ""
    for part in err.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    kind = err.get("type")
    if kind == "missing":
        msg = "is required"
    elif kind == "extra_forbidden":
        msg = "unknown key (check the spelling)"
    inner = re.match(r"^(\w+(?:\.\w+)*): (.*)$", msg)
    if inner and not path:  # cross-section checks name their own path
        return inner.group(1), inner.group(2)
    return path, msg


@dataclass(frozen=True, slots=True)
class ComplexityPattern:
    name: str
    weight: float
    patterns: tuple[re.Pattern[str], ...]

    def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
        """The earliest match of any of the patterns in ``text[pos:]``."""
        best: re.Match[str] | None = None
        for pattern in self.patterns:
            m = pattern.search(text, pos, best.start() if best is not None else len(text))
            if m is not None and (best is None or m.start() < best.start()):
                best = m
        return best


@dataclass(frozen=True, slots=True)
class Compiled:
    """What the engine needs at decision time, built once per rules version.

    ``customer`` matches cue categories (by cue name), ``topic:<t>`` / ``topic+:<t>`` (strong) terms,
    ``complexity`` terms, ``resolution`` phrases and ``mention`` markers; ``ai`` matches ``ai_unsure`` phrases.
    """

    customer: Matcher
    ai: Matcher
    ai_anchors: re.Pattern[str]  # search the case-folded AI message
    typos: dict[str, str]
    typo_keys: frozenset[str]
    whole: dict[str, frozenset[tuple[str, ...]]]
    requires_any: dict[str, frozenset[str]]
    stopwords: frozenset[str]
    intents: dict[str, str]
    complexity_patterns: tuple[ComplexityPattern, ...]
    business_zone: ZoneInfo
    business_days: frozenset[int]
    business_start: time
    business_end: time


def compile_rules(rules: Rules) -> Compiled:
    """Compile phrases, patterns and lookups of ``rules``.

    Raises:
        RulesError: a phrase cannot be compiled, naming its path.
    """
    problems: list[tuple[str, str]] = []
    neg = rules.text.negation
    negation = Negation(
        window=neg.window,
        negators=_set(neg.negators),
        clause_breaks=_set(neg.clause_breaks),
        skip_after=_set(neg.skip_after),
        inversion_aux=_set(neg.inversion_aux),
        inversion_subjects=_set(neg.inversion_subjects),
        broken_by=_set(neg.broken_by),
        released_by=_set(neg.released_by),
        conditionals=_set(neg.conditionals),
    )
    no_negation = {f"topic:{t}" for t in TOPICS} | {f"topic+:{t}" for t in TOPICS} | {"complexity", "mention"}
    no_negation |= {name for name, cue in rules.cues.items() if not cue.negatable}
    no_negation |= {f"unless:{name}" for name in rules.cues}
    customer = Matcher(negation, frozenset(no_negation))
    whole: dict[str, frozenset[tuple[str, ...]]] = {}
    for name, cue in rules.cues.items():
        _add_all(customer, name, cue.phrases, f"cues.{name}.phrases", problems)
        _add_all(customer, f"unless:{name}", cue.unless, f"cues.{name}.unless", problems)
        if cue.whole_message:
            whole[name] = whole_message_set(cue.whole_message)
    for topic, lex in rules.topics.lexicon.items():
        _add_all(customer, f"topic:{topic}", lex.terms, f"topics.lexicon.{topic}.terms", problems)
        _add_all(customer, f"topic+:{topic}", lex.strong_terms, f"topics.lexicon.{topic}.strong_terms", problems)
    _add_all(customer, "complexity", rules.complexity.terms, "complexity.terms", problems)
    _add_all(customer, "resolution", rules.resolution.phrases, "resolution.phrases", problems)
    _add_all(customer, "mention", rules.text.mention_markers, "text.mention_markers", problems)
    whole["resolution"] = whole_message_set(rules.resolution.whole_message)
    ai = Matcher()
    _add_all(ai, "ai_unsure", rules.ai_unsure.phrases, "ai_unsure.phrases", problems)
    if problems:
        raise RulesError(rules.source, problems)

    protected = customer.vocabulary | ai.vocabulary | _set(rules.text.fuzzy.keep) | _set(neg.negators)
    typos = typo_map(_set(rules.text.fuzzy.words), min_length=rules.text.fuzzy.min_length, protected=protected)
    intents: dict[str, str] = {t: t for t in TOPICS}
    for topic, lex in rules.topics.lexicon.items():
        for intent in lex.intents:
            intents[_intent_key(intent)] = topic
    bh = rules.business_hours
    return Compiled(
        customer=customer,
        ai=ai,
        ai_anchors=_anchor_pattern(rules.ai_unsure.phrases),
        typos=typos,
        typo_keys=frozenset(typos),
        whole=whole,
        requires_any={n: _set(c.requires_any) for n, c in rules.cues.items() if c.requires_any},
        stopwords=_set(rules.text.stopwords),
        intents=intents,
        complexity_patterns=tuple(
            ComplexityPattern(name, p.weight, tuple(re.compile(r, re.MULTILINE) for r in p.regex))
            for name, p in rules.complexity.patterns.items()
        ),
        business_zone=ZoneInfo(bh.timezone),
        business_days=frozenset(_DAYS.index(d) for d in bh.days),
        business_start=time.fromisoformat(bh.start),
        business_end=time.fromisoformat(bh.end),
    )


def intent_key(intent: str) -> str:
    """Normalise an AI intent label for lookup ("Billing-Issue" -> "billing_issue")."""
    return _intent_key(intent)


def _intent_key(intent: str) -> str:
    return "_".join(words(intent))


def _set(items: list[str]) -> frozenset[str]:
    return frozenset(w for item in items for w in words(item))


def _add_all(matcher: Matcher, category: str, phrases: list[str], path: str, problems: list[tuple[str, str]]) -> None:
    for i, phrase in enumerate(phrases):
        try:
            matcher.add(category, phrase)
        except ValueError as exc:
            problems.append((f"{path}[{i}]", str(exc)))


def _anchors(phrase: str) -> set[str]:
    """Words of which an AI message must contain one for ``phrase`` to match.

    The last required slot whose alternatives all have 4+ letters and no apostrophe (objects such as "find",
    "sure" are rarer than "could", "have"); failing that, the whole phrase. Written forms (case-folded, with
    both apostrophes) and normalised forms are both listed.
    """
    chosen: list[str] = []
    for raw in phrase.split():
        if raw.startswith("[") or raw == "*":
            continue
        alts = [a.rstrip("*") for a in raw.split("|")]
        if all("'" not in a and len(a) >= 4 for a in alts):
            chosen = alts
    if not chosen:
        chosen = [phrase]
    out: set[str] = set()
    for alt in chosen:
        folded = alt.casefold()
        out.update({folded, folded.replace("'", "\u2019"), folded.replace("'", ""), " ".join(words(alt))})
    return {a for a in out if a}


def _anchor_pattern(phrases: list[str]) -> re.Pattern[str]:
    anchors = set().union(*(_anchors(p) for p in phrases)) if phrases else set()
    if not anchors:
        return re.compile(r"(?!)")
    alts = "|".join(re.escape(a) for a in sorted(anchors, key=len, reverse=True))
    return re.compile(rf"(?:{alts})(?!\w)")  # run on case-folded text; no leading look-behind: it is slow
