"""``/handoff queue | mine | status <s> | stats | help``.

Answers are short reads, so they go back in the acknowledgement itself (shown only to the caller); this
keeps the answer on the request that asked for it and needs no ``response_url`` round trip.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.slack.home import start_of_day
from bot.slack.ids import COMMAND
from bot.slack.services import SlackServices
from bot.slack.translate import to_command
from handoff.models import AgentStatus

STATUSES = ", ".join(s.value for s in AgentStatus)


def register(app: AsyncApp, s: SlackServices) -> None:
    @app.command(COMMAND)
    async def handoff_command(ack: AsyncAck, body: dict[str, Any]) -> None:
        cmd = to_command(body)
        agent_id = await s.people.agent_id(cmd.user_id)
        if cmd.name == "queue":
            items = await s.queries.queue(None, 40)
            await ack(response_type="ephemeral", text=f"{len(items)} waiting",
                      blocks=s.renderer.queue_list(f"Waiting handoffs ({len(items)})", items, "Nothing is waiting."))
        elif cmd.name == "mine":
            items = await s.queries.held_by(agent_id, 40)
            await ack(response_type="ephemeral", text=f"You hold {len(items)}",
                      blocks=s.renderer.queue_list(f"Your open handoffs ({len(items)})", items,
                                                   "You hold no open handoffs."))
        elif cmd.name == "status":
            try:
                status = AgentStatus(cmd.arg.lower())
            except ValueError:
                await ack(response_type="ephemeral", text=f"Usage: `{COMMAND} status {STATUSES.replace(', ', '|')}`")
                return
            agent = await s.actions.update_agent(agent_id, {"status": status})
            s.people.invalidate()
            await ack(response_type="ephemeral", text=f"Your status is now *{agent.status.value}*.")
            s.home.changed()
        elif cmd.name == "stats":
            stats = await s.queries.stats(start_of_day(s.actions.deps.now()))
            await ack(response_type="ephemeral", text="Today's numbers", blocks=s.renderer.stats(stats))
        else:
            await ack(response_type="ephemeral", text=f"{COMMAND} help", blocks=s.renderer.help())
