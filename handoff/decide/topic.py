"""Which specialist topic a conversation belongs to: the AI's intent when it names one, else word scores."""

from __future__ import annotations

from handoff.contract import ConversationIn
from handoff.decide.analysis import Evidence
from handoff.decide.rules import Rules, intent_key
from handoff.models import Reason


def choose_topic(rules: Rules, ev: Evidence, conv: ConversationIn) -> tuple[str, Reason]:
    """Pick technical | billing | account | sales | general.

    ``ai.intent`` decides when it maps to a topic (``topics.lexicon.<topic>.intents``). Otherwise every
    customer message and the AI summary are scored against each topic's terms (strong terms and topical
    cues such as a refund request weigh more); the best score wins, ties go by ``topics.tie_order``, and
    no evidence at all means ``general``.

    Args:
        rules: the validated rules.
        ev: the conversation's evidence.
        conv: the conversation (for ``ai.intent``).

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
        return "general", Reason("topic.default", "no topic words found → general", 0.0)
    total = sum(scores.values())
    shown = ", ".join(f"{t} {s:g}" for t, s in sorted(scores.items(), key=lambda kv: -kv[1]) if s > 0)
    return best, Reason("topic.lexicon", f"topic words: {shown} → {best}", round(scores[best] / total, 2))
