"""Card buttons: Claim, Release, Claim next act at once; Transfer, Escalate, Resolve, Add note open a modal.

Every listener acks first (Slack wants an answer within 3 seconds), then translates and calls the domain.
Domain errors (already claimed, not the holder…) reach the user through the app's one error handler.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.ids import ActionId, CallbackId, acknowledge
from bot.slack.services import SlackServices
from bot.slack.translate import to_click
from handoff.models import Surface

MODALS = {ActionId.TRANSFER: CallbackId.TRANSFER, ActionId.ESCALATE: CallbackId.ESCALATE,
          ActionId.RESOLVE: CallbackId.RESOLVE, ActionId.NOTE: CallbackId.NOTE}


def register(app: AsyncApp, s: SlackServices) -> None:
    @app.action(ActionId.CLAIM.value)
    async def claim(ack: AsyncAck, body: dict[str, Any]) -> None:
        await acknowledge(ack)
        click = to_click(body)
        await s.actions.claim(str(click.ref.handoff_id), await s.people.agent_id(click.user_id), Surface.SLACK)

    @app.action(ActionId.RELEASE.value)
    async def release(ack: AsyncAck, body: dict[str, Any]) -> None:
        await acknowledge(ack)
        click = to_click(body)
        await s.actions.release(str(click.ref.handoff_id), await s.people.agent_id(click.user_id), Surface.SLACK,
                                "released from Slack")

    @app.action(ActionId.ACKNOWLEDGE.value)
    async def acknowledge_escalation(ack: AsyncAck, body: dict[str, Any]) -> None:
        """The management card's button: stops the management acknowledgement clock (once; later clicks are told
        who acknowledged)."""
        await acknowledge(ack)
        click = to_click(body)
        await s.actions.acknowledge(str(click.ref.handoff_id), await s.people.agent_id(click.user_id), Surface.SLACK)

    @app.action(ActionId.CLAIM_NEXT.value)
    async def claim_next(ack: AsyncAck, body: dict[str, Any]) -> None:
        await acknowledge(ack)
        click = to_click(body)
        await s.actions.claim_next(str(click.ref.queue), await s.people.agent_id(click.user_id), Surface.SLACK)

    async def open_modal(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await acknowledge(ack)
        click = to_click(body)
        handoff, _ = await s.queries.position(str(click.ref.handoff_id))
        queues = [(q, s.config.label(q)) for q in s.config.queues]
        view = s.renderer.modal(MODALS[click.action], handoff, click.channel_id, queues=queues)
        await client.views_open(trigger_id=str(click.trigger_id), view=view)

    for action in MODALS:
        app.action(action.value)(open_modal)
