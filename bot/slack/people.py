"""Slack users ↔ Baton agents, and Slack's health as seen by the deliveries (for ``/readyz``)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from handoff.chat.pacing import SurfaceHealth
from handoff.models import Agent
from handoff.services.queries import Queries

SURFACE = "slack"


def looks_like_slack_user(value: str) -> bool:
    """A Slack user id (``U…``/``W…``), as agents first seen from Slack are registered under."""
    return value[:1] in ("U", "W") and value.isalnum() and value.isupper()


class People:
    """Maps a Slack user id to an agent id: the agent whose ``handles.slack`` matches, else the user id itself
    (the domain registers it on first use). Agents are re-read at most every ``ttl`` seconds.

    With ``names`` (Slack's profile name of a user) and ``rename`` (store an agent's display name), an agent
    with no real name yet — one registered from Slack is called ``U0…`` — gets their Slack profile name the
    first time they act, so customers read "Emma", not an id. Asked once per user per process.
    """

    def __init__(self, queries: Queries, ttl: float = 2.0, *,
                 names: Callable[[str], Awaitable[str | None]] | None = None,
                 rename: Callable[[str, str], Awaitable[Any]] | None = None) -> None:
        self.queries = queries
        self.ttl = ttl
        self.names = names
        self.rename = rename
        self._at = -1e9
        self._agents: dict[str, Agent] = {}
        self._asked: set[str] = set()

    async def agents(self) -> Mapping[str, Agent]:
        if time.monotonic() - self._at > self.ttl:
            self._agents = {a.id: a for a in await self.queries.agents()}
            self._at = time.monotonic()
        return self._agents

    def invalidate(self) -> None:
        self._at = -1e9

    async def agent_id(self, slack_user: str) -> str:
        agent = next((a for a in (await self.agents()).values() if a.handles.get(SURFACE) == slack_user), None)
        if agent is None:
            agent = await self.queries.agent_by_handle(SURFACE, slack_user)  # configured since the last read
        if agent is None:
            agent = (await self.agents()).get(slack_user)  # registered on first use under the Slack id
        agent_id = agent.id if agent else slack_user
        if (agent is None or agent.public_name is None) and slack_user not in self._asked:
            await self._learn_name(slack_user, agent_id)
        return agent_id

    async def _learn_name(self, slack_user: str, agent_id: str) -> None:
        if self.names is None or self.rename is None:
            return
        self._asked.add(slack_user)
        name = await self.names(slack_user)
        if name and name != agent_id:
            await self.rename(agent_id, name)
            self.invalidate()

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
