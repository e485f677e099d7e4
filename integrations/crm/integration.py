"""The :class:`app.Integration` shape both CRMs share: destinations, an optional poller, readiness."""

from __future__ import annotations

import asyncio
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
    #: One cheap authenticated call, blocking (run in a thread): returns what the CRM said, raises if it did not.
    check: Callable[[float], str] | None = None

    def mount(self, app: Any) -> None:
        """No routes: inbound sync polls (webhooks would need a public URL and per-CRM signatures)."""

    async def start(self) -> None:
        """Nothing to start: the poller is a tick on the process's scheduler (registered when built)."""

    async def stop(self) -> None:
        """Nothing to stop (the scheduler stops its ticks)."""

    def readiness(self) -> tuple[bool, str]:
        return self.health()

    async def probe(self, seconds: float) -> tuple[bool, str]:
        """(answered, what it said) for the start-up report; a short timeout, never a credential in the text."""
        if self.check is None:
            return True, "not checked"
        try:
            return True, await asyncio.wait_for(asyncio.to_thread(self.check, seconds), seconds + 1)
        except TimeoutError:
            return False, f"no answer within {seconds:g} s"
        except Exception as exc:  # a typed CRM error or a transport error: its message names no secret
            return False, str(exc) or type(exc).__name__
