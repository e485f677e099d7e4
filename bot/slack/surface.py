"""Slack as a :class:`~handoff.chat.surface.ChatSurface`: draws Block Kit, talks through the paced Web API calls.

No delivery rules here: which channel, when to update, bursts and fallbacks belong to
:class:`handoff.chat.delivery.CardDelivery`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.slack.calls import SlackCalls
from bot.slack.people import SURFACE, looks_like_slack_user
from bot.slack.render import SlackRenderer, mention
from handoff.cards import HandoffCard
from handoff.chat.surface import GroupView, ManagementView, Posted, Rendered, ThreadNote
from handoff.models import Agent, Handoff, Surface


class SlackSurface:
    name = SURFACE
    surface = Surface.SLACK

    def __init__(self, calls: SlackCalls, renderer: SlackRenderer, *, default_channel: str | None) -> None:
        self.calls = calls
        self.renderer = renderer
        self.default_channel = default_channel

    # ------------------------------------------------------------------ drawing
    def card(self, card: HandoffCard, agents: Mapping[str, Agent], channel: str) -> Rendered:
        return Rendered(*self.renderer.card(card, agents, channel))

    def transcript(self, card: HandoffCard) -> Rendered:
        return Rendered(*self.renderer.transcript(card))

    def thread_note(self, note: ThreadNote, agents: Mapping[str, Agent]) -> Rendered:
        who = mention(note.author_agent_id, agents) if note.author_agent_id else "the customer"
        shout = None
        if note.mention == "here":
            shout = "<!here>"
        elif note.mention:
            user = self.person(agents.get(note.mention), note.mention)
            shout = f"<@{user}>" if user else mention(note.mention, agents)
        return Rendered(*self.renderer.thread_note(note.kind, note.text, who, note.reason, shout))

    def management(self, view: ManagementView, agents: Mapping[str, Agent]) -> Rendered:
        return Rendered(*self.renderer.management(view, agents))

    def report(self, facts: Mapping[str, Any]) -> Rendered:
        return Rendered(*self.renderer.report(facts))

    def customer_messages(self, texts: Sequence[str]) -> Rendered:
        return Rendered(*self.renderer.customer_messages(texts))

    def moved(self, handoff: Handoff, permalink: str | None, to_channel: str) -> Rendered:
        return Rendered(*self.renderer.moved(handoff, permalink, to_channel))

    def group(self, view: GroupView) -> Rendered:
        return Rendered(*self.renderer.burst(view.queue, view.label, view.handoffs, view.total, view.window_seconds,
                                             view.first_at))

    def channel_broken(self, channel: str, error: str, queue_label: str, fallback: str) -> str:
        return (f":warning: Baton cannot post to <#{channel}> ({error}); cards for queue *{queue_label}* go to "
                f"<#{fallback}> until it is fixed (invite the app or unarchive the channel).")

    def person(self, agent: Agent | None, agent_id: str) -> str | None:
        if agent is not None and agent.handles.get(SURFACE):
            return agent.handles[SURFACE]
        return agent_id if looks_like_slack_user(agent_id) else None

    # ------------------------------------------------------------------ talking
    async def post(self, channel: str, message: Rendered, *, thread: str | None = None) -> Posted:
        args: dict[str, object] = {"text": message.text}
        if message.body is not None:
            args["blocks"] = message.body
        if thread is not None:
            args["thread_ts"] = thread
        else:
            args["unfurl_links"] = False
        response = await self.calls.post(channel, **args)
        return Posted(channel, str(response["ts"]))  # the configured channel: refs compare with the config

    async def update(self, at: Posted, message: Rendered) -> None:
        await self.calls.update(at.channel, at.message_id, text=message.text, blocks=message.body)

    async def permalink(self, at: Posted) -> str | None:
        return await self.calls.permalink(at.channel, at.message_id)

    async def notify(self, person: str, text: str) -> None:
        await self.calls.dm(person, text)

    def backlog_seconds(self, channel: str) -> float:
        return self.calls.pacers.post(channel).wait_for_next()
