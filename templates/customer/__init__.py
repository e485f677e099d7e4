"""Customer-facing wording: a domain ``CustomerMessage`` (type, template, facts) → text and a JSON event.

Shared by the intake answer and the demo (``bot/web``), the widget's SSE stream and ``/status``, and the signed
webhook (``integrations/webhooks``), so all say exactly the same thing. Duck-typed on purpose: ``templates``
does not depend on the domain's types.

Queue names reach the customer only through :class:`QueueLabels` — one place, per locale.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import yaml

from templates import DEFAULT_LOCALE, Renderer, locale_chain

BUILTIN_LABELS = Path(__file__).resolve().parent / "queues.yaml"


class _Message(Protocol):
    type: str
    template: str | None
    facts: Mapping[str, Any]


@lru_cache(maxsize=4)
def builtin_labels(path: Path = BUILTIN_LABELS) -> Mapping[str, Mapping[str, str]]:
    """The built-in names of the default queues: ``{queue: {locale: name}}``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(q): {str(loc).lower(): str(name) for loc, name in names.items()} for q, names in data.items()}


class QueueLabels:
    """The customer-facing name of a queue in a locale.

    For a locale (tried most specific first: ``es-mx``, then ``es``): the queue's configured ``labels``; then,
    while the queue keeps its default name, the built-in translation (``queues.yaml``); then its
    ``display_name``; then its id. A queue that was renamed (``display_name: "Payments & Refunds"``) is never
    given the built-in translation of another name.

    Args:
        queues: Queue id → its configuration (anything with ``display_name`` and ``labels``), as in
            ``BatonConfig.queues``.
        builtin: ``{queue: {locale: name}}``; the bundled ``queues.yaml`` by default.
    """

    def __init__(self, queues: Mapping[str, Any] | None = None,
                 builtin: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self._builtin = builtin_labels() if builtin is None else builtin
        self._names: dict[str, str | None] = {}
        self._labels: dict[str, dict[str, str]] = {}
        for queue, cfg in (queues or {}).items():
            self._names[queue] = getattr(cfg, "display_name", None)
            own = getattr(cfg, "labels", None) or {}
            self._labels[queue] = {str(k).replace("_", "-").lower(): str(v) for k, v in own.items()}
        self._cache: dict[tuple[str, str], str] = {}

    def label(self, queue: str, locale: str = DEFAULT_LOCALE) -> str:
        """The name of ``queue`` for a customer reading ``locale``."""
        key = (queue, locale)
        if key not in self._cache:
            self._cache[key] = self._label(queue, locale)
        return self._cache[key]

    def _label(self, queue: str, locale: str) -> str:
        chain = locale_chain(locale)
        own = self._labels.get(queue, {})
        for loc in chain:
            if loc in own:
                return own[loc]
        name = self._names.get(queue)
        builtin = self._builtin.get(queue)
        if builtin is not None and (name is None or name.strip().casefold() in
                                    {queue.casefold(), builtin.get(DEFAULT_LOCALE, queue).casefold()}):
            for loc in chain:
                if loc in builtin:
                    return builtin[loc]
        return name or queue


def customer_text(renderer: Renderer, labels: QueueLabels, template: str, locale: str,
                  facts: Mapping[str, Any]) -> str:
    """Render a customer template, naming the team (``facts["queue"]``) in the language the text is in."""
    loc = renderer.customer_locale(locale)
    values = dict(facts)
    queue = values.get("queue")
    values["team"] = labels.label(str(queue), loc) if queue else None
    return renderer.customer_text(template, loc, **values)


def text_for(renderer: Renderer, message: _Message, locale: str, labels: QueueLabels) -> str:
    """The words of one message in the customer's language (English fallback)."""
    if message.template is None:
        return str(message.facts.get("text", ""))
    return customer_text(renderer, labels, message.template, locale, message.facts)


def event_json(renderer: Renderer, *, event_id: int, handoff_id: str, at: datetime, locale: str, message: _Message,
               queue_labels: QueueLabels) -> dict[str, Any]:
    """The customer event as sent over SSE and to webhooks (the format is documented in docs/customer.md)."""
    facts = {k: v for k, v in message.facts.items() if k != "text"}
    if "queue" in facts:
        facts["team"] = queue_labels.label(str(facts["queue"]), renderer.customer_locale(locale))
    return {"id": event_id, "type": message.type, "handoff_id": handoff_id, "at": at.isoformat(),
            "text": text_for(renderer, message, locale, queue_labels), "data": facts}
