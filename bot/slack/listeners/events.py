"""Events: thread replies relayed to the handoff (and, from the holder, to the customer); App Home opened.

The domain decides whether a reply reaches the customer (only the agent holding the claim, never a reply
starting with ``note:``); this listener only finds the handoff behind the thread.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.slack.services import SlackServices
from bot.slack.translate import to_thread_reply
from handoff.models import Surface


def register(app: AsyncApp, s: SlackServices) -> None:
    @app.event("message")
    async def message(event: dict[str, Any]) -> None:
        reply = to_thread_reply(event)
        if reply is None:
            return  # bot posts, edits, deletions, top-level chatter: nothing to relay
        where = f"{reply.channel_id}:{reply.thread_ts}"
        # The card's thread, or the thread of the card it replaced (reposted after a deletion, or moved).
        handoff_id = (await s.queries.handoff_for_ref("slack", "card", where)
                      or await s.queries.handoff_for_ref("slack", "card_previous", where))
        if handoff_id is None:
            return  # a thread Baton does not own
        await s.conversation.agent_reply(handoff_id, await s.people.agent_id(reply.user_id), reply.text,
                                         Surface.SLACK)

    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home" and isinstance(event.get("user"), str):
            await s.home.publish(event["user"])
