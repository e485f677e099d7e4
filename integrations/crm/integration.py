"""The :class:`app.Integration` shape both CRMs share: destinations, an optional poller, readiness."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from integrations.crm.inbound import ClosedCasePoller


@dataclass
class CrmIntegration:
    """One configured CRM: its sync + enrichment destinations and the closed-case poller (if enabled)."""

    name: str
    destinations: Sequence[Any]
    health: Callable[[], tuple[bool, str]]
    poller: ClosedCasePoller | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def mount(self, app: Any) -> None:
        """No routes: inbound sync polls (webhooks would need a public URL and per-CRM signatures)."""

    async def start(self) -> None:
        if self.poller is not None:
            self.poller.start()

    async def stop(self) -> None:
        if self.poller is not None:
            await self.poller.stop()

    def readiness(self) -> tuple[bool, str]:
        return self.health()
