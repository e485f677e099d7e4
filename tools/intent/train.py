"""Train the intent model: ``python app.py model train`` (pure Python, deterministic, no extra dependency).

Reads every ``*.jsonl`` training file (``{"text", "lang", "intents": [...], "topic"}`` per line), builds the
features of :mod:`handoff.decide.intent` (plus a seeded typo'd copy of about a third of the lines),
fits one-vs-rest logistic heads for the intents and a softmax head
for the topic with Adagrad SGD (L2, fixed seed), picks each intent's threshold on a held-out tenth of the
training lines (never on the test split), refits on everything and writes the JSON weights file with the
sha256 of the training data. Weights below ``prune`` are dropped to keep the file small.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from handoff.decide.intent import FORMAT, features

INTENTS = ("person", "complaint", "refund", "payment", "cancel", "security", "legal", "info")
TOPICS = ("technical", "billing", "account", "sales", "general")
MIN_RECALL = {"person": 0.99}  # the worst miss: a customer asking for a person and not getting one


def read_rows(paths: Sequence[Path]) -> tuple[list[dict[str, Any]], str]:
    """All labelled lines of ``paths`` and the sha256 of their bytes (in the given order)."""
    digest = hashlib.sha256()
    rows: list[dict[str, Any]] = []
    for path in paths:
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw)
        for n, line in enumerate(raw.decode().splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            bad = [i for i in row.get("intents", []) if i not in INTENTS]
            if not isinstance(row.get("text"), str) or bad or row.get("topic") not in (*TOPICS, None):
                raise ValueError(f"{path}:{n}: needs text, intents from {INTENTS}, topic from {TOPICS}")
            rows.append(row)
    return rows, digest.hexdigest()


def fit(rows: list[dict[str, Any]], *, epochs: int = 12, lr: float = 0.3, l2: float = 1e-5,
        seed: int = 14) -> tuple[list[float], dict[str, list[float]]]:
    """Adagrad SGD over (features, intents, topic) rows; returns bias and weight rows."""
    ni, width = len(INTENTS), len(INTENTS) + len(TOPICS)
    counts = Counter(f for r in rows for f in set(features(r["text"])))
    data = []
    for r in rows:
        feats = [f for f in features(r["text"]) if counts[f] >= 2]
        y = [1.0 if name in r["intents"] else 0.0 for name in INTENTS]
        topic = TOPICS.index(r["topic"]) if r.get("topic") else -1
        data.append((feats, y, topic))
    weights: dict[str, list[float]] = {}
    accum: dict[str, list[float]] = {}
    bias, bias_acc = [0.0] * width, [1e-8] * width
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(data)
        for feats, y, topic in data:
            rows_ = [weights.setdefault(f, [0.0] * width) for f in feats]
            z = [b + sum(col) for b, col in zip(bias, zip(*rows_, strict=True), strict=True)] if rows_ else list(bias)
            g = [_sigmoid(z[k]) - y[k] for k in range(ni)]
            if topic >= 0:
                top = max(z[ni:])
                e = [math.exp(v - top) for v in z[ni:]]
                s = sum(e)
                g += [e[k] / s - (1.0 if k == topic else 0.0) for k in range(len(TOPICS))]
            else:
                g += [0.0] * len(TOPICS)
            bias_acc[:] = [a + gk * gk for a, gk in zip(bias_acc, g, strict=True)]
            bias[:] = [b - lr * gk / math.sqrt(a) for b, gk, a in zip(bias, g, bias_acc, strict=True)]
            for f, row in zip(feats, rows_, strict=True):
                acc = accum.setdefault(f, [1e-8] * width)
                grad = [gk + l2 * w for gk, w in zip(g, row, strict=True)]
                acc[:] = [a + gk * gk for a, gk in zip(acc, grad, strict=True)]
                row[:] = [w - lr * gk / math.sqrt(a) for w, gk, a in zip(row, grad, acc, strict=True)]
    return bias, weights


_NEAR = {  # neighbouring keys on QWERTY/QWERTZ/AZERTY, for typos a hand makes
    "a": "qsz", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj", "i": "uo", "j": "hk",
    "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o", "q": "wa", "r": "et", "s": "ad", "t": "ry",
    "u": "yi", "v": "cb", "w": "qe", "x": "zc", "y": "tu", "z": "xa"}


def typo(text: str, rng: random.Random) -> str:
    """``text`` with one or two slips of the hand: a letter dropped, doubled, swapped or hit beside."""
    chars = list(text)
    for _ in range(rng.choice((1, 1, 2))):
        spots = [i for i, ch in enumerate(chars) if ch.isalpha()]
        if len(spots) < 4:
            break
        i = rng.choice(spots[1:-1])
        kind = rng.random()
        if kind < 0.3:
            del chars[i]
        elif kind < 0.5:
            chars.insert(i, chars[i])
        elif kind < 0.75 and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            near = _NEAR.get(chars[i].lower())
            if near:
                chars[i] = rng.choice(near)
    return "".join(chars)


def augment(rows: list[dict[str, Any]], rate: float = 0.35, seed: int = 3) -> list[dict[str, Any]]:
    """The rows plus a typo'd copy of about ``rate`` of them (fixed seed): the model meets slips it was never
    shown ("custmer servce", "reembolzo") as neighbours of what it knows."""
    rng = random.Random(seed)
    out = list(rows)
    for r in rows:
        if len(r["text"]) >= 8 and rng.random() < rate:
            out.append({**r, "text": typo(r["text"], rng)})
    return out


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def _probs(bias: list[float], weights: dict[str, list[float]], text: str) -> list[float]:
    rows_ = [weights[f] for f in features(text) if f in weights]
    z = [b + sum(col) for b, col in zip(bias, zip(*rows_, strict=True), strict=True)] if rows_ else list(bias)
    return [_sigmoid(v) for v in z[: len(INTENTS)]]


def thresholds(bias: list[float], weights: dict[str, list[float]], dev: list[dict[str, Any]]) -> dict[str, float]:
    """Per intent, the threshold with the best F1 on ``dev`` (lowered until MIN_RECALL when one is set)."""
    scored = [(_probs(bias, weights, r["text"]), set(r["intents"])) for r in dev]
    out: dict[str, float] = {}
    for k, name in enumerate(INTENTS):
        best, ties = -1.0, [0.5]
        for t in [x / 100 for x in range(50, 96, 5)]:
            tp = sum(1 for p, y in scored if p[k] >= t and name in y)
            fp = sum(1 for p, y in scored if p[k] >= t and name not in y)
            fn = sum(1 for p, y in scored if p[k] < t and name in y)
            recall = tp / (tp + fn) if tp + fn else 1.0
            f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
            if recall >= MIN_RECALL.get(name, 0.0) and f1 > best + 1e-9:
                best, ties = f1, [t]
            elif recall >= MIN_RECALL.get(name, 0.0) and abs(f1 - best) <= 1e-9:
                ties.append(t)
        out[name] = max(0.5, ties[len(ties) // 2])  # the middle of the best plateau; never below even odds
    return out


def train(paths: Sequence[Path], out: Path, *, prune: float = 0.02) -> dict[str, Any]:
    """Train on ``paths`` and write the model to ``out``; returns a summary for the command line."""
    rows, data_sha = read_rows(paths)
    rng = random.Random(7)
    shuffled = rows[:]
    rng.shuffle(shuffled)
    cut = len(shuffled) // 10
    dev, fit_rows = shuffled[:cut], shuffled[cut:]
    b0, w0 = fit(augment(fit_rows))
    th = thresholds(b0, w0, dev)
    bias, weights = fit(augment(rows))
    kept = {f: [round(x, 4) for x in row] for f, row in sorted(weights.items()) if max(map(abs, row)) >= prune}
    doc = {
        "format": FORMAT,
        "intents": list(INTENTS),
        "topics": list(TOPICS),
        "thresholds": th,
        "bias": [round(x, 4) for x in bias],
        "training_data_sha256": data_sha,
        "training": {"files": [p.name for p in paths], "lines": len(rows), "features": len(kept)},
        "weights": kept,
    }
    out.write_text(json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    return {"lines": len(rows), "features": len(kept), "thresholds": th, "data_sha256": data_sha, "out": str(out)}


def write_generated(path: Path) -> int:
    """Write the template-expanded paraphrases (:mod:`tools.intent.paraphrases`) to ``path``."""
    from tools.intent.paraphrases import rows as generated

    held_out = {json.loads(x)["text"].casefold() for t in path.parent.glob("test*.jsonl")
                for x in t.read_text(encoding="utf-8").splitlines() if x.strip()}
    # A generated line that happens to equal a test line is left out: the test splits stay unseen.
    lines = [json.dumps(r, ensure_ascii=False) for r in generated() if str(r["text"]).casefold() not in held_out]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)
