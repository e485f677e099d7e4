"""What the waiting customer hears, and when: pure decisions over events, state and the wait estimate.

The domain decides *which* message and with *what facts*; the edges turn ``(template, facts)`` into words
with ``templates/customer/<locale>/<template>.txt.j2``. Facts are chosen so that nothing internal reaches the
customer: no notes, no transfer or resolve notes, no routing reasons, no agent ids — only display names, the
team (queue), position and estimate, and the customer's own words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from handoff.eta import WAIT_FACT_KEYS, CustomerWait, wait_facts
from handoff.models import Event, EventKind, Handoff, Status
from handoff.ports import UpdateSchedule

CUSTOMER_KINDS: frozenset[EventKind] = frozenset({
    EventKind.CREATED, EventKind.CLAIMED, EventKind.RELEASED, EventKind.TRANSFERRED, EventKind.ESCALATED,
    EventKind.REOPENED, EventKind.RESOLVED, EventKind.CLOSED, EventKind.AGENT_MESSAGE, EventKind.CUSTOMER_MESSAGE,
    EventKind.CUSTOMER_UPDATE_SENT, EventKind.CSAT_RECEIVED, EventKind.CALLBACK_REQUESTED,
})
"""Timeline events the customer sees (rendered to customer wording). Notes and pending/resume stay internal."""

QUEUE_KINDS: frozenset[EventKind] = frozenset({
    EventKind.CREATED, EventKind.CLAIMED, EventKind.RELEASED, EventKind.TRANSFERRED, EventKind.ESCALATED,
    EventKind.REOPENED, EventKind.RESOLVED, EventKind.CLOSED,
})
"""Events that change who waits where or how many agent slots are busy: estimates of the queue move."""

WAIT_UPDATE = "wait_update"
CALLBACK_OFFER = "callback_offer"
ABOUT_CHARS = 80
"""Longest quote of the customer's first message in the agent's introduction."""


@dataclass(frozen=True, slots=True)
class CustomerMessage:
    """One thing to show the customer.

    Attributes:
        type: Stable event type for the widget and webhooks (``queued``, ``agent_joined``, ``agent_message``...).
        template: Template name under ``templates/customer/<locale>/``, or None when ``facts["text"]`` is the
            message itself (agent and customer messages).
        facts: What the wording may use; all customer-safe.
    """

    type: str
    template: str | None
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MessageContext:
    """What the service loaded to describe one event: current state, names, place in line, the wait.

    ``agent_names`` holds only names fit for the customer (:attr:`handoff.models.Agent.public_name`); an agent
    missing from it is "a specialist".
    """

    handoff: Handoff
    customer_name: str | None = None
    agent_names: Mapping[str, str] = field(default_factory=dict)
    about: str | None = None
    position: int = 0
    wait: CustomerWait | None = None


def first_name(name: str | None) -> str | None:
    return (name or "").strip().split(" ")[0] or None


def excerpt(text: str | None, limit: int = ABOUT_CHARS) -> str | None:
    """``text`` on one line, cut at a word boundary with an ellipsis when longer than ``limit`` characters.

    A single word longer than the limit (a URL, an order number) is cut inside it: there is no boundary.
    """
    flat = " ".join((text or "").split())
    if not flat:
        return None
    if len(flat) <= limit:
        return flat
    head = flat[: limit - 1]  # room for the ellipsis
    if not flat[limit - 1].isspace():  # the cut falls inside a word: back up to the last boundary
        cut = head.rfind(" ")
        head = head[:cut] if cut > 0 else head
    return head.rstrip(" ,;:.-\u2013\u2014") + "…"


def _wait_facts(position: int, wait: CustomerWait | None) -> dict[str, Any]:
    return {"position": position or None, **wait_facts(wait)}


def message_for(event: Event, ctx: MessageContext) -> CustomerMessage | None:
    """The customer's view of one timeline event, or None when the event is internal.

    Args:
        event: A stored event of ``ctx.handoff``.
        ctx: Names, position and estimate as of now (replays show current numbers, not historical ones).

    Returns:
        The message type, template and facts; None for events the customer must not see.
    """
    if event.kind not in CUSTOMER_KINDS:
        return None
    h, d = ctx.handoff, event.data
    name = first_name(ctx.customer_name)
    agent = ctx.agent_names.get(event.actor.id or "", None) if event.actor.type == "agent" else None
    queue = h.queue
    match event.kind:
        case EventKind.CREATED:
            return CustomerMessage("queued", "escalated", {"name": name, "queue": str(d.get("queue") or queue),
                                                           **_wait_facts(ctx.position, ctx.wait)})
        case EventKind.CLAIMED:
            return CustomerMessage("agent_joined", "agent_intro", {
                "name": name, "agent_name": agent or "", "queue": str(d.get("queue") or queue), "about": ctx.about})
        case EventKind.AGENT_MESSAGE:
            return CustomerMessage("agent_message", None, {"agent_name": agent or "", "text": str(d.get("text", "")),
                                                           "seq": d.get("seq")})
        case EventKind.CUSTOMER_MESSAGE:
            return CustomerMessage("customer_message", None, {"text": str(d.get("text", "")), "seq": d.get("seq")})
        case EventKind.TRANSFERRED:
            to_queue = str(d.get("to_queue") or queue)
            return CustomerMessage("transferred", "transferred", {"name": name, "queue": to_queue,
                                                                  **_wait_facts(ctx.position, ctx.wait)})
        case EventKind.RELEASED | EventKind.ESCALATED | EventKind.REOPENED:
            return CustomerMessage("requeued", "requeued", {"reason": event.kind.value, "queue": queue,
                                                            **_wait_facts(ctx.position, ctx.wait)})
        case EventKind.RESOLVED:
            return CustomerMessage("resolved", "resolved", {"name": name, "agent_name": agent or ""})
        case EventKind.CLOSED:
            return CustomerMessage("closed", "closed", {})
        case EventKind.CUSTOMER_UPDATE_SENT:
            update = str(d.get("update", WAIT_UPDATE))
            facts = {k: d.get(k) for k in ("position", *WAIT_FACT_KEYS, "waited_seconds")}  # as sent
            kind = CALLBACK_OFFER if update == CALLBACK_OFFER else WAIT_UPDATE
            return CustomerMessage(kind, kind, {"name": name, "queue": str(d.get("queue") or queue), **facts})
        case EventKind.CSAT_RECEIVED:
            return CustomerMessage("csat_received", "csat_thanks", {"score": d.get("score")})
        case EventKind.CALLBACK_REQUESTED:
            return CustomerMessage("callback_requested", "callback_confirmed", {"channel": d.get("channel")})
    return None  # pragma: no cover - every customer kind is matched above


@dataclass(frozen=True, slots=True)
class UpdatePolicy:
    """Cadence of scheduled updates: sooner when the customer is close, a callback offer once past a threshold."""

    min_interval_seconds: float = 60.0
    max_interval_seconds: float = 90.0
    long_wait_seconds: float = 600.0
    close_seconds: float = 180.0


@dataclass(frozen=True, slots=True)
class DueUpdate:
    """The scheduled update to send now, and when the next one is due."""

    update: str
    facts: Mapping[str, Any]
    next_due_at: datetime
    callback_offered: bool


def next_update(h: Handoff, row: UpdateSchedule, position: int, wait: CustomerWait | None, now: datetime,
                policy: UpdatePolicy) -> DueUpdate | None:
    """Which scheduled update a waiting customer gets now (None: not waiting any more; park the row).

    A customer who has waited past ``long_wait_seconds`` is offered a callback once; every other tick is a
    wait update (place in line and estimate). The next one comes after ``min_interval`` when the customer is
    next or close, ``max_interval`` otherwise: updates matter most at the end of the wait.
    """
    if h.status is not Status.QUEUED:
        return None
    waited = max(0.0, (now - h.created_at).total_seconds())
    if wait is None:
        close = position <= 1
    else:
        close = wait.seconds is not None and wait.seconds <= policy.close_seconds
    interval = policy.min_interval_seconds if close else policy.max_interval_seconds
    facts: dict[str, Any] = {"queue": h.queue, "waited_seconds": round(waited), **_wait_facts(position, wait)}
    offer = row.callback_offered_at is None and waited >= policy.long_wait_seconds and not close
    return DueUpdate(CALLBACK_OFFER if offer else WAIT_UPDATE, facts, now + timedelta(seconds=interval), offer)
