"""Read-side use cases: a handoff with its customer, transcript and timeline; lists; agents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
