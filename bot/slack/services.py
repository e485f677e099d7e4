"""What the Slack listeners need, bundled once by the integration (listeners hold no state of their own)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.home import HomePublisher
from bot.slack.people import People
from bot.slack.render import SlackRenderer
from handoff.chat.commands import ChatCommands
from handoff.config import BatonConfig
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
    commands: ChatCommands
