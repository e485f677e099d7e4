"""The logging destination: every timeline event as one log line. On by default, so a newcomer sees the flow."""

from __future__ import annotations

import logging

from handoff.models import Event
from handoff.outbox import OutboxItem

log = logging.getLogger("baton.events")


class LogDestination:
    name = "log"

    def subscribes(self, event: Event) -> bool:
        return True

    async def deliver(self, item: OutboxItem) -> None:
        p = item.payload
        data = p.get("data") or {}
        extra = " ".join(f"{k}={v}" for k, v in data.items() if k in ("queue", "priority", "to_queue", "to_tier",
                                                                       "waited_seconds", "outcome"))
        log.info("%s %s by %s via %s%s%s", p.get("handoff_id"), p.get("kind"), p.get("actor"), p.get("source"),
                 f" — {p['reason']}" if p.get("reason") else "", f" ({extra})" if extra else "")
