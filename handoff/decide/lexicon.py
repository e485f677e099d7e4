"""Token-level phrase matching with a negation window and tolerance for one-letter typos.

A phrase in the rules file is a run of slots separated by spaces. A slot is a word (``refund``), a word
prefix (``refund*``), alternatives (``speak|talk|chat``), any one word (``*``), or an optional slot in
brackets (``[a|an|the]``, ``[*]``). Commas between the words of a phrase are skipped ("perfect, thanks").
Phrases are normalised like the text (case, accents, apostrophes), compiled once at rules load and indexed
by their first word, so matching a message costs one dictionary lookup per token.

Negation is checked in a window of words before the cue, inside the same clause: "this is not urgent" is
negated, "no, it is urgent" is not. Some negators do not negate the cue ("still no refund", "why can't I
talk to a human", "I haven't received my refund", "no refund yet"); :class:`Negation` knows those shapes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from handoff.decide.text import BOUNDARY_TOKENS, words

_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class Slot:
    """One position of a phrase: the words and word prefixes it accepts, and whether it may be skipped."""

    words: frozenset[str]
    prefixes: tuple[str, ...] = ()
    optional: bool = False
    any_word: bool = False

    def accepts(self, token: str) -> bool:
        if self.any_word:
            return token not in BOUNDARY_TOKENS
        return token in self.words or (bool(self.prefixes) and token.startswith(self.prefixes))


@dataclass(frozen=True, slots=True)
class Phrase:
    """A compiled phrase of one category, with the text as written in the rules file (for explanations)."""

    category: str
    text: str
    slots: tuple[Slot, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    """A phrase found in a token list: ``tokens[start:end]``, and whether a negator governs it."""

    category: str
    phrase: str
    start: int
    end: int
    negated: bool = False


def parse_phrase(text: str) -> tuple[Slot, ...]:
    """Compile one phrase of the rules file into slots.

    Args:
        text: e.g. ``"speak|talk [to|with] [a|an] human|person"``.

    Returns:
        The slots, at least one of them not optional.

    Raises:
        ValueError: the phrase is empty, only optional, or has an empty alternative.
    """
    slots: list[Slot] = []
    for raw in text.split():
        optional = raw.startswith("[") and raw.endswith("]")
        body = raw[1:-1] if optional else raw
        if "[" in body or "]" in body:
            raise ValueError(f"phrase {text!r}: brackets must enclose a whole slot, like [a|an]")
        if body == "*":
            if not slots:
                raise ValueError(f"phrase {text!r}: cannot start with a wildcard")
            slots.append(Slot(frozenset(), (), optional, any_word=True))
            continue
        exact: set[str] = set()
        prefixes: list[str] = []
        alts = body.split("|")
        if len(alts) == 1 and not body.endswith("*") and len(words(body)) > 1:
            # "c'est", "two-factor": one written word, several tokens
            slots.extend(Slot(frozenset({w}), (), optional) for w in words(body))
            continue
        for alt in alts:
            star = alt.endswith("*")
            parts = words(alt[:-1] if star else alt)
            if len(parts) != 1:
                raise ValueError(f"phrase {text!r}: alternative {alt!r} must be exactly one word")
            if star:
                if len(parts[0]) < 3:
                    raise ValueError(f"phrase {text!r}: a prefix needs at least 3 letters before the *")
                prefixes.append(parts[0])
            else:
                exact.add(parts[0])
        slots.append(Slot(frozenset(exact), tuple(prefixes), optional))
    if not slots or all(s.optional for s in slots):
        raise ValueError(f"phrase {text!r}: needs at least one word that is not optional")
    return tuple(slots)


@dataclass(frozen=True, slots=True)
class Negation:
    """When a negator before a cue negates it.

    Attributes:
        window: how many words before the cue to look at (within the clause).
        negators: words that negate ("not", "dont", "nicht", "pas", "no" ...), normalised.
        clause_breaks: words that end the clause looked at ("but", "pero", "aber").
        skip_after: a negator right after one of these does not negate ("still no refund", "why can't I").
        inversion_aux: auxiliaries that, followed by a subject, ask rather than negate ("can't I ...").
        inversion_subjects: the subjects of such questions ("i", "we", "you", "anyone").
        broken_by: a word between negator and cue that detaches them ("haven't *received* my refund").
        released_by: a word right after the cue that turns negation into a complaint ("no refund *yet*").
        conditionals: a negator inside an if-clause negates that clause's own verb, not a later cue
            ("if this isn't fixed I'll sue"); a cue right after the negator stays negated ("if it's not urgent").
    """

    window: int
    negators: frozenset[str]
    clause_breaks: frozenset[str] = frozenset()
    skip_after: frozenset[str] = frozenset()
    inversion_aux: frozenset[str] = frozenset()
    inversion_subjects: frozenset[str] = frozenset()
    broken_by: frozenset[str] = frozenset()
    released_by: frozenset[str] = frozenset()
    conditionals: frozenset[str] = frozenset()

    def negates(self, toks: Sequence[str], start: int, end: int) -> bool:
        """Whether the cue at ``toks[start:end]`` is negated.

        Args:
            toks: the message tokens (normalised words and boundary punctuation).
            start: index of the cue's first token.
            end: index just past the cue's last token.

        Returns:
            True when a negator in the window governs the cue.
        """
        j = start - 1
        lowest = max(0, start - self.window)
        while j >= lowest:
            tok = toks[j]
            if tok in BOUNDARY_TOKENS or tok in self.clause_breaks:
                return False
            if tok in self.negators and not self._detached(toks, j, start, end):
                return True
            j -= 1
        return False

    def _detached(self, toks: Sequence[str], j: int, start: int, end: int) -> bool:
        if j > 0 and toks[j - 1] in self.skip_after:
            return True
        if toks[j] in self.inversion_aux and toks[j + 1] in self.inversion_subjects:
            return True
        if end < len(toks) and toks[end] in self.released_by:
            return True
        if start - j >= 2 and self._in_condition(toks, j):
            return True
        return any(toks[k] in self.broken_by for k in range(j + 1, start))

    def _in_condition(self, toks: Sequence[str], j: int) -> bool:
        k = j - 1
        while k >= 0 and j - k <= self.window:
            if toks[k] in BOUNDARY_TOKENS:
                return False
            if toks[k] in self.conditionals:
                return True
            k -= 1
        return False


_Entry = tuple[list[Phrase] | None, bool, list[Phrase] | None]
_UNSEEN: _Entry = (None, False, None)
_MEMO_LIMIT = 50_000


@dataclass(slots=True)
class Matcher:
    """Finds the phrases of many categories in one pass over a token list.

    Phrases are indexed by their first word, or by their first two words when the second is required, so
    common first words ("i", "the", "to") cost one dictionary lookup, not a trial of every phrase.
    """

    negation: Negation | None = None
    no_negation: frozenset[str] = frozenset()
    _by_word: dict[str, list[Phrase]] = field(default_factory=dict)
    _by_pair: dict[tuple[str, str], list[Phrase]] = field(default_factory=dict)
    _pair_first: set[str] = field(default_factory=set)
    _by_prefix: dict[str, list[tuple[str, Phrase]]] = field(default_factory=dict)  # keyed by the first 3 letters
    _vocabulary: set[str] = field(default_factory=set)
    _memo: dict[str, _Entry | None] = field(default_factory=dict)  # per-token lookups; words repeat a lot

    def add(self, category: str, text: str) -> None:
        """Compile and index one phrase (raises ValueError on bad syntax)."""
        phrase = Phrase(category, text, parse_phrase(text))
        self._memo.clear()
        for slot in phrase.slots:
            self._vocabulary.update(slot.words)
        self._index(phrase)

    def _index(self, phrase: Phrase) -> None:
        slots = phrase.slots
        first = slots[0]
        if first.optional:  # "[a] b" is indexed as both "a b" and "b"
            self._index(Phrase(phrase.category, phrase.text, (Slot(first.words, first.prefixes), *slots[1:])))
            if slots[1].any_word:
                raise ValueError(f"phrase {phrase.text!r}: cannot start with a wildcard")
            self._index(Phrase(phrase.category, phrase.text, slots[1:]))
            return
        if len(slots) > 1 and slots[1].optional:
            second = Slot(slots[1].words, slots[1].prefixes, any_word=slots[1].any_word)
            self._index(Phrase(phrase.category, phrase.text, (first, second, *slots[2:])))
            self._index(Phrase(phrase.category, phrase.text, (first, *slots[2:])))
            return
        for prefix in first.prefixes:
            self._by_prefix.setdefault(prefix[:3], []).append((prefix, phrase))
        if len(slots) > 1 and slots[1].words and not slots[1].prefixes:
            for w1 in first.words:
                self._pair_first.add(w1)
                for w2 in slots[1].words:
                    self._by_pair.setdefault((w1, w2), []).append(phrase)
            return
        for word in first.words:
            self._by_word.setdefault(word, []).append(phrase)

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every exact word any phrase uses (typo variants must not shadow them)."""
        return frozenset(self._vocabulary)

    def find(self, toks: Sequence[str]) -> list[Hit]:
        """All phrase occurrences in ``toks`` (longest per category and start), with their negation.

        Args:
            toks: normalised tokens of one message.

        Returns:
            Hits in token order; a category is reported at most once per start position.
        """
        hits: list[Hit] = []
        by_pair, memo = self._by_pair, self._memo
        last = len(toks) - 1
        for i, tok in enumerate(toks):
            entry = memo.get(tok, _UNSEEN)
            if entry is _UNSEEN:
                entry = self._entry(tok)
                if len(memo) < _MEMO_LIMIT:
                    memo[tok] = entry
            if entry is None:
                continue
            single, pairs, near = entry
            best: dict[str, Hit] = {}
            if single:
                self._try(single, 1, toks, i, best)
            if pairs and i < last:
                j = i + 1
                while j < last and toks[j] == ",":
                    j += 1
                pair = by_pair.get((tok, toks[j]))
                if pair:
                    self._try(pair, 2, toks, i, best, j + 1)
            if near:
                self._try(near, 1, toks, i, best)
            for hit in best.values():
                if self.negation is not None and hit.category not in self.no_negation:
                    if self.negation.negates(toks, hit.start, hit.end):
                        hit = Hit(hit.category, hit.phrase, hit.start, hit.end, True)
                hits.append(hit)
        return hits

    def _entry(self, tok: str) -> _Entry | None:
        """What a token can start: phrases by word, whether pairs start with it, prefix phrases it fits."""
        single = self._by_word.get(tok)
        pairs = tok in self._pair_first
        near: list[Phrase] | None = None
        candidates = self._by_prefix.get(tok[:3]) if self._by_prefix else None
        if candidates:
            near = [p for pre, p in candidates if tok.startswith(pre)] or None
        if single is None and not pairs and near is None:
            return None
        return single, pairs, near

    @staticmethod
    def _try(phrases: list[Phrase], done: int, toks: Sequence[str], i: int, best: dict[str, Hit], at: int = -1) -> None:
        at = i + done if at < 0 else at
        for phrase in phrases:
            end = _match(phrase.slots, done, toks, at) if len(phrase.slots) > done else at
            if end < 0:
                continue
            seen = best.get(phrase.category)
            if seen is None or end > seen.end:
                best[phrase.category] = Hit(phrase.category, phrase.text, i, end)


def _match(slots: tuple[Slot, ...], si: int, toks: Sequence[str], ti: int) -> int:
    """Match ``slots[si:]`` against ``toks[ti:]``; return the end token index or -1 (optional slots backtrack)."""
    n = len(toks)
    while si < len(slots):
        slot = slots[si]
        tj = ti
        while tj < n and toks[tj] == ",":  # "perfect, thanks" matches "perfect thanks"
            tj += 1
        if tj < n and slot.accepts(toks[tj]):
            if not slot.optional:
                si, ti = si + 1, tj + 1
                continue
            taken = _match(slots, si + 1, toks, tj + 1)
            if taken >= 0:
                return taken
        if not slot.optional:
            return -1
        si += 1
    return ti


def typo_map(targets: Iterable[str], *, min_length: int, protected: Iterable[str]) -> dict[str, str]:
    """Map every one-edit misspelling of the target words to the word ("humen" -> "human").

    Deletions, insertions, substitutions and adjacent transpositions are covered (Damerau distance 1), so
    "spek", "reprensentative" and "humna" map back to "speak", "representative" and "human".

    Args:
        targets: correctly spelled words, normalised.
        min_length: shorter targets are not varied (too many collisions).
        protected: real words that must never be rewritten (the phrase vocabulary, "walk", "managed" ...).

    Returns:
        variant -> target; variants claimed by two targets are dropped as ambiguous.
    """
    keep = frozenset(protected)
    out: dict[str, str] = {}
    clashes: set[str] = set()
    for word in targets:
        if len(word) < min_length:
            continue
        for variant in _edits1(word):
            if variant == word or variant in keep or len(variant) < 3:
                continue
            if out.get(variant, word) != word:
                clashes.add(variant)
            out[variant] = word
    for variant in clashes:
        del out[variant]
    return out


def _edits1(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    transposes = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in _ALPHABET}
    inserts = {a + c + b for a, b in splits for c in _ALPHABET}
    return deletes | transposes | replaces | inserts


def whole_message_set(phrases: Iterable[str]) -> frozenset[tuple[str, ...]]:
    """Normalise messages that count only when they are the whole message ("human!", "agent please").

    Entries without letters (emoji such as "👍") are kept as ``(SYMBOLS, text)``; see :func:`whole_key`.
    """
    return frozenset(tuple(words(p)) or (SYMBOLS, p.strip()) for p in phrases if p.strip())


SYMBOLS = "\x00"


def whole_key(word_toks: tuple[str, ...], text: str) -> tuple[str, ...]:
    """The key a message is looked up by in a :func:`whole_message_set` (its words, or its symbols)."""
    return word_toks if word_toks else (SYMBOLS, text.strip())
