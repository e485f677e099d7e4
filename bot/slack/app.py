"""The Bolt app: listeners registered per feature and one error handler turning domain errors into ephemerals."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.listeners import actions, commands, events, modals
from bot.slack.people import People
from bot.slack.render import mention
from bot.slack.services import SlackServices
from handoff.errors import AlreadyClaimed, DomainError, NotHolder

log = logging.getLogger("baton.slack")
FEATURES = (actions, modals, commands, events)
#: Bolt's own messages that would quote a request body (Slack users' text, or 900 KB of whatever a forger sent).
_BODY_QUOTING = (("Invalid request signature detected", "Bolt refused a Slack request: invalid signature"),
                 ("Unhandled request", "Bolt found no listener for a Slack request"))


class NoRequestBodies(logging.Filter):
    """Bolt logs whole request bodies in some messages; keep the sentence, drop the body."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for prefix, replacement in _BODY_QUOTING:
            if message.startswith(prefix):
                record.msg, record.args = f"{replacement} (body not logged)", ()
        return True


def bolt_logger() -> logging.Logger:
    """The logger handed to Bolt; Bolt copies its filters to its middleware loggers (request verification)."""
    logger = logging.getLogger("baton.slack.bolt")
    if not any(isinstance(f, NoRequestBodies) for f in logger.filters):
        logger.addFilter(NoRequestBodies())
    return logger


def build_bolt_app(client: AsyncWebClient, signing_secret: str, services: SlackServices) -> AsyncApp:
    """An ``AsyncApp`` on ``client`` (so ``SLACK_API_URL`` applies), verifying request signatures."""
    app = AsyncApp(client=client, signing_secret=signing_secret, name="baton", process_before_response=False,
                   logger=bolt_logger())
    for feature in FEATURES:
        feature.register(app, services)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any], client: AsyncWebClient) -> None:
        if isinstance(error, BoltUnhandledRequestError):
            return
        if isinstance(error, DomainError):
            text = await explain(error, services.people)
        else:
            log.error("Slack listener failed", exc_info=error)
            text = ":warning: Something went wrong on Baton's side; it was logged. Please try again."
        user, channel, thread_ts = where(body)
        if user is not None:
            await tell(client, user, channel, thread_ts, text)

    return app


async def explain(error: DomainError, people: People) -> str:
    """A domain error in the words an agent should see, with people as Slack mentions."""
    holder = error.details.get("claimed_by")
    if isinstance(error, AlreadyClaimed) and isinstance(holder, str) and not error.message.startswith("you "):
        return f":no_entry: Already claimed by {mention(holder, await people.agents())}."
    if isinstance(error, NotHolder) and isinstance(holder, str):
        return (f":no_entry: Only {mention(holder, await people.agents())}, who holds the claim, can "
                f"{error.details.get('action', 'do that')}.")
    return f":no_entry: {error.message}"


def where(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(user, channel, thread ts) of an interaction, command or event, for an ephemeral answer."""
    if "event" in body:
        event = body["event"]
        return event.get("user"), event.get("channel"), event.get("thread_ts")
    if "user_id" in body:  # slash command
        return body.get("user_id"), body.get("channel_id"), None
    user = (body.get("user") or {}).get("id")
    channel = (body.get("channel") or {}).get("id")
    if channel is None and body.get("view"):
        try:
            channel = json.loads(body["view"].get("private_metadata") or "{}").get("c")
        except (json.JSONDecodeError, AttributeError):
            channel = None
    thread = (body.get("container") or {}).get("thread_ts")
    return user, channel, thread


async def tell(client: AsyncWebClient, user: str, channel: str | None, thread_ts: str | None, text: str) -> None:
    """Ephemeral in the channel when possible, else a direct message."""
    try:
        if channel:
            await client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
            return
    except SlackApiError as exc:
        log.info("ephemeral to %s in %s failed (%s); sending a DM", user, channel, exc.response.get("error"))
    try:
        await client.chat_postMessage(channel=user, text=text)
    except SlackApiError as exc:
        log.warning("could not tell %s: %s", user, exc.response.get("error"))
