"""Factories for request bodies: ``intake_body(**overrides)``."""

from __future__ import annotations

import copy
import uuid
from typing import Any

BASE: dict[str, Any] = {
    "source": "widget",
    "customer": {"name": "Sarah Chen", "email": "sarah@techcompany.com", "plan": "professional",
                 "account_value": 1188, "locale": "en", "timezone": "America/New_York", "tenure_days": 400},
    "transcript": [
        {"role": "customer", "text": "Widget not loading after WordPress update", "ts": "2026-11-22T14:30:05Z"},
        {"role": "ai", "text": "Try clearing cache.", "ts": "2026-11-22T14:30:10Z", "confidence": 0.71},
        {"role": "customer", "text": "Still broken and we launch tomorrow", "ts": "2026-11-22T14:33:00Z"},
    ],
    "ai": {"summary": "Widget broken after WP 6.3 update", "intent": "technical", "confidence": 0.52, "kb_hits": 0,
           "attempted_steps": ["Cleared cache", "Disabled plugins"], "entities": {"wp_version": "6.3"}},
}


def intake_body(**overrides: Any) -> dict[str, Any]:
    body = copy.deepcopy(BASE)
    body["conversation_id"] = f"conv_{uuid.uuid4().hex[:12]}"
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body
