"""One pass over a conversation, collecting the evidence every rule reads (:class:`Evidence`).

Each customer message is prepared once: the customer's own words (quotes and code removed), normalised
tokens with one-letter typos of the person-request vocabulary corrected, phrase hits with their negation
(minus words that follow a mention marker such as "the word"), a VADER score when one could matter, and
the content words used to spot a repeated question. Error-code and stack-trace patterns scan all customer
messages at once. AI messages are only tokenised when they contain an anchor of an "I'm not sure" phrase.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, replace
from datetime import UTC

from handoff.contract import ConversationIn
from handoff.decide.lexicon import Hit, whole_key
from handoff.decide.rules import Compiled, Rules
from handoff.decide.sentiment import Sentiment
from handoff.decide.text import BOUNDARY_TOKENS, display_spans, has_code, normalise, strip_quoted, tokens, words

_UPPER = str.maketrans("", "", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ALPHA = str.maketrans("", "", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


@dataclass(slots=True)
class CustomerTurn:
    """A customer message, prepared. ``index`` is its position in the transcript."""

    index: int
    clean: str
    toks: list[str]
    hits: list[Hit]
    whole: frozenset[str]
    compound: float
    shouting: bool
    content: frozenset[str]
    n_words: int

    def quote(self, hit: Hit, *, limit: int = 48) -> str:
        """The customer's words of a hit, as they wrote them."""
        spans = display_spans(self.clean)
        if len(spans) == len(self.toks):
            text = self.clean[spans[hit.start][0] : spans[hit.end - 1][1]]
        else:  # unusual Unicode changed the token count: fall back to the normalised words
            text = " ".join(self.toks[hit.start : hit.end])
        return _clip(" ".join(text.split()), limit)

    def excerpt(self, n_words: int = 6) -> str:
        """The first words of the message, for explanations."""
        spans = [sp for sp in display_spans(self.clean) if self.clean[sp[0]].isalnum()]
        if not spans:
            return ""
        text = " ".join(self.clean[spans[0][0] : spans[min(n_words, len(spans)) - 1][1]].split())
        return text + ("…" if len(spans) > n_words else "")


@dataclass(slots=True)
class Evidence:
    """Everything the rules look at, from one pass over the conversation."""

    customer: list[CustomerTurn] = field(default_factory=list)
    readings: list[tuple[int, float]] = field(default_factory=list)  # (turn index, AI confidence), turns only
    latest_confidence: float | None = None  # ai.confidence when given, else the last turn reading
    last_ai_index: int = -1
    last_ai_confidence: float | None = None
    settled_index: int = -1  # the last AI answer, when it was confident (confidence.settled_at); else -1
    last_role: str | None = None
    unsure_turns: list[int] = field(default_factory=list)
    duration_minutes: float | None = None
    code_turns: set[int] = field(default_factory=set)
    pattern_hits: list[tuple[int, str, float, str]] = field(default_factory=list)  # (turn, name, weight, text)
    summary_hits: list[Hit] = field(default_factory=list)
    summary_words: list[str] = field(default_factory=list)

    def terms(self, conv: ConversationIn) -> frozenset[str]:
        """The conversation's words (customer messages, summary, entities, technical), for free-skill matching."""
        out = {t for turn in self.customer for t in turn.toks if t not in BOUNDARY_TOKENS}
        out.update(self.summary_words)
        for key, value in conv.ai.entities.items():
            out.update(words(f"{key} {value}"))
        if conv.technical is not None:
            out.update(w for v in conv.technical.model_dump().values() if v for w in words(str(v)))
        return frozenset(out)


def analyse(rules: Rules, sentiment: Sentiment, conv: ConversationIn) -> Evidence:
    """Prepare every message of ``conv`` once and collect the evidence.

    Args:
        rules: validated rules (their compiled matchers are used).
        sentiment: the engine's VADER wrapper.
        conv: the conversation.

    Returns:
        The evidence the trigger, topic and priority rules read.
    """
    c = rules.compiled
    shout = rules.frustration.shouting
    ev = Evidence()
    locale = conv.customer.locale.replace("_", "-").split("-")[0].casefold()
    scorer = sentiment if locale in rules.frustration.sentiment_locales else None  # VADER reads English only
    first_ts = last_ts = None
    raw_texts: list[str] = []
    for i, turn in enumerate(conv.transcript):
        if turn.ts is not None:
            ts = turn.ts if turn.ts.tzinfo is not None else turn.ts.replace(tzinfo=UTC)  # naive means UTC
            first_ts = ts if first_ts is None or ts < first_ts else first_ts
            last_ts = ts if last_ts is None or ts > last_ts else last_ts
        if turn.role == "customer":
            ev.customer.append(_customer_turn(c, scorer, i, turn.text, shout.min_letters, shout.upper_ratio))
            raw_texts.append(turn.text)
            if "`" in turn.text and has_code(turn.text):
                ev.code_turns.add(i)
        elif turn.role == "ai":
            ev.last_ai_index = i
            ev.last_ai_confidence = turn.confidence
            if turn.confidence is not None:
                ev.readings.append((i, turn.confidence))
            if c.ai_anchors.search(turn.text.casefold()) and c.ai.find(tokens(normalise(turn.text))):
                ev.unsure_turns.append(i)
        if turn.text.strip():
            ev.last_role = turn.role
    if conv.ai.confidence is not None:
        ev.latest_confidence = conv.ai.confidence
        if ev.last_ai_confidence is None and ev.last_ai_index >= 0:
            ev.last_ai_confidence = conv.ai.confidence
    elif ev.readings:
        ev.latest_confidence = ev.readings[-1][1]
    if ev.last_ai_confidence is not None and ev.last_ai_confidence >= rules.confidence.settled_at:
        ev.settled_index = ev.last_ai_index
    if first_ts is not None and last_ts is not None:
        ev.duration_minutes = (last_ts - first_ts).total_seconds() / 60.0
    _scan_patterns(c, ev, raw_texts, conv.technical.errors if conv.technical is not None else [])
    if conv.ai.summary:
        summary = tokens(normalise(conv.ai.summary))
        ev.summary_words = [t for t in summary if t not in BOUNDARY_TOKENS]
        ev.summary_hits = [h for h in c.customer.find(summary) if h.category.startswith("topic")]
    return ev


_TURNS: dict[tuple[int, bool, str, int, float], tuple[Compiled, CustomerTurn]] = {}
_TURNS_MAX = 4096  # prepared customer messages kept (a conversation is evaluated again as it grows)


def clear_prepared() -> None:
    """Forget every prepared customer message (benchmarks' worst case; rules reloads need not call it)."""
    _TURNS.clear()


def _customer_turn(
    c: Compiled, sentiment: Sentiment | None, index: int, raw: str, min_letters: int, ratio: float
) -> CustomerTurn:
    """A customer message, prepared once per rules and text: every later evaluation of the same conversation
    (intake after ``/v1/evaluate``, the SLA keeper's checks, a longer transcript) reuses it."""
    key = (id(c), sentiment is not None, raw, min_letters, ratio)
    known = _TURNS.get(key)
    if known is not None and known[0] is c:
        return replace(known[1], index=index)
    turn = _prepare_turn(c, sentiment, raw, min_letters, ratio)
    if len(_TURNS) >= _TURNS_MAX:
        _TURNS.clear()
    _TURNS[key] = (c, turn)
    return replace(turn, index=index)


def _prepare_turn(c: Compiled, sentiment: Sentiment | None, raw: str, min_letters: int, ratio: float
                  ) -> CustomerTurn:
    index = -1
    clean = strip_quoted(raw)
    toks = tokens(normalise(clean))
    if not c.typo_keys.isdisjoint(toks):
        get = c.typos.get
        toks = [get(t, t) for t in toks]
    hits = c.customer.find(toks)
    if any(h.category[0] in "mu" and h.category.startswith(("mention", "unless:")) for h in hits):
        hits = _apply_masks(toks, hits)
    word_toks = tuple(t for t in toks if t not in BOUNDARY_TOKENS)
    whole: frozenset[str] = frozenset()
    if len(word_toks) <= 4:
        key = whole_key(word_toks, clean)
        whole = frozenset(name for name, msgs in c.whole.items() if key in msgs)
    for name, needed in c.requires_any.items():
        if needed.isdisjoint(word_toks) and any(h.category == name for h in hits):
            hits = [h for h in hits if h.category != name]
    return CustomerTurn(
        index=index,
        clean=clean,
        toks=toks,
        hits=hits,
        whole=whole,
        compound=sentiment.compound(clean, toks) if sentiment is not None else 0.0,
        shouting=_is_shouting(clean, min_letters, ratio),
        content=_content(word_toks, c.stopwords),
        n_words=len(word_toks),
    )


def _content(word_toks: tuple[str, ...], stopwords: frozenset[str]) -> frozenset[str]:
    content = frozenset(word_toks).difference(stopwords)
    if any(t[0].isdigit() for t in content):
        content = frozenset(t for t in content if not t.isdigit())
    return content


def _apply_masks(toks: list[str], hits: list[Hit]) -> list[Hit]:
    """Drop hits on a mentioned word ("the word ERROR") and cue hits inside an exception ("refund policy")."""
    masked: set[int] = set()
    spans: list[tuple[str, int, int]] = []
    for h in hits:
        if h.category == "mention":
            j = h.end
            while j < len(toks) and toks[j] in BOUNDARY_TOKENS and toks[j] != "\n":
                j += 1
            masked.add(j)
        elif h.category.startswith("unless:"):
            spans.append((h.category[7:], h.start, h.end))
    return [
        h
        for h in hits
        if h.category != "mention"
        and not h.category.startswith("unless:")
        and not any(h.start <= j < h.end for j in masked)
        and not any(cat == h.category and start < h.end and h.start < end for cat, start, end in spans)
    ]


def _is_shouting(text: str, min_letters: int, ratio: float) -> bool:
    if text.isascii():
        upper = len(text) - len(text.translate(_UPPER))
        if upper < min_letters * ratio:
            return False
        letters = len(text) - len(text.translate(_ALPHA))
    else:
        upper = sum(1 for ch in text if ch.isupper())
        letters = sum(1 for ch in text if ch.isalpha())
    return letters >= min_letters and upper >= ratio * letters


def _scan_patterns(c: Compiled, ev: Evidence, raw_texts: list[str], errors: list[str]) -> None:
    """Find error codes and stack traces: once over all customer messages, once more over the open ones."""
    if raw_texts:
        sep = "\n\n"
        joined = sep.join(raw_texts)
        starts: list[int] = []
        pos = 0
        for text in raw_texts:
            starts.append(pos)
            pos += len(text) + len(sep)
        indices = [t.index for t in ev.customer]
        open_from = next((starts[k] for k, i in enumerate(indices) if i > ev.settled_index), None)
        for cp in c.complexity_patterns:
            m = cp.search(joined)
            if m is None:
                continue
            turn = indices[bisect_right(starts, m.start()) - 1]
            ev.pattern_hits.append((turn, cp.name, cp.weight, m.group(0).strip()[:40]))
            if turn <= ev.settled_index and open_from is not None:
                m = cp.search(joined, open_from)
                if m is not None:
                    turn = indices[bisect_right(starts, m.start()) - 1]
                    ev.pattern_hits.append((turn, cp.name, cp.weight, m.group(0).strip()[:40]))
    if errors:  # what the widget captured (console errors ...) is current evidence: turn -1
        text = "\n".join(errors)
        for cp in c.complexity_patterns:
            m = cp.search(text)
            if m is not None:
                ev.pattern_hits.append((-1, cp.name, cp.weight, m.group(0).strip()[:40]))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
