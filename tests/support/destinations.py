"""Test destinations that record what they were sent (and can be told to fail)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from handoff.models import Event
from handoff.outbox import OutboxItem, PermanentFailure, RetryLater


@dataclass
class RecordingDestination:
    """Idempotent on the item's key, like a well-behaved receiver; ``received`` counts every attempt."""

    name: str = "recorder"
    delivered: dict[str, OutboxItem] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    received: Counter[str] = field(default_factory=Counter)
    failures: list[Exception] = field(default_factory=list)
    delay: float = 0.0

    def subscribes(self, event: Event) -> bool:
        return True

    async def deliver(self, item: OutboxItem) -> None:
        self.received[item.idempotency_key] += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            raise self.failures.pop(0)
        if item.idempotency_key not in self.delivered:
            self.delivered[item.idempotency_key] = item
            self.order.append(item.idempotency_key)

    def kinds_for(self, handoff_id: str) -> list[str]:
        return [self.delivered[k].kind for k in self.order if self.delivered[k].handoff_id == handoff_id]


__all__ = ["PermanentFailure", "RecordingDestination", "RetryLater"]
