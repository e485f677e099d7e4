"""Modal submissions: Transfer, Escalate, Resolve, Add note.

Bad input is answered in the modal itself (``response_action: errors``); valid input is acked, then the
domain call runs. The card changes through the outbox like any other change.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.slack.ids import CallbackId, Field, acknowledge
from bot.slack.services import SlackServices
from bot.slack.translate import to_escalate, to_note, to_resolve, to_transfer
from handoff.errors import InvalidCommand
from handoff.models import Actor, Surface


async def _invalid(ack: AsyncAck, exc: InvalidCommand, default: Field) -> None:
    field = str(exc.details.get("field") or default.value)
    await ack(response_action="errors", errors={field if field in set(Field) else default.value: exc.message})


def register(app: AsyncApp, s: SlackServices) -> None:
    @app.view(CallbackId.TRANSFER.value)
    async def transfer(ack: AsyncAck, body: dict[str, Any]) -> None:
        try:
            cmd = to_transfer(body)
        except InvalidCommand as exc:
            await _invalid(ack, exc, Field.QUEUE)
            return
        if cmd.to_queue is not None and cmd.to_queue not in s.config.queues:
            await ack(response_action="errors", errors={Field.QUEUE.value: f"unknown queue {cmd.to_queue}"})
            return
        await acknowledge(ack)
        to_agent = await s.people.agent_id(cmd.to_agent_user) if cmd.to_agent_user else None
        # Only an agent chosen: the handoff stays in its queue, suggested to that agent.
        to_queue = cmd.to_queue or (await s.queries.position(cmd.handoff_id))[0].queue
        await s.actions.transfer(cmd.handoff_id, await s.people.agent_id(cmd.user_id), Surface.SLACK,
                                 to_queue=to_queue, note=cmd.note, to_agent=to_agent)

    @app.view(CallbackId.ESCALATE.value)
    async def escalate(ack: AsyncAck, body: dict[str, Any]) -> None:
        try:
            cmd = to_escalate(body)
        except InvalidCommand as exc:
            await _invalid(ack, exc, Field.SUMMARY)
            return
        await acknowledge(ack)
        await s.actions.escalate(cmd.handoff_id, await s.people.agent_id(cmd.user_id), Surface.SLACK,
                                 to_tier=cmd.to_tier, form=cmd.form)

    @app.view(CallbackId.RESOLVE.value)
    async def resolve(ack: AsyncAck, body: dict[str, Any]) -> None:
        try:
            cmd = to_resolve(body)
        except InvalidCommand as exc:
            await _invalid(ack, exc, Field.NOTE)
            return
        await acknowledge(ack)
        await s.actions.resolve(cmd.handoff_id, await s.people.agent_id(cmd.user_id), Surface.SLACK,
                                note=cmd.note, outcome=cmd.outcome, kb_gap=cmd.kb_gap)

    @app.view(CallbackId.NOTE.value)
    async def note(ack: AsyncAck, body: dict[str, Any]) -> None:
        try:
            cmd = to_note(body)
        except InvalidCommand as exc:
            await _invalid(ack, exc, Field.NOTE)
            return
        await acknowledge(ack)
        await s.actions.add_note(cmd.handoff_id, Actor.agent(await s.people.agent_id(cmd.user_id)), Surface.SLACK,
                                 cmd.text)

