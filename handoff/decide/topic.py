"""Which specialist topic a conversation belongs to: the AI's intent when it names one, else word scores."""

from __future__ import annotations

from handoff.contract import ConversationIn
from handoff.decide.analysis import Evidence
from handoff.decide.rules import Rules, intent_key
from handoff.decide.triggers import ModelReading
from handoff.models import Reason


def choose_topic(
    rules: Rules, ev: Evidence, conv: ConversationIn, reading: ModelReading | None = None
) -> tuple[str, Reason]:
    """Pick technical | billing | account | sales | general.

    ``ai.intent`` decides when it maps to a topic (``topics.lexicon.<topic>.intents``). Otherwise every
    customer message and the AI summary are scored against each topic's terms (strong terms and topical
    cues such as a refund request weigh more); the best score wins, ties go by ``topics.tie_order``, and
    no topic word at all hands over to the intent model's topic head (its word-weighted mean over the
    customer's messages, when it reaches ``intent_model.topic_at_least``), else ``general``.

    Args:
        rules: the validated rules.
        ev: the conversation's evidence.
        conv: the conversation (for ``ai.intent``).
        reading: the intent model's scores of the customer's messages, when configured.

    Returns:
        The topic and the reason it was chosen.
    """
    if conv.ai.intent:
        topic = rules.compiled.intents.get(intent_key(conv.ai.intent))
        if topic is not None:
            return topic, Reason("topic.intent", f"AI intent '{conv.ai.intent}' → {topic}", 1.0)
    tp = rules.topics
    cue_topics = {name: (cue.topic, cue.topic_weight) for name, cue in rules.cues.items() if cue.topic}
    scores: dict[str, float] = dict.fromkeys(tp.lexicon, 0.0)

    def count(category: str, negated: bool, factor: float) -> None:
        if category.startswith("topic:"):
            key, weight = category[6:], 1.0
        elif category.startswith("topic+:"):
            key, weight = category[7:], tp.strong_weight
        elif category in cue_topics and not negated:
            key, weight = cue_topics[category]
        else:
            return
        scores[key] = scores.get(key, 0.0) + weight * factor

    for turn in ev.customer:
        for hit in turn.hits:
            count(hit.category, hit.negated, 1.0)
    for hit in ev.summary_hits:
        count(hit.category, hit.negated, tp.summary_weight)
    order: dict[str, int] = {t: i for i, t in enumerate(tp.tie_order)}
    best = max(scores, key=lambda t: (scores[t], -order.get(t, len(order))), default="general")
    if scores.get(best, 0.0) <= 0:
        modelled = _model_topic(rules, ev, reading)
        if modelled is not None:
            return modelled
        return "general", Reason("topic.default", "no topic words found → general", 0.0)
    total = sum(scores.values())
    shown = ", ".join(f"{t} {s:g}" for t, s in sorted(scores.items(), key=lambda kv: -kv[1]) if s > 0)
    return best, Reason("topic.lexicon", f"topic words: {shown} → {best}", round(scores[best] / total, 2))


def _model_topic(rules: Rules, ev: Evidence, reading: ModelReading | None) -> tuple[str, Reason] | None:
    im = rules.intent_model
    if reading is None or im is None or not reading.scores:
        return None
    totals: dict[str, float] = {}
    weight = 0
    for scores in reading.scores:
        n = max(1, scores.n_words)
        weight += n
        for name, p in scores.topics.items():
            totals[name] = totals.get(name, 0.0) + n * p
    best = max(totals, key=totals.__getitem__)
    p = totals[best] / weight
    if p < im.topic_at_least or best not in rules.topic_queues:
        return None
    turn, _ = max(zip(ev.customer, reading.scores, strict=True), key=lambda ts: ts[1].topics.get(best, 0.0))
    phrase = reading.model.explain(turn.clean, best)
    return best, Reason("topic.model", f"intent model: {best} {p:.2f} ('{phrase}')", round(p, 2))
