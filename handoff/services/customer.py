"""The waiting customer's use cases: who may look, what they see, and what they may do.

Access is the handoff's ``customer_token`` (compared in constant time), valid until the resolution plus a
grace period. Everything the customer reads goes through :func:`handoff.updates.message_for`, which keeps
internal notes, routing reasons and agent ids out.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from handoff.errors import IllegalTransition, InvalidCommand, NotFound, Unauthorized
from handoff.eta import CustomerWait
from handoff.models import Actor, ActorType, Agent, Event, EventKind, Handoff, Status, Surface
from handoff.ports import Csat, FeedEvent, UnitOfWork
from handoff.services.common import Deps
from handoff.services.conversation import Conversation
from handoff.services.waits import WaitTimes
from handoff.updates import CUSTOMER_KINDS, QUEUE_KINDS, CustomerMessage, MessageContext, excerpt, message_for

_DUMMY_TOKEN = b"x" * 43
_KINDS = sorted(k.value for k in CUSTOMER_KINDS)
NAMES_TTL = 5.0  # seconds an agent's new display name may take to reach customers
_FEED_KINDS = sorted(k.value for k in CUSTOMER_KINDS | QUEUE_KINDS)
CALLBACK_CHANNELS = ("callback", "email")
MAX_COMMENT = 2000


@dataclass(frozen=True, slots=True)
class CustomerEvent:
    """A timeline event as the customer sees it; ``id`` is the event id (the SSE id)."""

    id: int
    at: datetime
    locale: str
    message: CustomerMessage


@dataclass(frozen=True, slots=True)
class MessageLine:
    seq: int
    role: str
    text: str
    at: datetime | None
    author_name: str | None


@dataclass(frozen=True, slots=True)
class StatusView:
    """The customer's status page: state, place in line, the wait, who is helping, new messages.

    ``agent_name`` is the helping agent's public name, None when unclaimed *or* when no real name is known
    (``claimed_by`` tells the two apart).
    """

    handoff: Handoff
    position: int
    wait: CustomerWait | None
    agent_name: str | None
    messages: Sequence[MessageLine]
    last_event_id: int
    rated: bool
    callback_requested: bool


def public_names(agents: Sequence[Agent]) -> dict[str, str]:
    """Agent id → the name a customer may see; agents known only by an id are left out ("a specialist")."""
    return {a.id: name for a in agents if (name := a.public_name) is not None}


class CustomerSide:
    """The customer's use cases: authorize by token, status, the customer-facing timeline, messages, CSAT,
    callbacks. The wait always comes from :meth:`WaitTimes.customer_wait_in`."""

    def __init__(self, deps: Deps, waits: WaitTimes, conversation: Conversation) -> None:
        self.deps = deps
        self.waits = waits
        self.conversation = conversation
        self._public: tuple[float, dict[str, str]] = (-1e9, {})

    @property
    def grace(self) -> timedelta:
        return timedelta(hours=self.deps.config.customer_token_grace_hours)

    async def authorize(self, handoff_id: str, token: str | None) -> Handoff:
        """The handoff, if ``token`` is its customer token and it has not expired.

        Raises:
            Unauthorized: no token, a wrong one, an unknown handoff (not told apart, so ids cannot be probed),
                or a conversation that ended more than the grace period ago.
        """
        if not token:
            raise Unauthorized("send the customer token as 'Authorization: Bearer <token>' or '?token='")
        async with self.deps.uow(read_only=True) as uow:
            h = await uow.handoffs.get(handoff_id)
        expected = h.customer_token.encode() if h else _DUMMY_TOKEN
        if not hmac.compare_digest(token.encode(), expected) or h is None:
            raise Unauthorized("unknown handoff or token")
        if h.status in (Status.RESOLVED, Status.CLOSED):
            ended = h.resolved_at or h.closed_at or h.updated_at  # fail closed if a timestamp is missing
            if self.deps.now() >= ended + self.grace:
                raise Unauthorized("this conversation has ended; its token expired")
        return h

    async def _context(self, uow: UnitOfWork, h: Handoff) -> MessageContext:
        customer = await uow.customers.get(h.customer_id)
        names = await self._names(uow)
        first = next((m.text for m in await uow.handoffs.messages_after(h.id, -1, limit=20) if m.role == "customer"),
                     None)
        position = await uow.handoffs.position(h)
        wait = await self.waits.customer_wait_in(uow, h, position, customer.timezone if customer else None)
        return MessageContext(handoff=h, customer_name=customer.name if customer else None, agent_names=names,
                              about=excerpt(first), position=position, wait=wait)

    @staticmethod
    def _render(events: Sequence[Event], ctx: MessageContext) -> list[CustomerEvent]:
        out = []
        for e in events:
            msg = message_for(e, ctx)
            if msg is not None and e.id is not None:
                out.append(CustomerEvent(e.id, e.at, ctx.handoff.locale, msg))
        return out

    async def events_after(self, handoff_id: str, after_id: int, limit: int = 200) -> list[CustomerEvent]:
        """Customer-facing events after ``after_id`` (the SSE ``Last-Event-ID``), oldest first."""
        async with self.deps.uow(read_only=True) as uow:
            h = await uow.handoffs.get(handoff_id)
            if h is None:
                raise NotFound(f"no handoff {handoff_id}", handoff_id=handoff_id)
            events = await uow.customer_side.events_after(handoff_id, after_id, _KINDS, limit)
            if not events:
                return []
            return self._render(events, await self._context(uow, h))

    async def changes_after(self, after_id: int, limit: int = 500) -> Sequence[FeedEvent]:
        """Committed events after ``after_id`` that a waiting customer's stream cares about, any handoff, by id.

        One short read for every stream of the process (the SSE change feed), whoever committed them.
        """
        async with self.deps.uow(read_only=True) as uow:
            return await uow.customer_side.feed_after(after_id, _FEED_KINDS, limit)

    async def latest_event_id(self) -> int:
        """Where a change feed starts: the newest committed event id."""
        async with self.deps.uow(read_only=True) as uow:
            return await uow.customer_side.last_event_id()

    async def event(self, event_id: int) -> tuple[Handoff, CustomerEvent] | None:
        """One event as the customer sees it (for webhook delivery, by id), with the handoff's current state."""
        async with self.deps.uow(read_only=True) as uow:
            e = await uow.customer_side.event(event_id)
            h = await uow.handoffs.get(e.handoff_id) if e else None
            if e is None or h is None or e.kind not in CUSTOMER_KINDS:
                return None
            rendered = self._render([e], await self._context(uow, h))
            return (h, rendered[0]) if rendered else None

    async def status(self, handoff: Handoff | str, after_seq: int = -1) -> StatusView:
        """State, place in line, estimate, agent name, and messages after ``after_seq``.

        ``handoff``: the one the token check just read (no second read), or its id. What a state cannot show is
        not read: the customer's time zone only while it waits, agents' names only with an agent in it, the
        rating only once it is over; the timeline's last event and any call-back request in one query.
        """
        async with self.deps.uow(read_only=True) as uow:
            h = handoff if isinstance(handoff, Handoff) else await uow.handoffs.get(handoff)
            if h is None:
                raise NotFound(f"no handoff {handoff}", handoff_id=str(handoff))
            position = await uow.handoffs.position(h)
            wait = None
            if h.status is Status.QUEUED:
                customer = await uow.customers.get(h.customer_id)
                wait = await self.waits.customer_wait_in(uow, h, position, customer.timezone if customer else None)
            messages = [m for m in await uow.handoffs.messages_after(h.id, after_seq)
                        if m.role in ("customer", "ai", "agent")]
            authors = {m.author for m in messages if m.role == "agent" and m.author} | (
                {h.claimed_by} if h.claimed_by else set())
            names = await self._names(uow, authors) if authors else {}
            lines = [MessageLine(m.seq, m.role, m.text, m.ts, names.get(m.author or "", None) if m.role == "agent"
                                 else None) for m in messages]
            last_id, callback = await uow.customer_side.timeline_mark(h.id, _KINDS, EventKind.CALLBACK_REQUESTED.value)
            rated = h.status in (Status.RESOLVED, Status.CLOSED) and await uow.customer_side.csat(h.id) is not None
        return StatusView(
            handoff=h, position=position, wait=wait,
            agent_name=names.get(h.claimed_by) if h.claimed_by else None, messages=lines,
            last_event_id=last_id, rated=rated, callback_requested=callback)

    async def _names(self, uow: UnitOfWork, wanted: set[str] | None = None) -> dict[str, str]:
        """Agents' public names, read at most once per ``NAMES_TTL`` seconds per process (they rarely change),
        and again when one of ``wanted`` is missing (an agent created since)."""
        at, names = self._public
        if time.monotonic() - at > NAMES_TTL or (wanted and not wanted <= names.keys()):
            names = public_names(await uow.agents.list())
            self._public = (time.monotonic(), names)
        return names

    async def send_message(self, handoff_id: str, text: str) -> Event:
        """The customer writes; the agent's thread (Slack/Teams) gets it through the outbox."""
        return await self.conversation.customer_message(handoff_id, text, Surface.WIDGET)

    async def rate(self, handoff_id: str, score: int, comment: str | None) -> Event:
        """Record the customer's satisfaction (1-5) once, after resolution.

        Raises:
            InvalidCommand: score outside 1-5, comment too long.
            IllegalTransition: not resolved yet, or already rated.
        """
        if not 1 <= score <= 5:
            raise InvalidCommand("score must be 1 to 5", field="score")
        comment = (comment or "").strip() or None
        if comment and len(comment) > MAX_COMMENT:
            raise InvalidCommand(f"a comment is limited to {MAX_COMMENT} characters", field="comment")
        async with self.deps.uow() as uow:
            h = await uow.handoffs.lock(handoff_id)
            if h is None:
                raise NotFound(f"no handoff {handoff_id}", handoff_id=handoff_id)
            if h.status not in (Status.RESOLVED, Status.CLOSED):
                raise IllegalTransition("a rating is taken once the conversation is resolved", handoff_id=h.id)
            now = self.deps.now()
            if not await uow.customer_side.add_csat(Csat(h.id, score, comment, now)):
                raise IllegalTransition("this conversation was already rated", handoff_id=h.id)
            event = Event(handoff_id=h.id, kind=EventKind.CSAT_RECEIVED, actor=Actor(ActorType.CUSTOMER),
                          source=Surface.WIDGET, at=now, data={"score": score, "comment": comment})
            uow.record(event)
            ids = await uow.commit()
        return replace(event, id=ids[0])

    async def request_callback(self, handoff_id: str, channel: str, contact: str | None,
                               note: str | None) -> tuple[Event, bool]:
        """The customer would rather be called back or emailed than wait. Idempotent: (event, created).

        The event reaches the agents' card through the outbox, with the contact the customer gave.
        """
        if channel not in CALLBACK_CHANNELS:
            raise InvalidCommand(f"channel must be one of {', '.join(CALLBACK_CHANNELS)}", field="channel")
        async with self.deps.uow() as uow:
            h = await uow.handoffs.lock(handoff_id)
            if h is None:
                raise NotFound(f"no handoff {handoff_id}", handoff_id=handoff_id)
            if not h.is_open:
                raise IllegalTransition(f"the conversation is {h.status.value}", handoff_id=h.id)
            earlier = await uow.customer_side.events_after(h.id, 0, [EventKind.CALLBACK_REQUESTED.value], 1)
            if earlier:
                return earlier[0], False
            event = Event(handoff_id=h.id, kind=EventKind.CALLBACK_REQUESTED, actor=Actor(ActorType.CUSTOMER),
                          source=Surface.WIDGET, at=self.deps.now(),
                          data={"channel": channel, "contact": contact, "note": note})
            uow.record(event)
            ids = await uow.commit()
        return replace(event, id=ids[0]), True
