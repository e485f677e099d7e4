"""``/handoff queue | mine | next [queue] | status <s> | stats | help`` — run by the shared chat commands.

Answers are short reads, so they go back in the acknowledgement itself (shown only to the caller); this
keeps the answer on the request that asked for it and needs no ``response_url`` round trip.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.slack.ids import COMMAND
from bot.slack.services import SlackServices
from bot.slack.translate import to_command
from handoff.chat.commands import STATUSES
from handoff.models import Surface


def register(app: AsyncApp, s: SlackServices) -> None:
    @app.command(COMMAND)
    async def handoff_command(ack: AsyncAck, body: dict[str, Any]) -> None:
        cmd = to_command(body)
        agent_id = await s.people.agent_id(cmd.user_id)
        answer = await s.commands.run(cmd.name, cmd.arg, agent_id, Surface.SLACK)
        if answer.kind in ("queue", "mine"):
            await ack(response_type="ephemeral", text=answer.title,
                      blocks=s.renderer.queue_list(answer.title, answer.handoffs, answer.message or ""))
        elif answer.kind == "claimed" and answer.handoff is not None:
            await ack(response_type="ephemeral", text=f"You claimed {answer.handoff.summary or answer.handoff.id}.")
            s.home.changed()
        elif answer.kind == "status":
            s.people.invalidate()
            await ack(response_type="ephemeral", text=f"Your status is now *{answer.status}*.")
            s.home.changed()
        elif answer.kind == "refused":
            usage = f"Usage: `{COMMAND} status {'|'.join(STATUSES)}`" if answer.title == "Usage" else answer.message
            await ack(response_type="ephemeral", text=str(usage))
        elif answer.kind == "stats":
            await ack(response_type="ephemeral", text=answer.title, blocks=s.renderer.stats(answer.stats))
        else:
            await ack(response_type="ephemeral", text=f"{COMMAND} help", blocks=s.renderer.help())
