"""Paced Slack Web API calls with Slack's errors mapped to what the outbox understands.

* ``429`` → :class:`RetryLater` with ``Retry-After`` (per lane for ``chat.postMessage``, whose limit is per
  channel; destination-wide for ``chat.update``/``views.publish``, whose tiers are per workspace), and the
  pacer is pushed back so no other call hammers meanwhile.
* ``invalid_auth``/``token_revoked``/``account_inactive`` → a long destination-wide pause, readiness fails.
* channel gone (``channel_not_found``, ``is_archived``, ``not_in_channel``) → :class:`ChannelUnavailable`;
  message gone (``message_not_found``, ``invalid_thread_ts``…) → :class:`MessageGone`; callers recover.
* 5xx and network errors → :class:`RetryLater`; anything else → :class:`PermanentFailure`.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.pacing import Pacer, Pacers
from bot.slack.people import SlackHealth
from handoff.chat.pacing import take_slot
from handoff.chat.surface import ChannelUnavailable, MessageGone
from handoff.outbox import PermanentFailure, RetryLater

log = logging.getLogger("baton.slack")

TOKEN_ERRORS = frozenset({"invalid_auth", "token_revoked", "account_inactive", "not_authed", "token_expired"})
CHANNEL_ERRORS = frozenset({"channel_not_found", "is_archived", "not_in_channel", "is_inactive"})
MESSAGE_ERRORS = frozenset({"message_not_found", "invalid_thread_ts", "thread_not_found", "cant_update_message"})
TOKEN_PAUSE_SECONDS = 60.0  # how long deliveries park after Slack rejected the token


class SlackCalls:
    """The Web API methods the card destination uses, each paced and error-mapped."""

    def __init__(self, client: AsyncWebClient, health: SlackHealth, pacers: Pacers | None = None) -> None:
        self.client = client
        self.health = health
        self.pacers = pacers or Pacers()
        self.token_pause = TOKEN_PAUSE_SECONDS

    async def _call(self, method: str, pacer: Pacer | None, scope: str, where: str | None, args: dict[str, Any],
                    *, form: bool = False) -> Any:
        if pacer is not None:
            await take_slot((pacer,), scope, "Slack")
        try:
            # Write methods take JSON bodies; read methods (getPermalink) only form/query arguments.
            response = await (self.client.api_call(method, params=args) if form
                              else self.client.api_call(method, json=args))
        except SlackApiError as exc:
            raise self._map(exc, method, pacer, scope, where) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise RetryLater(f"{method}: {type(exc).__name__}: {exc}") from exc
        self.health.succeeded()
        return response

    def _map(self, exc: SlackApiError, method: str, pacer: Pacer | None, scope: str, channel: str | None
             ) -> Exception:
        status = exc.response.status_code
        error = str(exc.response.get("error") or "unknown_error")
        if status == 429:
            retry_after = float(exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
                                or 1)
            if pacer is not None:
                pacer.penalize(retry_after)
            log.warning("Slack rate-limited %s; retrying after %s s", method, retry_after)
            return RetryLater(f"{method}: rate limited", retry_after=retry_after, scope=scope, spend_attempt=False)
        if error in TOKEN_ERRORS:
            self.health.failed(error)
            # Park the whole destination; each failed probe doubles the pause (up to an hour) so that a long
            # outage spends few delivery attempts before an operator fixes the token.
            pause = min(3600.0, self.token_pause * 2 ** max(0, self.health.failures - 1))
            log.error("Slack rejected the bot token on %s: %s; pausing deliveries %.0f s", method, error, pause)
            return RetryLater(f"{method}: {error}", retry_after=pause, scope="destination")
        if error in CHANNEL_ERRORS and channel is not None:
            return ChannelUnavailable(channel, error)
        if error in MESSAGE_ERRORS:
            return MessageGone(error)
        if status >= 500 or error in ("fatal_error", "internal_error", "service_unavailable", "request_timeout"):
            return RetryLater(f"{method}: HTTP {status} {error}")
        return PermanentFailure(f"{method}: {error}")

    async def user_name(self, user: str) -> str | None:
        """The name a Slack user shows (profile display name, else real name); None when Slack will not say.

        Only to name an agent to customers, so a failure is logged and answered with None, never raised.
        """
        try:
            r = await self._call("users.info", None, "users", None, {"user": user}, form=True)
        except (RetryLater, PermanentFailure, MessageGone, ChannelUnavailable) as exc:
            log.warning("users.info failed, the agent keeps their current name: %s", exc)
            return None
        profile = (r.get("user") or {}).get("profile") or {}
        for key in ("display_name", "real_name"):
            name = str(profile.get(key) or "").strip()
            if name:
                return name
        return None

    async def post(self, channel: str, **kwargs: Any) -> Any:
        """``chat.postMessage`` (paced per channel)."""
        return await self._call("chat.postMessage", self.pacers.post(channel), "lane", channel,
                                {"channel": channel, **kwargs})

    async def update(self, channel: str, ts: str, **kwargs: Any) -> Any:
        """``chat.update`` (Tier 3, paced per workspace)."""
        return await self._call("chat.update", self.pacers.update, "destination", channel,
                                {"channel": channel, "ts": ts, **kwargs})

    async def permalink(self, channel: str, ts: str) -> str | None:
        try:
            response = await self._call("chat.getPermalink", None, "lane", channel,
                                        {"channel": channel, "message_ts": ts}, form=True)
        except (ChannelUnavailable, MessageGone, PermanentFailure):
            return None
        return str(response.get("permalink") or "") or None

    async def dm(self, user: str, text: str) -> None:
        """A direct message (``chat.postMessage`` to a user id opens the app's DM)."""
        await self._call("chat.postMessage", self.pacers.post(user), "lane", user, {"channel": user, "text": text})

    async def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        """``views.publish`` (Tier 4, paced per workspace)."""
        await self._call("views.publish", self.pacers.publish, "destination", None,
                         {"user_id": user_id, "view": view})
