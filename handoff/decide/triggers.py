"""The trigger rules: from the evidence of one conversation to signals, each with an urgency and a reason.

Two ideas keep false alarms down without hiding real ones:

* **Settled.** When the AI's latest answer is confident (``confidence.settled_at``), cues marked
  ``confidence_gated`` that the customer raised *before* that answer are treated as answered. Topics listed
  in ``topics.confidence_override`` (billing, account/security by default) are never settled this way.
* **Resolved.** When the customer's last message confirms the problem is solved ("that worked, thanks")
  and raises nothing new, the rule codes in ``resolution.suppresses`` are set aside (kept for the record).

Account context (VIP, enterprise, past due, an escalation in the last 30 days) escalates only an *open*
conversation: not resolved and not ending on a confident AI answer (``account.only_if_open``), so an
enterprise customer's plain question answered well does not page a specialist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

from handoff.contract import ConversationIn
from handoff.decide.analysis import CustomerTurn, Evidence
from handoff.decide.intent import IntentModel, IntentScores
from handoff.decide.lexicon import Hit
from handoff.decide.rules import Rules
from handoff.models import Urgency

_RANK = {Urgency.NONE: 0, Urgency.SCHEDULED: 1, Urgency.RAPID: 2, Urgency.IMMEDIATE: 3}


def max_urgency(*levels: Urgency) -> Urgency:
    """The most urgent of ``levels`` (``none`` for no levels)."""
    return max(levels, key=_RANK.__getitem__, default=Urgency.NONE)


def pct(value: float) -> str:
    """0.523 -> "52%"."""
    return f"{round(value * 100)}%"


@dataclass(frozen=True, slots=True)
class Signal:
    """One rule that fired: its code, urgency, a full detail, a short label for the why line, a quote."""

    code: str
    level: Urgency
    detail: str
    label: str
    weight: float
    quote: str | None = None
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the trigger rules concluded about one conversation."""

    signals: tuple[Signal, ...]
    set_aside: tuple[Signal, ...]
    urgency: Urgency
    resolved: bool
    open_need: bool
    flags: frozenset[str]
    complexity: float
    sentiment: float
    resolution_quote: str | None = None
    complexity_items: tuple[str, ...] = field(default=())
    questions: tuple[Signal, ...] = ()  # rule cues set aside because the model read an informational question


@dataclass(frozen=True, slots=True)
class ModelReading:
    """The intent model's scores of each customer turn (aligned with ``Evidence.customer``)."""

    model: IntentModel
    scores: tuple[IntentScores, ...]


def assess(
    rules: Rules,
    ev: Evidence,
    conv: ConversationIn,
    topic: str,
    recent_escalations: int,
    reading: ModelReading | None = None,
) -> Assessment:
    """Run every trigger rule over the evidence.

    Args:
        rules: the validated rules.
        ev: the evidence of :func:`handoff.decide.analysis.analyse`.
        conv: the conversation (for customer and AI metadata).
        topic: the topic already chosen (confidence-override topics are never settled).
        recent_escalations: how many times this customer was escalated in the last 30 days.
        reading: the intent model's scores, when ``intent_model`` is configured (see :class:`IntentModelRules`
            for the precedence between rules and model).

    Returns:
        The active signals, those set aside, the urgency and the priority factors.
    """
    sig = _Collector(rules)
    add = sig.add
    out = sig.out
    conf = rules.confidence
    settled_at = ev.settled_index
    override = topic in rules.topics.confidence_override
    _confidence_rules(rules, ev, conv, sig)
    if conv.ai.kb_hits == 0:
        add(
            "kb_miss",
            rules.conversation.kb_zero_hits_level,
            "the knowledge base had nothing for this question",
            "nothing in the knowledge base",
        )
    first_any, first_open = _first_hits(ev, settled_at)
    model_any, model_open = _model_hits(rules, ev, reading, settled_at)
    questions: list[Signal] = []
    for name, cue in rules.cues.items():
        gated = cue.confidence_gated and not override and cue.topic not in rules.topics.confidence_override
        found = (first_open if gated else first_any).get(name)
        if found is not None:
            quote = _quote(found)
            args = (name, cue.level, f"{cue.label}: customer wrote '{quote}'", cue.label, quote,
                    frozenset(cue.flags), cue.weight)
            question = _informational(rules, reading, ev, found[0], name)
            if question is None:
                add(*args)
            else:
                questions.append(Signal(name, Urgency(cue.level), f"{args[2]} ({question})", cue.label, 0.0, quote))
            continue
        modelled = (model_open if gated else model_any).get(name)
        if modelled is not None:
            intent, p, phrase = modelled
            add(
                name,
                cue.level,
                f"{cue.label}: intent model read '{intent}' at {p:.2f} in '{phrase}'",
                f"{cue.label} (model {p:.2f})",
                phrase,
                frozenset(cue.flags),
                cue.weight,
            )
    _frustration_rules(rules, ev, sig)
    if len(ev.unsure_turns) >= rules.ai_unsure.min_answers:
        n = len(ev.unsure_turns)
        add(
            "ai_unsure",
            rules.ai_unsure.level,
            f"{n} AI answers said it did not know or was not sure",
            f"AI unsure {n}x",
        )
    cx = rules.complexity
    open_items = _complexity_items(rules, ev, after=-1 if override or not cx.confidence_gated else settled_at)
    all_items = _complexity_items(rules, ev, after=-1)
    score = sum(open_items.values())
    if score >= cx.min_score:
        shown = ", ".join(list(open_items)[:3])
        detail = f"technical complexity {score:g} (≥ {cx.min_score:g}): {shown}"
        question = _technical_question(rules, reading, ev, after=-1 if override or not cx.confidence_gated
                                       else settled_at)
        if question is None:
            add("technical_complexity", cx.level, detail, f"technical: {shown}")
        else:  # "what does error 429 mean?", "do you integrate with HubSpot?": the AI can answer it
            questions.append(Signal("technical_complexity", Urgency(cx.level), f"{detail} ({question})",
                                    f"technical: {shown}", 0.0, shown))

    last = ev.customer[-1] if ev.customer else None
    resolved, resolution_quote = _resolved(rules, last)
    set_aside = tuple(s for s in out if resolved and s.code in rules.resolution.suppresses)
    active = [s for s in out if s not in set_aside]
    ends_confident = ev.last_role == "ai" and _confident(ev.last_ai_confidence, conf.settled_at)
    open_need = not resolved and not ends_confident
    before = len(out)
    _context_rules(rules, ev, conv, recent_escalations, resolved, open_need, sig)
    active.extend(out[before:])

    flags: set[str] = set().union(*(s.flags for s in active)) if active else set()
    plan = conv.customer.plan
    if plan in rules.priority.enterprise_plans:
        flags.add("enterprise")
    if conv.customer.vip or "vip" in conv.customer.flags:
        flags.add("vip")
    readings = [c for _, c in ev.readings] + ([ev.latest_confidence] if ev.latest_confidence is not None else [])
    if readings and min(readings) < conf.very_low_below:
        flags.add("very_low_confidence")
    sentiment = max((rules.priority.sentiment_cues.get(s.code, 0.0) for s in active), default=0.0)
    if not resolved and ev.customer:
        sentiment = max(sentiment, -min(t.compound for t in ev.customer))
    steps = len(conv.ai.attempted_steps) * cx.attempted_step_weight
    complexity = min(1.0, (sum(all_items.values()) + steps) / cx.saturation)
    return Assessment(
        signals=tuple(active),
        set_aside=set_aside,
        urgency=max_urgency(*(s.level for s in active)),
        resolved=resolved,
        open_need=open_need,
        flags=frozenset(flags),
        complexity=complexity,
        sentiment=min(1.0, sentiment),
        resolution_quote=resolution_quote,
        complexity_items=tuple(all_items),
        questions=tuple(questions),
    )


_ModelFirst = dict[str, tuple[str, float, str]]  # cue -> (intent, probability, phrase)


def _model_hits(
    rules: Rules, ev: Evidence, reading: ModelReading | None, settled_at: int
) -> tuple[_ModelFirst, _ModelFirst]:
    """The first customer turn where the model reads each intent (anywhere, and after ``settled_at``)."""
    first_any: _ModelFirst = {}
    first_open: _ModelFirst = {}
    im = rules.intent_model
    if reading is None or im is None:
        return first_any, first_open
    model = reading.model
    for turn, scores in zip(ev.customer, reading.scores, strict=True):
        short = scores.n_words < im.min_words  # "thx", "ok": too little text for the model to read a request …
        question = scores.intents.get("info", 0.0) >= im.info_at_least
        for intent, head in im.intents.items():
            if short and (intent != "person" or im.one_word_person_at_least is None):
                continue
            p = scores.intents.get(intent)
            floor = im.one_word_person_at_least
            if short and (p is None or floor is None or p < floor):  # … unless it is all but certainly
                continue                                             # a person request ("Vorgesetzter")
            threshold = head.threshold if head.threshold is not None else model.thresholds.get(intent, 0.5)
            if p is None or p < threshold or head.cue in first_open:
                continue
            if question and head.cue in im.informational_sets_aside:  # "do you have settings for the payment form?"
                continue
            if head.cue not in first_any or turn.index > settled_at:
                found = (intent, p, model.explain(turn.clean, intent))
                first_any.setdefault(head.cue, found)
                if turn.index > settled_at:
                    first_open.setdefault(head.cue, found)
    return first_any, first_open


PROTECTED = ("person", "security", "legal")
"""Intents whose rule cues only the strict ``protected_question_at_least`` test may set aside."""


def _informational(
    rules: Rules, reading: ModelReading | None, ev: Evidence, turn: CustomerTurn, cue: str
) -> str | None:
    """Why a rule cue that fired in ``turn`` is set aside as an informational question, or None to keep it."""
    im = rules.intent_model
    if reading is None or im is None:
        return None
    protected = {im.intents[k].cue for k in PROTECTED if k in im.intents}
    strict = cue in protected and im.protected_question_at_least is not None
    if cue not in im.informational_sets_aside and not strict:
        return None
    scores = next((s for t, s in zip(ev.customer, reading.scores, strict=True) if t is turn), None)
    at_least = im.protected_question_at_least if strict and im.protected_question_at_least else im.info_at_least
    if scores is None or scores.intents.get("info", 0.0) < at_least:
        return None
    for intent, head in im.intents.items():
        threshold = head.threshold if head.threshold is not None else reading.model.thresholds.get(intent, 0.5)
        if strict and head.cue == cue:
            threshold /= 10  # a question about it, not a request or an incident: the model must all but rule it out
        if head.cue == cue and scores.intents.get(intent, 0.0) >= threshold:
            return None  # the model reads the demand too: "what's your refund policy? I want my money back"
    return f"informational question: intent model info {scores.intents['info']:.2f}"


def _technical_question(rules: Rules, reading: ModelReading | None, ev: Evidence, *, after: int) -> str | None:
    """Why technical complexity is set aside as a question: every customer turn it counts asks something and is
    read by the model as informational, and the widget reported no error of its own (always a real problem)."""
    im = rules.intent_model
    if reading is None or im is None or "technical_complexity" not in im.informational_sets_aside:
        return None
    if any(index < 0 for index, *_ in ev.pattern_hits):
        return None
    turns = [(t, s) for t, s in zip(ev.customer, reading.scores, strict=True) if t.index > after]
    if not turns or any("?" not in t.toks for t, _ in turns):  # asked, not reported ("webhook returns 401")
        return None
    infos = [s.intents.get("info", 0.0) for _, s in turns]
    if min(infos) < im.info_at_least:
        return None
    return f"informational question: intent model info {min(infos):.2f}"


def _confident(value: float | None, at: float) -> bool:
    return value is not None and value >= at


def _confidence_rules(rules: Rules, ev: Evidence, conv: ConversationIn, sig: _Collector) -> None:
    conf = rules.confidence
    series = [c for _, c in ev.readings]
    if conv.ai.confidence is not None and (not series or series[-1] != conv.ai.confidence):
        series.append(conv.ai.confidence)
    if series and min(series) < conf.immediate_below:
        low = min(series)
        sig.add(
            "low_confidence",
            "immediate",
            f"an AI answer had confidence {pct(low)} (below {pct(conf.immediate_below)})",
            _trajectory(series, low),
        )
    run = longest = 0
    for _, c in ev.readings:
        run = run + 1 if c < conf.streak_below else 0
        longest = max(longest, run)
    if longest >= conf.streak_length:
        sig.add(
            "confidence_streak",
            "immediate",
            f"{longest} AI answers in a row below {pct(conf.streak_below)}",
            f"{longest} weak AI answers in a row",
        )
    if len(series) >= 2:
        peak, latest = max(series[:-1]), series[-1]
        if peak - latest >= conf.drop_points - 1e-9:
            sig.add(
                "confidence_drop",
                "rapid",
                f"AI confidence fell from {pct(peak)} to {pct(latest)}",
                f"AI confidence fell {pct(peak)}→{pct(latest)}",
            )


_First = dict[str, tuple[CustomerTurn, Hit | None]]


def _trajectory(series: list[float], low: float) -> str:
    """The why-line label: "AI confidence fell 71%→52%" when it was higher before and is lowest now."""
    if len(series) >= 2 and series[-1] == low and max(series[:-1]) > low:
        return f"AI confidence fell {pct(max(series[:-1]))}→{pct(low)}"
    return f"AI confidence {pct(low)}"


def _first_hits(ev: Evidence, settled_at: int) -> tuple[_First, _First]:
    """The first non-negated hit of each category (or whole-message match): anywhere, and after ``settled_at``."""
    first_any: _First = {}
    first_open: _First = {}
    for turn in ev.customer:
        is_open = turn.index > settled_at
        for hit in turn.hits:
            if not hit.negated:
                first_any.setdefault(hit.category, (turn, hit))
                if is_open:
                    first_open.setdefault(hit.category, (turn, hit))
        for name in turn.whole:
            first_any.setdefault(name, (turn, None))
            if is_open:
                first_open.setdefault(name, (turn, None))
    return first_any, first_open


def _quote(found: tuple[CustomerTurn, Hit | None]) -> str:
    turn, hit = found
    return turn.quote(hit) if hit is not None else turn.excerpt()


def _frustration_rules(rules: Rules, ev: Evidence, sig: _Collector) -> None:
    fr = rules.frustration
    if not ev.customer:
        return
    worst = min(ev.customer, key=lambda t: t.compound)
    if worst.compound <= fr.sentiment_at_most:
        sig.add(
            "negative_sentiment",
            fr.level,
            f"a customer message scored {worst.compound:+.2f} for sentiment (≤ {fr.sentiment_at_most:+.2f})",
            "frustrated customer",
            worst.excerpt(),
        )
    shouting = next((t for t in ev.customer if t.shouting), None)
    if shouting is not None:
        sig.add(
            "shouting", fr.level, "a customer message is written mostly in capitals", "SHOUTING", shouting.excerpt()
        )
    rq = fr.repeated_question
    recent = [t for t in ev.customer[-rq.lookback :] if t.n_words >= rq.min_tokens and len(t.content) >= rq.min_content]
    for a, b in combinations(recent, 2):
        small, large = sorted((len(a.content), len(b.content)))
        if small < rq.similarity * large:  # Jaccard can be at most small/large
            continue
        shared = len(a.content & b.content)
        if shared >= rq.similarity * (small + large - shared):
            sig.add(
                "repeated_question",
                fr.level,
                "the customer asked the same thing again",
                "asked the same thing twice",
                b.excerpt(),
            )
            break


def _complexity_items(rules: Rules, ev: Evidence, *, after: int) -> dict[str, float]:
    cx = rules.complexity
    items: dict[str, float] = {}
    for turn in ev.customer:
        if turn.index <= after:
            continue
        for hit in turn.hits:
            if hit.category == "complexity":
                items.setdefault(hit.phrase.rstrip("*"), 1.0)
        if turn.index in ev.code_turns and cx.code_block_weight > 0:
            items.setdefault("code snippet", cx.code_block_weight)
    seen: set[str] = set()
    for index, name, weight, text in ev.pattern_hits:
        if (index < 0 or index > after) and name not in seen:  # index -1: technical.errors, always current
            seen.add(name)
            items[f"{name.replace('_', ' ')} {text}"] = weight
    return items


def _resolved(rules: Rules, last: CustomerTurn | None) -> tuple[bool, str | None]:
    if last is None:
        return False, None
    hit = next((h for h in last.hits if h.category == "resolution" and not h.negated), None)
    if hit is None and "resolution" not in last.whole:
        return False, None
    escalating = {n for n, c in rules.cues.items() if c.level != "none"}
    if any(h.category in escalating and not h.negated for h in last.hits) or escalating & last.whole:
        return False, None
    if "?" in last.toks or last.shouting or last.compound <= rules.frustration.sentiment_at_most:
        return False, None
    return True, last.quote(hit) if hit is not None else last.excerpt()


def _context_rules(
    rules: Rules, ev: Evidence, conv: ConversationIn, recent: int, resolved: bool, open_need: bool, sig: _Collector
) -> None:
    cr = rules.conversation
    if ev.duration_minutes is not None and ev.duration_minutes > cr.long_after_minutes and not resolved:
        sig.add(
            "long_conversation",
            cr.long_level,
            f"the conversation has run {ev.duration_minutes:.0f} minutes unresolved",
            f"{ev.duration_minutes:.0f} min unresolved",
        )
    rating = conv.ai.customer_rating
    if rating is not None and rating < cr.low_rating_below:
        sig.add("low_rating", cr.low_rating_level, f"the customer rated the AI {rating}/5", f"rated the AI {rating}/5")
    acc = rules.account
    gate_ok = open_need or not acc.only_if_open
    if recent >= acc.repeat_min_escalations and gate_ok:
        sig.add(
            "repeat_customer",
            acc.repeat_level,
            f"this customer was escalated {recent}x in the last 30 days",
            f"escalated {recent}x in 30 days",
        )
    cust = conv.customer
    marks = [f for f in cust.flags if f in acc.flags]
    if cust.vip and "vip" in acc.flags and "vip" not in marks:
        marks.append("vip")
    if cust.plan in acc.plans:
        marks.append(f"{cust.plan} plan")
    if marks and gate_ok:
        shown = ", ".join("VIP" if m == "vip" else m.replace("_", " ") for m in marks)
        sig.add("account_flag", acc.level, f"account needs care ({shown}) and the conversation is still open", shown)


class _Collector:
    """Collects signals; the reason weight defaults to the urgency's weight in ``priority.reason_weights``."""

    def __init__(self, rules: Rules) -> None:
        self.out: list[Signal] = []
        self._weights = rules.priority.reason_weights

    def add(
        self,
        code: str,
        level: str,
        detail: str,
        label: str,
        quote: str | None = None,
        flags: frozenset[str] = frozenset(),
        weight: float | None = None,
    ) -> None:
        urgency = Urgency(level)
        self.out.append(
            Signal(code, urgency, detail, label, self._weights.of(urgency) if weight is None else weight, quote, flags)
        )
