"""Inbound sync (optional): a case closed in the CRM resolves its handoff, found by polling.

The poller asks the CRM for Baton cases closed since a watermark (Salesforce ``SystemModstamp``, HubSpot
``hs_lastmodifieddate``) and hands each to the domain through ``AgentActions.resolve(..., Surface.CRM)``;
:func:`handoff.crm.inbound_close` decides whether anything should change. The watermark is a database row
(``watermarks``, name ``crm:<system>``) with a lease: the process's one scheduler runs :meth:`ClosedCasePoller.tick`
every ``interval`` seconds in every process, and only one process polls per interval. The watermark advances
after the cases it covers were handled, so a crash re-reads (harmless: a resolved handoff is skipped) and never
skips. The first poll starts ``lookback`` before now.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from handoff.crm import inbound_close
from handoff.errors import DomainError
from handoff.models import Surface
from handoff.services.common import Deps

log = logging.getLogger("baton.crm.inbound")

Fetch = Callable[[datetime], Awaitable[list[tuple[str, datetime]]]]
LEASE_SECONDS = 120.0


class ClosedCasePoller:
    """Polls one CRM for closed cases (see the module docstring).

    Args:
        system: the CRM's name (for reasons and logs).
        deps: use-case dependencies (to read handoffs, and the watermark row).
        actions: :class:`~handoff.services.agent_actions.AgentActions`.
        fetch: ``since -> [(handoff id, modified at)]`` from the adapter.
        interval: seconds between polls (across all processes).
    """

    def __init__(self, system: str, deps: Deps, actions: Any, fetch: Fetch, interval: float,
                 lookback: timedelta = timedelta(hours=1)) -> None:
        self.system = system
        self.deps = deps
        self.actions = actions
        self.fetch = fetch
        self.interval = interval
        self.lookback = lookback
        self.name = f"crm:{system}"
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"[:100]
        self.resolved: list[str] = []
        self.polls = 0

    async def tick(self) -> int:
        """The scheduled poll: skipped when another process polled within ``interval`` or is polling now."""
        return await self._poll(every=self.interval * 0.9)

    async def poll_once(self) -> int:
        """One poll now (whatever the interval); returns how many handoffs it resolved."""
        return await self._poll(every=0.0)

    async def _poll(self, every: float) -> int:
        now = self.deps.now()
        async with self.deps.uow() as uow:
            since = await uow.watermarks.claim(self.name, self.owner, now, initial=now - self.lookback,
                                               lease_seconds=LEASE_SECONDS, every_seconds=every)
            await uow.commit()
        if since is None:
            return 0
        newest = since
        count = 0
        try:
            self.polls += 1
            rows = await self.fetch(since)
            for handoff_id, modified in rows:
                if await self._apply(handoff_id):
                    count += 1
                newest = max(newest, modified)
        finally:  # advance only over what was handled; on an error the lease is given up at the old watermark
            async with self.deps.uow() as uow:
                await uow.watermarks.advance(self.name, self.owner, newest, self.deps.now())
                await uow.commit()
        return count

    async def _apply(self, handoff_id: str) -> bool:
        async with self.deps.uow(read_only=True) as uow:
            h = await uow.handoffs.get(handoff_id)
        if h is None:
            return False
        decision = inbound_close(h, self.system)
        if decision.agent_id is None:
            log.info("%s case of %s closed; nothing to do: %s", self.system, handoff_id, decision.why)
            return False
        try:
            await self.actions.resolve(handoff_id, decision.agent_id, Surface.CRM, note=decision.why)
        except DomainError as exc:  # changed meanwhile (released, resolved elsewhere): the domain said no
            log.info("%s close of %s not applied: %s", self.system, handoff_id, exc)
            return False
        self.resolved.append(handoff_id)
        return True
