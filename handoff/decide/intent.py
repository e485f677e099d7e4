"""The learned intent layer: a linear model over word and character n-grams, read from a JSON weights file.

The rules match exact phrases; this model reads meaning from phrasing it was never told about ("chatting with
an operator", "I can't get to a live agent", "make a claim against you"). One pass over a message gives:

* **intents** (one-vs-rest logistic heads): ``person``, ``complaint``, ``refund``, ``payment``, ``cancel``,
  ``security``, ``legal`` and ``info`` (an informational question, which asks for no human), each a probability;
* **topics** (one softmax head): ``technical``, ``billing``, ``account``, ``sales``, ``general``.

Features are built here and only here, so training (``tools/intent``) and inference cannot drift apart:
words, word pairs, and 3/4-letter pieces of each word padded with spaces (which survive typos and inflection:
"reembolso"/"rembourser"/"refund" share little, but "refnud" still shares " re", "ref"). Inference is pure
Python: a dictionary lookup per feature and a sum of short weight rows, about 0.3 ms per message; results are
cached per text because a conversation is re-evaluated on every new turn.

The file is data, not code (JSON, never a pickle); :meth:`IntentModel.load` checks its format, shapes and its
recorded sha256, and the engine stores ``version`` (the file's sha) and ``data_sha`` (the training data's) with
every decision.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

FORMAT = "baton-intent-model/1"
_WORD = re.compile(r"[a-z0-9]+")
_APOSTROPHES = str.maketrans({"\u2019": "", "'": "", "`": "", "\u00b4": ""})
_CACHE_SIZE = 4096
_LOADED: dict[tuple[str, int, int], IntentModel] = {}  # (path, size, mtime) → the model read from it
SENTENCE_PERSON_AT_LEAST = 0.8
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+")


class IntentModelError(Exception):
    """The model file cannot be read, is not a Baton intent model, or does not match its recorded hash."""


@lru_cache(maxsize=2048)
def fold(text: str) -> str:
    """Lower case, accents removed, apostrophes dropped ("Can't" -> "cant", "Réclamation" -> "reclamation").

    Cached: a conversation's turns are read again at every evaluation of it (intake, re-scoring, the SLA
    keeper's frustration check), and ASCII text skips the per-character accent pass."""
    lowered = text.casefold().translate(_APOSTROPHES)
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ß", "ss")


def words(text: str) -> list[str]:
    """The folded words of ``text``."""
    return _WORD.findall(fold(text))


def word_features(toks: list[str], i: int) -> list[str]:
    """The features that belong to word ``i``: the word, its 3- and 4-letter pieces, the pair it starts."""
    tok = toks[i]
    padded = f" {tok} "
    out = ["w:" + tok]
    out += ["c:" + padded[j : j + 3] for j in range(len(padded) - 2)]
    out += ["c:" + padded[j : j + 4] for j in range(len(padded) - 3)]
    if i + 1 < len(toks):
        out.append(f"b:{tok} {toks[i + 1]}")
    return out


def features(text: str) -> list[str]:
    """Every feature of a message (repeats kept: a feature seen twice counts twice)."""
    toks = words(text)
    out: list[str] = []
    for i in range(len(toks)):
        out += word_features(toks, i)
    return out


@dataclass(frozen=True, slots=True)
class IntentScores:
    """One message, scored: a probability per intent and per topic."""

    intents: dict[str, float]
    topics: dict[str, float]
    n_words: int

    def top_topic(self) -> tuple[str, float]:
        """The most likely topic and its probability."""
        best = max(self.topics, key=self.topics.__getitem__)
        return best, self.topics[best]


class IntentModel:
    """A loaded intent model; :meth:`score` is pure and thread-safe enough (the cache only memoises)."""

    def __init__(self, data: dict[str, Any], sha: str) -> None:
        """Build from the parsed JSON document (see :meth:`load`); raises :class:`IntentModelError` on bad shapes."""
        try:
            if data.get("format") != FORMAT:
                raise IntentModelError(f"not a Baton intent model (format {data.get('format')!r}, want {FORMAT!r})")
            self.intents: tuple[str, ...] = tuple(data["intents"])
            self.topics: tuple[str, ...] = tuple(data["topics"])
            width = len(self.intents) + len(self.topics)
            bias = [float(x) for x in data["bias"]]
            weights: dict[str, list[float]] = {}
            for feat, row in data["weights"].items():
                if len(row) != width:
                    raise IntentModelError(f"weights[{feat!r}] has {len(row)} numbers, want {width}")
                weights[str(feat)] = [float(x) for x in row]
            if len(bias) != width:
                raise IntentModelError(f"bias has {len(bias)} numbers, want {width}")
            self.thresholds: dict[str, float] = {k: float(v) for k, v in data.get("thresholds", {}).items()}
            self.data_sha: str = str(data["training_data_sha256"])
            self.trained: dict[str, Any] = dict(data.get("training", {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise IntentModelError(f"malformed intent model: {exc!r}") from exc
        self._bias = bias
        self._weights = weights
        self._n_intents = len(self.intents)
        self.sha = sha
        self._cache: OrderedDict[str, IntentScores] = OrderedDict()
        self._phrases: OrderedDict[tuple[str, str], str] = OrderedDict()

    @property
    def version(self) -> str:
        """Short sha256 of the model file, stored with each decision."""
        return self.sha[:12]

    @classmethod
    def load(cls, path: str | Path, *, fresh: bool = False) -> IntentModel:
        """Read a model file written by ``python app.py model train`` (the copy already read from the same,
        unchanged file unless ``fresh``).

        Raises:
            IntentModelError: unreadable, not JSON, wrong format or shapes.
        """
        try:
            stat = Path(path).stat()
            key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
            loaded = None if fresh else _LOADED.get(key)
            if loaded is not None:  # every rules reload and runtime shares one parsed copy (~4 MB of JSON)
                return loaded
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise IntentModelError(f"cannot read intent model {path}: {exc.strerror or exc}") from exc
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise IntentModelError(f"intent model {path} is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise IntentModelError(f"intent model {path} must be a JSON object")
        model = cls(data, hashlib.sha256(raw).hexdigest())
        if len(_LOADED) >= 4:
            _LOADED.clear()
        _LOADED[key] = model
        return model

    def logits(self, feats: list[str]) -> list[float]:
        """Bias plus the weight rows of the features that the model knows."""
        table = self._weights
        rows = [row for row in map(table.get, feats) if row is not None]
        if not rows:
            return list(self._bias)
        return [b + s for b, s in zip(self._bias, map(sum, zip(*rows, strict=True)), strict=True)]

    def score(self, text: str) -> IntentScores:
        """Score one message (cached by text)."""
        hit = self._cache.get(text)
        if hit is not None:
            self._cache.move_to_end(text)
            return hit
        toks = words(text)
        feats: list[str] = []
        for i in range(len(toks)):
            feats += word_features(toks, i)
        z = self.logits(feats)
        n = self._n_intents
        intents = {name: _sigmoid(v) for name, v in zip(self.intents, z[:n], strict=True)}
        top = max(z[n:])
        exp = [math.exp(v - top) for v in z[n:]]
        total = sum(exp)
        topics = {name: e / total for name, e in zip(self.topics, exp, strict=True)}
        scores = IntentScores(intents, topics, len(toks))
        self._cache[text] = scores
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return scores

    def score_turn(self, text: str) -> IntentScores:
        """Score a customer turn: the whole message, and each of its sentences for a person request.

        A request in one sentence of several ("Can you pass me to a colleague? It's about moving seats between
        workspaces, the docs don't cover it.") is diluted in the whole message's n-grams: ``person`` takes a
        sentence's score (three words or more) when it reaches ``SENTENCE_PERSON_AT_LEAST`` and beats the whole
        message's. Only person: the one outcome that must not be missed; a short sentence read alone is too
        little context for the other intents ("I hacked together a script." is no security incident).
        """
        whole = self.score(text)
        parts = [p for p in _SENTENCE.split(text) if len(words(p)) >= 3]
        if len(parts) < 2 or whole.intents.get("info", 0.0) >= SENTENCE_PERSON_AT_LEAST:
            return whole  # one sentence; or, read whole, an informational question (its parts are context)
        best = max(self.score(part).intents.get("person", 0.0) for part in parts)
        if best < SENTENCE_PERSON_AT_LEAST or best <= whole.intents.get("person", 0.0):
            return whole
        return IntentScores({**whole.intents, "person": best}, whole.topics, whole.n_words)

    def clear_cache(self) -> None:
        """Forget every cached score (benchmarks measure the cold path with it)."""
        self._cache.clear()
        self._phrases.clear()

    def explain(self, text: str, label: str, *, limit: int = 48) -> str:
        """The words of ``text`` that pushed ``label`` (an intent or topic) up the most, as the customer wrote them.

        Each word's share is the weight of its own features plus half of each word pair it is part of; the best
        word is widened to a neighbour whose share is also positive, so the phrase reads "live agent", not "agent".
        """
        key = (text, label)
        known = self._phrases.get(key)
        if known is not None:
            return known
        phrase = self._explain(text, label, limit)
        self._phrases[key] = phrase
        if len(self._phrases) > _CACHE_SIZE:
            self._phrases.popitem(last=False)
        return phrase

    def _explain(self, text: str, label: str, limit: int) -> str:
        column = (self.intents + self.topics).index(label)
        toks = words(text)
        if not toks:
            return ""
        table = self._weights

        def w(feat: str) -> float:
            row = table.get(feat)
            return row[column] if row is not None else 0.0

        pair = [w(f"b:{toks[i]} {toks[i + 1]}") for i in range(len(toks) - 1)]
        share = []
        for i in range(len(toks)):
            own = sum(w(f) for f in word_features(toks, i) if not f.startswith("b:"))
            share.append(own + 0.5 * ((pair[i - 1] if i > 0 else 0.0) + (pair[i] if i < len(pair) else 0.0)))
        best = max(range(len(toks)), key=share.__getitem__)
        lo = hi = best
        for _ in range(2):
            left = share[lo - 1] if lo > 0 else -1.0
            right = share[hi + 1] if hi + 1 < len(toks) else -1.0
            if max(left, right) <= 0:
                break
            if left >= right:
                lo -= 1
            else:
                hi += 1
        return _original_words(text, lo, hi, limit)


def _original_words(text: str, lo: int, hi: int, limit: int) -> str:
    """Words ``lo..hi`` (indices into :func:`words`) as written in ``text``."""
    spans: list[tuple[int, int]] = []
    for m in re.finditer("[\\w'`\u2019\u00b4]+", text):
        n = len(words(m.group()))
        spans += [(m.start(), m.end())] * n  # a written word that folds into several keeps its whole span
    if hi >= len(spans):
        return " ".join(words(text)[lo : hi + 1])[:limit]
    phrase = " ".join(text[spans[lo][0] : spans[hi][1]].split())
    return phrase if len(phrase) <= limit else phrase[: limit - 1] + "…"


def _sigmoid(v: float) -> float:
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)
