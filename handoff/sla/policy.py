"""Which targets apply to a handoff: built-in defaults ← ``sla.priorities`` ← ``sla.plans`` ← ``sla.queues``.

Field by field: a policy that names only ``first_response`` keeps the resolution target and cadence of the less
specific one. Every answer carries a short explanation of where its numbers came from, for cards and timelines.
"""

from __future__ import annotations

from dataclasses import dataclass

from handoff.models import Priority, Tier
from handoff.sla.config import SlaConfig, Targets, default_priorities

_FIELDS = ("first_response", "resolution", "update_every", "business_hours")


@dataclass(frozen=True, slots=True)
class ResolvedTargets:
    """The targets for one (priority, plan, queue), in seconds; ``resolution``/``update_every`` may be None (off)."""

    first_response: float
    resolution: float | None
    update_every: float | None
    business_hours: bool
    policy: str  # e.g. "high · plan enterprise · queue billing"


class SlaPolicy:
    """Resolve targets from the ``sla:`` section (see the module docstring)."""

    def __init__(self, config: SlaConfig) -> None:
        self.config = config
        self._defaults = default_priorities()

    def targets(self, priority: Priority, plan: str | None = None, queue: str | None = None) -> ResolvedTargets:
        layers: list[tuple[str, Targets | None]] = [
            ("", self._defaults.get(priority)),
            ("", self.config.priorities.get(priority)),
            (f"plan {plan}", self.config.plans.get(plan or "", {}).get(priority)),
            (f"queue {queue}", self.config.queues.get(queue or "", {}).get(priority)),
        ]
        values: dict[str, object] = {}
        named = [priority.value]
        for label, layer in layers:
            if layer is None:
                continue
            given = {f: getattr(layer, f) for f in _FIELDS if getattr(layer, f) is not None}
            if given and label:
                named.append(label)
            values.update(given)
        first = values.get("first_response")
        return ResolvedTargets(
            first_response=float(first) if isinstance(first, int | float) else 300.0,
            resolution=_seconds(values.get("resolution")), update_every=_seconds(values.get("update_every")),
            business_hours=bool(values.get("business_hours", False)), policy=" · ".join(named))

    def tier_ack(self, tier: Tier) -> float | None:
        """The acknowledgement target after an escalation to ``tier`` (None: that tier has none)."""
        return self.config.tier_ack.get(tier)

    @property
    def management_ack(self) -> float:
        return self.config.management.ack


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


__all__ = ["ResolvedTargets", "SlaPolicy"]
