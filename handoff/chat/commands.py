"""Commands agents type to the bot — ``queue``, ``mine``, ``next``, ``status``, ``stats``, ``help`` — once for every
surface. Slack's ``/handoff …`` and a Teams message to the bot both end here; each surface only draws the answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from handoff.errors import DomainError
from handoff.models import AgentStatus, Handoff, Surface
from handoff.services.agent_actions import AgentActions
from handoff.services.queries import Queries

COMMANDS = ("queue", "mine", "next", "status", "stats", "help")
STATUSES = tuple(s.value for s in AgentStatus)
#: One line per command, for every surface's help and the Teams app manifest (≤ 128 characters each).
COMMAND_DESCRIPTIONS: Mapping[str, str] = {
    "queue": "Waiting handoffs, most urgent first",
    "mine": "The handoffs you hold",
    "next": "Claim the most urgent waiting handoff (optionally: next <queue>)",
    "status": f"Set your status: status {'|'.join(STATUSES)} (routing uses it)",
    "stats": "Today's numbers",
    "help": "What Baton can do; in a channel it also prints the channel's id for queue mapping",
}
LIST_LIMIT = 40


@dataclass(frozen=True, slots=True)
class CommandAnswer:
    """What a command found or did, for the surface to draw.

    ``kind``: ``queue`` / ``mine`` (``handoffs``), ``claimed`` (``handoff``), ``status`` (``status``), ``stats``
    (``stats``), ``help``, or ``refused`` (``message`` says why: a usage hint, nothing waiting, …).
    """

    kind: str
    title: str
    handoffs: Sequence[Handoff] = ()
    handoff: Handoff | None = None
    status: AgentStatus | None = None
    stats: Mapping[str, Any] = field(default_factory=dict)
    message: str | None = None


def parse(text: str) -> tuple[str, str]:
    """``"status away"`` → ``("status", "away")``; empty → ``help``. Case-insensitive command names."""
    words = text.strip().split(None, 1)
    return (words[0].lower() if words else "help", words[1].strip() if len(words) > 1 else "")


Today = Callable[[], Awaitable[Mapping[str, Any]]]
"""Today's KPIs (:meth:`handoff.services.analytics.Analytics.today`): the same figures as the dashboard's."""


class ChatCommands:
    """Runs one command for an agent, tagged with the surface it came from."""

    def __init__(self, actions: AgentActions, queries: Queries, today: Today) -> None:
        self.actions = actions
        self.queries = queries
        self.today = today

    async def run(self, name: str, arg: str, agent_id: str, source: Surface) -> CommandAnswer:
        if name == "queue":
            items = await self.queries.queue(None, LIST_LIMIT)
            return CommandAnswer("queue", f"Waiting handoffs ({len(items)})", handoffs=items,
                                 message=None if items else "Nothing is waiting.")
        if name == "mine":
            items = await self.queries.held_by(agent_id, LIST_LIMIT)
            return CommandAnswer("mine", f"Your open handoffs ({len(items)})", handoffs=items,
                                 message=None if items else "You hold no open handoffs.")
        if name == "next":
            queue = arg.lower() or None
            try:
                h = await self.actions.claim_next(queue, agent_id, source)
            except DomainError as exc:
                return CommandAnswer("refused", "Nothing claimed", message=exc.message)
            return CommandAnswer("claimed", f"You claimed {h.id}", handoff=h)
        if name == "status":
            try:
                status = AgentStatus(arg.lower())
            except ValueError:
                return CommandAnswer("refused", "Usage", message=f"status {'|'.join(STATUSES)}")
            agent = await self.actions.update_agent(agent_id, {"status": status})
            return CommandAnswer("status", f"Your status is now {agent.status.value}.", status=agent.status)
        if name == "stats":
            return CommandAnswer("stats", "Today's numbers", stats=await self.today())
        return CommandAnswer("help", "Baton commands")
