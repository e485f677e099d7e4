"""Timelines without the SLA engine's clock bookkeeping, for tests about the lifecycle itself.

Every commit that moves an SLA clock adds an ``sla_clock`` event (tests/store/test_sla_engine.py checks them);
tests of claims, transfers and CRM closes look at the lifecycle events around them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

BOOKKEEPING = frozenset({"sla_clock"})


def _kind(e: Any) -> str:
    kind = e["kind"] if isinstance(e, dict) else e.kind
    return str(getattr(kind, "value", kind))


def lifecycle(events: Iterable[Any]) -> list[Any]:
    """The events (domain ``Event`` s or API dicts) minus SLA clock bookkeeping, in order."""
    return [e for e in events if _kind(e) not in BOOKKEEPING]
