"""Messages between the customer and the agent who holds the handoff.

A reply reaches the customer only when it comes from the agent holding the claim and is not marked as a
note (``note:``); anything else becomes an internal note on the timeline. A customer message wakes a
handoff that was waiting on the customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from handoff import lifecycle
from handoff.checks import clean_text
from handoff.errors import IllegalTransition, InvalidCommand, NotFound
from handoff.models import Actor, ActorType, Event, EventKind, Handoff, Status, Surface
from handoff.ports import TranscriptLine, UnitOfWork
from handoff.services.common import Deps

NOTE_PREFIX = "note:"
MAX_MESSAGE_CHARS = 10_000


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    """What became of an agent's reply: sent to the customer, or kept as an internal note (and why)."""

    event: Event
    to_customer: bool
    why_internal: str | None = None


class Conversation:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @staticmethod
    async def _locked(uow: UnitOfWork, handoff_id: str) -> Handoff:
        h = await uow.handoffs.lock(handoff_id)
        if h is None:
            raise NotFound(f"no handoff {handoff_id}", handoff_id=handoff_id)
        return h

    async def agent_reply(self, handoff_id: str, agent_id: str, text: str, source: Surface) -> ReplyOutcome:
        """An agent writes in the handoff's thread. Only the holder speaks to the customer."""
        text = _clean(text)
        async with self.deps.uow() as uow:
            h = await self._locked(uow, handoff_id)
            now = self.deps.now()
            await uow.agents.ensure(agent_id, now)
            why = None
            if text.lower().startswith(NOTE_PREFIX):
                why, text = "marked as a note", text[len(NOTE_PREFIX):].strip() or text
            elif h.status not in (Status.CLAIMED, Status.PENDING_CUSTOMER):
                why = f"the handoff is {h.status.value}; claim it to reply to the customer"
            elif h.claimed_by != agent_id:
                why = f"only {h.claimed_by}, who holds the claim, speaks to the customer"
            if why is not None:
                event = replace(lifecycle.note(h, Actor.agent(agent_id), source, now, text), reason=why)
                uow.record(event)
                ids = await uow.commit()
                return ReplyOutcome(replace(event, id=ids[0]), False, why)
            seq = await uow.handoffs.append_message(h.id, role="agent", text=text, at=now, author=agent_id)
            event = Event(handoff_id=h.id, kind=EventKind.AGENT_MESSAGE, actor=Actor.agent(agent_id), source=source,
                          at=now, data={"seq": seq, "text": text})
            uow.record(event)
            ids = await uow.commit()
            return ReplyOutcome(replace(event, id=ids[0]), True)

    async def customer_message(self, handoff_id: str, text: str, source: Surface = Surface.WIDGET) -> Event:
        """The customer writes while a human handles (or will handle) their conversation."""
        text = _clean(text)
        async with self.deps.uow() as uow:
            h = await self._locked(uow, handoff_id)
            if h.status is Status.CLOSED:
                raise IllegalTransition("this conversation is closed; start a new one", handoff_id=h.id)
            now = self.deps.now()
            seq = await uow.handoffs.append_message(h.id, role="customer", text=text, at=now, author=None)
            event = Event(handoff_id=h.id, kind=EventKind.CUSTOMER_MESSAGE, actor=Actor(ActorType.CUSTOMER),
                          source=source, at=now, data={"seq": seq, "text": text})
            uow.record(event)
            if h.status is Status.PENDING_CUSTOMER:
                tr = lifecycle.resume(h, Actor(ActorType.CUSTOMER), source, now, "the customer answered")
                await uow.handoffs.save(tr.after, h.version)
                uow.record(tr.event)
            ids = await uow.commit()
            return replace(event, id=ids[0])

    async def messages_after(self, handoff_id: str, after_seq: int) -> Sequence[TranscriptLine]:
        async with self.deps.uow(read_only=True) as uow:
            return await uow.handoffs.messages_after(handoff_id, after_seq)


def _clean(text: str) -> str:
    text = clean_text(text).strip()
    if not text:
        raise InvalidCommand("a message needs some text", field="text")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidCommand(f"a message is limited to {MAX_MESSAGE_CHARS} characters", field="text")
    return text
