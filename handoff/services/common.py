"""What every use case needs: a unit-of-work factory, a clock, the configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from handoff.config import BatonConfig
from handoff.ports import UnitOfWork


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    """The collaborators use cases share. Built once by the composition root (or a test)."""

    uow: Callable[..., UnitOfWork]
    config: BatonConfig
    clock: SystemClock = field(default_factory=SystemClock)

    def now(self) -> datetime:
        return self.clock.now()
