"""What the Slack listeners need, bundled once by the integration (listeners hold no state of their own)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.home import HomePublisher
from bot.slack.people import People
from bot.slack.render import SlackRenderer
from handoff.config import BatonConfig
from handoff.errors import AlreadyClaimed, InvalidCommand
from handoff.models import Handoff, Surface
from handoff.services.agent_actions import AgentActions
from handoff.services.conversation import Conversation
from handoff.services.queries import Queries


@dataclass(frozen=True)
class SlackServices:
    actions: AgentActions
    queries: Queries
    conversation: Conversation
    renderer: SlackRenderer
    people: People
    home: HomePublisher
    config: BatonConfig

    async def claim_next(self, queue: str, agent_id: str) -> Handoff:
        """Claim the most urgent waiting handoff of ``queue`` (the grouped card's "Claim next").

        The order is the domain's (priority, then age); a handoff someone else claimed a moment earlier is
        skipped for the next one.
        """
        for _ in range(3):
            waiting = await self.queries.queue(queue, 10)
            if not waiting:
                break
            for h in waiting:
                try:
                    return await self.actions.claim(h.id, agent_id, Surface.SLACK)
                except AlreadyClaimed:
                    continue
        raise InvalidCommand(f"nothing is waiting in {queue}", field="queue")
