"""The chat-surface port: what card delivery needs from Slack, Teams or any later surface.

A surface *draws* (turns the domain's facts into its own payloads: Block Kit, Adaptive Cards) and *talks*
(posts, updates, threads, permalinks, direct notices). Everything about *what* to send *when* — which channel a
queue uses, where a card lives, whether a change needs an update, burst grouping, broken channels — is
:class:`handoff.chat.delivery.CardDelivery`'s, written once for every surface.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from handoff.cards import HandoffCard, SlaView
from handoff.models import Agent, Handoff, Surface


class ChannelUnavailable(Exception):
    """The channel cannot take messages (archived, deleted, the app removed from it)."""

    def __init__(self, channel: str, error: str) -> None:
        super().__init__(f"{channel}: {error}")
        self.channel, self.error = channel, error


class MessageGone(Exception):
    """The message to update or reply to no longer exists (deleted by someone)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def digest(body: Any) -> str:
    """A stable fingerprint of a payload: equal digests mean the card already shows exactly this."""
    return hashlib.sha1(json.dumps(body, sort_keys=True, default=str).encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message drawn for one surface: its notification/fallback ``text`` and its ``body`` (blocks, a card)."""

    text: str
    body: Any

    @property
    def digest(self) -> str:
        return digest(self.body)


@dataclass(frozen=True, slots=True)
class Posted:
    """Where a message lives on its surface: the channel and the message id (Slack ``ts``, Teams activity id)."""

    channel: str
    message_id: str

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.message_id}"


@dataclass(frozen=True, slots=True)
class ThreadNote:
    """One line in a card's thread: a customer message, an agent's message, a note, a reply kept internal."""

    kind: str  # customer_message | agent_message | note_added | kept_internal | sla_warning | sla_breached
    text: str
    author_agent_id: str | None
    reason: str | None = None
    mention: str | None = None  # sla_*: "here", or the agent id whose surface handle to mention (the queue lead)


@dataclass(frozen=True, slots=True)
class ManagementView:
    """The management card: why it escalated, the handoff form, the customer, and the acknowledgement.

    ``form`` holds the latest tier escalation's form (summary, steps_taken, hypothesis, customer_impact), empty
    when the handoff was never escalated by an agent; ``ack`` is the management acknowledgement clock's view.
    """

    handoff: Handoff
    customer_name: str
    plan: str
    account_value: float
    triggers: Sequence[tuple[str, str]]
    form: Mapping[str, Any]
    ack: SlaView | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    card_link: str | None


@dataclass(frozen=True, slots=True)
class GroupView:
    """The grouped card of a burst: how many arrived, and the handoffs it stands for (newest state)."""

    queue: str
    label: str
    handoffs: Sequence[Handoff]
    total: int
    window_seconds: float
    first_at: datetime


class ChatSurface(Protocol):
    """One chat surface (Slack, Teams): draws payloads and talks to the platform.

    Talking methods raise :class:`ChannelUnavailable`, :class:`MessageGone`, or the outbox's
    ``RetryLater``/``PermanentFailure`` (rate limits, outages, bad requests), already mapped from the platform.
    """

    name: str  # the outbox destination and the external-ref system ("slack", "teams")
    surface: Surface
    default_channel: str | None

    def card(self, card: HandoffCard, agents: Mapping[str, Agent], channel: str) -> Rendered:
        """The context card for ``channel``."""
        ...

    def transcript(self, card: HandoffCard) -> Rendered:
        """The full transcript, posted once in the card's thread."""
        ...

    def thread_note(self, note: ThreadNote, agents: Mapping[str, Agent]) -> Rendered: ...

    def customer_messages(self, texts: Sequence[str]) -> Rendered:
        """Several customer messages of one handoff as one thread post (a flood coalesced)."""
        ...

    def moved(self, handoff: Handoff, permalink: str | None, to_channel: str) -> Rendered:
        """What the old card says after a transfer moved the handoff to another channel."""
        ...

    def group(self, view: GroupView) -> Rendered: ...

    def management(self, view: ManagementView, agents: Mapping[str, Agent]) -> Rendered:
        """The management card (posted to ``sla.management.channels[<surface>]``) with its Acknowledge button."""
        ...

    def report(self, facts: Mapping[str, Any]) -> Rendered:
        """The daily operations report or the weekly trend (:mod:`handoff.services.reports`), from
        ``templates/reports/``."""
        ...

    def channel_broken(self, channel: str, error: str, queue_label: str, fallback: str) -> str:
        """The notice to the queue lead when ``channel`` cannot take cards (plain text in the surface's markup)."""
        ...

    def person(self, agent: Agent | None, agent_id: str) -> str | None:
        """The surface's user id for an agent (to notify them), if known."""
        ...

    async def post(self, channel: str, message: Rendered, *, thread: str | None = None) -> Posted:
        """Post to a channel, or into the thread of message id ``thread`` there."""
        ...

    async def update(self, at: Posted, message: Rendered) -> None: ...

    async def permalink(self, at: Posted) -> str | None: ...

    async def notify(self, person: str, text: str) -> None:
        """A direct message to one person."""
        ...

    def backlog_seconds(self, channel: str) -> float:
        """How long the next post to ``channel`` would wait under the surface's pacing (0: free now)."""
        ...
