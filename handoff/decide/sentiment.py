"""A typed wrapper around VADER, tuned for support chats and skipped when it cannot matter.

VADER scores "my payment failed with an error" as strongly negative although nothing in it is an emotion;
the rules file lists such domain words (``frustration.neutral_terms``) and this wrapper removes them from
its own copy of the lexicon.

VADER costs ~30 µs a message. Before running it, :meth:`Sentiment.compound` bounds how negative the
message could possibly score: the negative words' valences, positive words that a negator could flip,
and every amplifier VADER applies (capitals, boosters, "but", exclamation marks), all at their maximum.
When even that bound cannot reach ``floor`` the message is reported as neutral (0.0) without scoring.
Non-ASCII text (emoji, accents) and emoticons are always scored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE, SPECIAL_CASES, SentimentIntensityAnalyzer

from handoff.decide.text import words

# VADER's amplifiers at their largest (see vaderSentiment: C_INCR, B_INCR x 3 words, "but" x 1.5, "!" and "??").
_CAPS = 0.733
_BOOST = 0.293 * (1 + 0.95 + 0.9)
_BUT = 1.5
_EXCLAIM = 0.292
_QUESTIONS = 0.96
_FLIP = 0.74
_ALPHA = 15.0  # VADER's normalisation constant: compound = x / sqrt(x^2 + alpha)
_NEGATOR, _NEGATIVE, _POSITIVE = 0, 1, 2
_EMOTICON_CHARS = frozenset(":;=()<>[]{}|/\\")


class Sentiment:
    """One VADER analyzer per rule engine (its lexicon is loaded once and adjusted in place)."""

    def __init__(self, neutral_terms: Iterable[str] = (), floor: float = -0.25) -> None:
        """Load VADER and neutralise the domain terms.

        Args:
            neutral_terms: words scored 0 instead of their lexicon valence ("error", "failed", "refund").
            floor: compound scores above this are reported as 0.0 (and may be skipped); must be < 0.
        """
        self._vader = SentimentIntensityAnalyzer()
        lexicon: dict[str, float] = self._vader.lexicon
        for term in neutral_terms:
            lexicon.pop(term.casefold(), None)
        self._negative: dict[str, float] = {}
        self._positive: dict[str, float] = {}
        emoticons: list[str] = []
        for word, valence in lexicon.items():
            parts = words(word)
            if not any(c.isalpha() for c in word) or not parts:
                if valence < 0:
                    emoticons.append(word)
                continue
            key = max(parts, key=len)  # "son-of-a-bitch" is one VADER token; its longest part is enough
            table = self._negative if valence < 0 else self._positive
            table[key] = max(table.get(key, 0.0), abs(valence))
        for phrase, valence in SPECIAL_CASES.items():
            if valence < 0:
                for part in words(phrase):
                    self._negative[part] = max(self._negative.get(part, 0.0), abs(valence))
        self._negators = frozenset(w for neg in NEGATE for w in words(neg)) | {"no", "least", "never", "without"}
        self._boosters = frozenset(w for b in BOOSTER_DICT for w in words(b))
        # one lookup per token: (kind, |valence|); negators keep their own negative valence, if any
        self._lex: dict[str, tuple[int, float]] = {w: (_POSITIVE, v) for w, v in self._positive.items()}
        self._lex.update({w: (_NEGATIVE, v) for w, v in self._negative.items()})
        self._lex.update({w: (_NEGATOR, self._negative.get(w, 0.0)) for w in self._negators})
        alts = sorted((re.escape(e) for e in emoticons), key=len, reverse=True)
        self._emoticons = re.compile("|".join(alts)) if alts else None
        self.floor = floor
        # the raw VADER sum that corresponds to ``floor``
        self._needed = abs(floor) * math.sqrt(_ALPHA / (1.0 - floor * floor))

    def compound(self, text: str, toks: Sequence[str]) -> float:
        """VADER compound score of ``text`` in [-1, 1]; 0.0 when it is above ``floor``.

        Args:
            text: the customer's words (quotes and code removed), original case (VADER reads CAPS).
            toks: the same text normalised and tokenised, for the cheap bound.

        Returns:
            The compound score, or 0.0 when it cannot be at or below ``floor``.
        """
        if text.isascii() and self._bound(text, toks) < self._needed:
            if self._emoticons is None or _EMOTICON_CHARS.isdisjoint(text) or not self._emoticons.search(text):
                return 0.0
        score: float = self._vader.polarity_scores(text)["compound"]
        return score if score <= self.floor else 0.0

    def _bound(self, text: str, toks: Sequence[str]) -> float:
        """An upper bound on how negative VADER's raw sum for ``text`` can be."""
        lex = self._lex
        total = 0.0
        counted = 0
        last_negator = -10
        for i, tok in enumerate(toks):
            info = lex.get(tok)
            if info is None:
                continue
            kind, v = info
            if kind == _NEGATOR:
                last_negator = i
            if kind == _POSITIVE:
                if i - last_negator > 3:
                    continue
                v *= _FLIP
            if v:
                total += v
                counted += 1
        if not counted:
            return 0.0
        caps = _CAPS if any(len(w) > 1 and w.isupper() for w in text.split()) else 0.0
        boost = _BOOST if not self._boosters.isdisjoint(toks) else 0.0
        but = _BUT if "but" in toks else 1.0
        punct = min(4, text.count("!")) * _EXCLAIM + (_QUESTIONS if text.count("?") > 1 else 0.0)
        return (total + counted * (caps + boost)) * but + punct
