"""What a purge keeps: the policy for scrubbing personal text out of stored rows (see ``services/retention.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Event data values kept when they are strings: codes and ids of queues, tiers, agents — never free text.
KEPT_STRINGS = frozenset({
    "priority", "queue", "topic", "urgency", "rules_version", "suggested_agent_id", "backup_agent_id", "lead",
    "source", "assigned_to", "tier", "from_queue", "to_queue", "from_tier", "to_tier", "to_agent", "outcome",
    "status", "channel", "update", "system", "kind",
})
#: What of the intake's AI context is a metric.
KEPT_AI = ("intent", "confidence", "kb_hits")


def scrub_reasons(reasons: Any) -> list[dict[str, Any]]:
    """Decision reasons without their details (which quote the customer): code and weight, an empty detail."""
    if not isinstance(reasons, list):
        return []
    return [{"code": r.get("code"), "detail": "", "weight": r.get("weight", 1.0)} for r in reasons
            if isinstance(r, Mapping)]


def scrub_event_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """An event's data without personal text: numbers, booleans, code strings and reason codes stay."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "reasons":
            out[key] = scrub_reasons(value)
        elif isinstance(value, bool | int | float) or value is None:
            out[key] = value
        elif isinstance(value, str) and key in KEPT_STRINGS:
            out[key] = value
    return out


def scrub_ai(ai: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: ai[k] for k in KEPT_AI if ai and k in ai}
