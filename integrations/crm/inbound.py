"""Inbound sync (optional): a case closed in the CRM resolves its handoff, found by polling.

The poller asks the CRM for Baton cases closed since a watermark (Salesforce ``SystemModstamp``, HubSpot
``hs_lastmodifieddate``) and hands each to the domain through ``AgentActions.resolve(..., Surface.CRM)``;
:func:`handoff.crm.inbound_close` decides whether anything should change. The watermark lives in memory and
starts ``lookback`` before process start: re-reading a closed case is harmless (it is skipped as already
resolved), so a restart only costs one wider query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from handoff.crm import inbound_close
from handoff.errors import DomainError
from handoff.models import Surface
from handoff.services.common import Deps

log = logging.getLogger("baton.crm.inbound")

Fetch = Callable[[datetime], Awaitable[list[tuple[str, datetime]]]]


class ClosedCasePoller:
    """Polls one CRM every ``interval`` seconds for closed cases.

    Args:
        system: the CRM's name (for reasons and logs).
        deps: use-case dependencies (to read handoffs).
        actions: :class:`~handoff.services.agent_actions.AgentActions`.
        fetch: ``since -> [(handoff id, modified at)]`` from the adapter.
        interval: seconds between polls.
    """

    def __init__(self, system: str, deps: Deps, actions: Any, fetch: Fetch, interval: float,
                 lookback: timedelta = timedelta(hours=1)) -> None:
        self.system = system
        self.deps = deps
        self.actions = actions
        self.fetch = fetch
        self.interval = interval
        self.watermark = deps.now() - lookback
        self._task: asyncio.Task[None] | None = None
        self.resolved: list[str] = []

    async def poll_once(self) -> int:
        """One poll; returns how many handoffs it resolved."""
        rows = await self.fetch(self.watermark)
        count = 0
        for handoff_id, modified in rows:
            self.watermark = max(self.watermark, modified)
            async with self.deps.uow(read_only=True) as uow:
                h = await uow.handoffs.get(handoff_id)
            if h is None:
                continue
            decision = inbound_close(h, self.system)
            if decision.agent_id is None:
                log.info("%s case of %s closed; nothing to do: %s", self.system, handoff_id, decision.why)
                continue
            try:
                await self.actions.resolve(handoff_id, decision.agent_id, Surface.CRM, note=decision.why)
            except DomainError as exc:  # changed meanwhile (released, resolved elsewhere): the domain said no
                log.info("%s close of %s not applied: %s", self.system, handoff_id, exc)
                continue
            self.resolved.append(handoff_id)
            count += 1
        return count

    async def _loop(self) -> None:
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a CRM hiccup must not kill the loop; the next poll tries again
                log.warning("%s poll failed: %s", self.system, exc)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None and self.interval > 0:
            self._task = asyncio.create_task(self._loop(), name=f"{self.system}-poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
