"""Read-side use cases: a handoff with its customer, transcript and timeline; lists; agents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handoff.cards import HandoffCard, build_card
from handoff.errors import NotFound
from handoff.models import Agent, Customer, Event, Handoff, Status
from handoff.ports import Page, TranscriptLine
from handoff.services.common import Deps


@dataclass(frozen=True, slots=True)
class HandoffView:
    handoff: Handoff
    customer: Customer | None
    transcript: Sequence[TranscriptLine]
    timeline: Sequence[Event]
    position: int


class Queries:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def handoff(self, handoff_id: str) -> HandoffView:
        async with self.deps.uow(read_only=True) as uow:
            h = await uow.handoffs.get(handoff_id)
            if h is None:
                raise NotFound(f"no handoff {handoff_id}", handoff_id=handoff_id)
            return HandoffView(
                handoff=h, customer=await uow.customers.get(h.customer_id),
                transcript=await uow.handoffs.transcript(h.id), timeline=await uow.events.for_handoff(h.id),
                position=await uow.handoffs.position(h),
            )

    async def position(self, handoff_id: str) -> tuple[Handoff, int]:
        async with self.deps.uow(read_only=True) as uow:
            h = await uow.handoffs.get(handoff_id)
            if h is None:
                raise NotFound(f"no handoff {handoff_id}", handoff_id=handoff_id)
            return h, await uow.handoffs.position(h)

    async def list(self, *, status: Status | None, queue: str | None, limit: int, cursor: str | None) -> Page:
        async with self.deps.uow(read_only=True) as uow:
            return await uow.handoffs.list(status=status, queue=queue, limit=limit, cursor=cursor)

    async def agents(self) -> Sequence[Agent]:
        async with self.deps.uow(read_only=True) as uow:
            return await uow.agents.list()

    async def card(self, handoff_id: str) -> HandoffCard:
        """The context card's facts for a chat surface (customer, AI context, trajectory, reasons, CRM links)."""
        async with self.deps.uow(read_only=True) as uow:
            h = await uow.handoffs.get(handoff_id)
            if h is None:
                raise NotFound(f"no handoff {handoff_id}", handoff_id=handoff_id)
            return build_card(h, await uow.customers.get(h.customer_id), await uow.handoffs.transcript(h.id),
                              await uow.handoffs.context(h.id), await uow.refs.for_handoff(h.id),
                              await uow.handoffs.position(h), await uow.sla.for_handoff(h.id))

    async def queue(self, queue: str | None = None, limit: int = 20) -> Sequence[Handoff]:
        """Waiting handoffs, most urgent first (priority, then age)."""
        async with self.deps.uow(read_only=True) as uow:
            return await uow.handoffs.queued(queue, limit)

    async def held_by(self, agent_id: str, limit: int = 20) -> Sequence[Handoff]:
        """The open handoffs an agent holds."""
        async with self.deps.uow(read_only=True) as uow:
            return await uow.handoffs.held_by(agent_id, limit)

    async def agent(self, agent_id: str) -> Agent | None:
        async with self.deps.uow(read_only=True) as uow:
            return await uow.agents.get(agent_id)

    async def agent_by_handle(self, surface: str, handle: str) -> Agent | None:
        """The agent a surface user id (``handles[surface]``) belongs to, if configured."""
        async with self.deps.uow(read_only=True) as uow:
            return await uow.agents.by_handle(surface, handle)

    async def handoff_for_ref(self, system: str, kind: str, external_id: str) -> str | None:
        """The handoff behind an outside id (a Slack card's ``channel:ts``), if any."""
        async with self.deps.uow(read_only=True) as uow:
            ref = await uow.refs.find(system, kind, external_id)
            return ref.handoff_id if ref else None
