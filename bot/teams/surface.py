"""Teams as a :class:`~handoff.chat.surface.ChatSurface`: draws Adaptive Cards, talks through the Bot Connector.

No delivery rules here: which channel, when to update, bursts and fallbacks belong to
:class:`handoff.chat.delivery.CardDelivery`. A "channel" is a Teams conversation id (a channel's
``19:…@thread.tacv2``, or ``user:<AAD object id>`` for a person's chat with the bot).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from microsoft_agents.activity import Activity, Attachment

from bot.teams.calls import TeamsCalls
from bot.teams.render import CARD_CONTENT_TYPE, TeamsRenderer, who
from handoff.cards import HandoffCard
from handoff.chat.surface import GroupView, ManagementView, Posted, Rendered, ThreadNote
from handoff.config import BatonConfig
from handoff.models import Agent, Handoff, Surface

SURFACE = "teams"
MAX_REFRESH_USERS = 60  # Adaptive Cards refresh at most 60 listed users automatically


def person_key(handle: str) -> str:
    """Where a person's 1:1 chat with the bot is remembered (captured when they installed the app)."""
    return f"user:{handle}"


def to_activity(message: Rendered) -> Activity:
    """A message activity: the Adaptive Card as an attachment, or plain text when the message has no card."""
    if message.body is None:
        return Activity(type="message", text=message.text)
    return Activity(type="message", summary=message.text[:200],
                    attachments=[Attachment(content_type=CARD_CONTENT_TYPE, content=message.body)])


class TeamsSurface:
    name = SURFACE
    surface = Surface.TEAMS

    def __init__(self, calls: TeamsCalls, renderer: TeamsRenderer, config: BatonConfig, *,
                 default_channel: str | None) -> None:
        self.calls = calls
        self.renderer = renderer
        self.config = config
        self.default_channel = default_channel

    # ------------------------------------------------------------------ drawing
    def queues(self) -> list[tuple[str, str]]:
        return [(q, self.config.label(q)) for q in self.config.queues]

    def card(self, card: HandoffCard, agents: Mapping[str, Agent], channel: str) -> Rendered:
        # Everyone who may act in this queue gets the card refreshed to their own view when they look at it.
        viewers = sorted(a.handles[SURFACE] for a in agents.values() if a.handles.get(SURFACE))
        return self.card_for(card, agents, refresh_users=viewers[:MAX_REFRESH_USERS])

    def card_for(self, card: HandoffCard, agents: Mapping[str, Agent], *, refresh_users: Sequence[str] = (),
                 viewer: str | None = None, notice: str | None = None) -> Rendered:
        """The card as ``viewer`` (an agent id) sees it — the answer to a refresh or an action."""
        return self.renderer.card(card, agents, queues=self.queues(), queue_label=self.config.label(card.handoff.queue),
                                  refresh_users=refresh_users, viewer=viewer, notice=notice)

    def transcript(self, card: HandoffCard) -> Rendered:
        return self.renderer.transcript(card)

    def thread_note(self, note: ThreadNote, agents: Mapping[str, Agent]) -> Rendered:
        author = who(note.author_agent_id, agents) if note.author_agent_id else "the customer"
        texts = [note.text]
        at = None
        if note.mention == "here":
            # Bots cannot @channel in every tenant (it needs the team's channel-mention permission): say it.
            texts = ["Everyone in this channel: please look.", note.text]
        elif note.mention:
            agent = agents.get(note.mention)
            handle = agent.handles.get(SURFACE) if agent is not None else None
            if handle:
                at = (who(note.mention, agents), handle)
            else:
                texts = [f"@{who(note.mention, agents)}", note.text]
        return self.renderer.thread_note(note.kind, texts, author, note.reason, at)

    def management(self, view: ManagementView, agents: Mapping[str, Agent]) -> Rendered:
        return self.renderer.management(view, agents)

    def report(self, facts: Mapping[str, Any]) -> Rendered:
        return self.renderer.report(facts)

    def customer_messages(self, texts: Sequence[str]) -> Rendered:
        return self.renderer.thread_note("customer_message", texts, "the customer", None)

    def moved(self, handoff: Handoff, permalink: str | None, to_channel: str) -> Rendered:
        return self.renderer.moved(handoff, permalink, self.config.label(handoff.queue))

    def group(self, view: GroupView) -> Rendered:
        return self.renderer.group(view)

    def channel_broken(self, channel: str, error: str, queue_label: str, fallback: str) -> str:
        return (f"Baton cannot post to the Teams conversation {channel} ({error}); cards for queue {queue_label} go "
                f"to {fallback} until it is fixed (add the Baton app to that channel again).")

    def person(self, agent: Agent | None, agent_id: str) -> str | None:
        handle = agent.handles.get(SURFACE) if agent is not None else None
        return person_key(handle) if handle else None

    # ------------------------------------------------------------------ talking
    async def post(self, channel: str, message: Rendered, *, thread: str | None = None) -> Posted:
        return Posted(channel, await self.calls.send(channel, to_activity(message), thread=thread))

    async def update(self, at: Posted, message: Rendered) -> None:
        await self.calls.update(at.channel, at.message_id, to_activity(message))

    async def permalink(self, at: Posted) -> str | None:
        return f"https://teams.microsoft.com/l/message/{quote(at.channel, safe='')}/{quote(at.message_id, safe='')}"

    async def notify(self, person: str, text: str) -> None:
        await self.calls.send(person, Activity(type="message", text=text))

    def backlog_seconds(self, channel: str) -> float:
        return self.calls.backlog_seconds(channel)
