"""Customer-facing wording: a domain ``CustomerMessage`` (type, template, facts) → text and a JSON event.

Shared by the widget's SSE stream (``bot/web``) and the signed webhook (``integrations/webhooks``), so both
say exactly the same thing. Duck-typed on purpose: ``templates`` does not depend on the domain's types.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from templates import Renderer


class _Message(Protocol):
    type: str
    template: str | None
    facts: Mapping[str, Any]


def text_for(renderer: Renderer, message: _Message, locale: str, queue_labels: Mapping[str, str]) -> str:
    """The words of one message in the customer's language (English fallback)."""
    facts = dict(message.facts)
    if message.template is None:
        return str(facts.get("text", ""))
    queue = str(facts.get("queue") or "")
    facts.setdefault("team", queue_labels.get(queue, queue) if queue else None)
    return renderer.customer_text(message.template, locale, **facts)


def event_json(renderer: Renderer, *, event_id: int, handoff_id: str, at: datetime, locale: str, message: _Message,
               queue_labels: Mapping[str, str]) -> dict[str, Any]:
    """The customer event as sent over SSE and to webhooks (the format is documented in docs/customer.md)."""
    facts = {k: v for k, v in message.facts.items() if k != "text"}
    if "queue" in facts:
        q = str(facts["queue"])
        facts["team"] = queue_labels.get(q, q)
    return {"id": event_id, "type": message.type, "handoff_id": handoff_id, "at": at.isoformat(),
            "text": text_for(renderer, message, locale, queue_labels), "data": facts}
