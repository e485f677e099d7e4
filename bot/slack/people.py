"""Slack users ↔ Baton agents, and Slack's health as seen by the deliveries (for ``/readyz``)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from handoff.chat.pacing import SurfaceHealth
from handoff.models import Agent
from handoff.services.queries import Queries

SURFACE = "slack"


def looks_like_slack_user(value: str) -> bool:
    """A Slack user id (``U…``/``W…``), as agents first seen from Slack are registered under."""
    return value[:1] in ("U", "W") and value.isalnum() and value.isupper()


class People:
    """Maps a Slack user id to an agent id: the agent whose ``handles.slack`` matches, else the user id itself
    (the domain registers it on first use). Agents are re-read at most every ``ttl`` seconds."""

    def __init__(self, queries: Queries, ttl: float = 2.0) -> None:
        self.queries = queries
        self.ttl = ttl
        self._at = -1e9
        self._agents: dict[str, Agent] = {}

    async def agents(self) -> Mapping[str, Agent]:
        if time.monotonic() - self._at > self.ttl:
            self._agents = {a.id: a for a in await self.queries.agents()}
            self._at = time.monotonic()
        return self._agents

    def invalidate(self) -> None:
        self._at = -1e9

    async def agent_id(self, slack_user: str) -> str:
        for agent in (await self.agents()).values():
            if agent.handles.get(SURFACE) == slack_user:
                return agent.id
        found = await self.queries.agent_by_handle(SURFACE, slack_user)  # configured since the last read
        return found.id if found else slack_user

    async def slack_user(self, agent_id: str) -> str | None:
        agent = (await self.agents()).get(agent_id)
        if agent is not None and agent.handles.get(SURFACE):
            return agent.handles[SURFACE]
        return agent_id if looks_like_slack_user(agent_id) else None


class SlackHealth(SurfaceHealth):
    """Whether Slack accepts our token (see :class:`~handoff.chat.pacing.SurfaceHealth`)."""

    def __init__(self) -> None:
        super().__init__("Slack")

    def failed(self, error: str) -> None:
        super().failed(error)
        self.detail = f"Slack rejects the bot token ({error}); deliveries are parked in the outbox"
