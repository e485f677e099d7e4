"""Paced Bot Connector calls by stored conversation reference, with the connector's errors mapped for the outbox.

* References come from the database (``chat_references``: captured when the app was installed or added to a
  conversation); a channel without one → :class:`ChannelUnavailable` (``not_installed``), so delivery falls back.
* Pacing per conversation follows Teams' documented limits (7 messages per second, 60 per 30 s, 1,800 per hour per
  conversation; 30 requests per second per app — msteams-docs ``bots/how-to/rate-limit.md``).
* ``429`` → :class:`RetryLater` with ``Retry-After`` for that conversation (the pacer is pushed back too);
  ``412`` → retried shortly; ``401``/no token → a destination-wide pause and degraded readiness;
  ``403``/``404`` on a post → the conversation is gone (:class:`ChannelUnavailable`), ``404`` on an update → the
  message is gone (:class:`MessageGone`); 5xx and network errors → :class:`RetryLater`; anything else →
  :class:`PermanentFailure`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from microsoft_agents.activity import Activity

from bot.teams.adapter import Conversation, TeamsBot
from bot.teams.credentials import TokenUnavailable
from handoff.chat.pacing import Pacer, SurfaceHealth, take_slot
from handoff.chat.surface import ChannelUnavailable, MessageGone
from handoff.outbox import PermanentFailure, RetryLater

log = logging.getLogger("baton.teams")

#: (rate per second, burst). A bucket of burst B refilled at r allows B + r·T calls in any T seconds, and the
#: connector counts arrivals, which network jitter can bunch up, so each bucket keeps a margin under its window:
#: 7 in 1 s and 8 in 2 s → (1/s, 6) — tolerates up to ~1 s of jitter; 1,800 an hour → (0.47/s, 100).
PER_CONVERSATION = ((1.0, 6.0), (0.47, 100.0))
#: 30 requests per second per app → 10 at once, then 15/s (≤ 27 in any second with 0.2 s of jitter).
PER_APP = (15.0, 10.0)
TOKEN_PAUSE_SECONDS = 60.0
References = Callable[[str], Awaitable[Mapping[str, Any] | None]]


def thread_id(channel: str, root: str) -> str:
    """The conversation id of a channel message's reply chain."""
    return f"{channel};messageid={root}"


class TeamsCalls:
    """Send / reply / update through :class:`TeamsBot`, paced, by the conversation references in the database."""

    def __init__(self, bot: TeamsBot, references: References, health: SurfaceHealth,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bot = bot
        self.references = references
        self.health = health
        self.clock = clock
        self._conversations: dict[str, tuple[Pacer, ...]] = {}
        self.app = Pacer(*PER_APP, clock=clock)

    def pacers(self, channel: str) -> tuple[Pacer, ...]:
        found = self._conversations.get(channel)
        if found is None:
            found = self._conversations[channel] = tuple(Pacer(r, b, clock=self.clock) for r, b in PER_CONVERSATION)
        return found

    def backlog_seconds(self, channel: str) -> float:
        return max(p.wait_for_next() for p in (*self.pacers(channel), self.app))

    async def _conversation(self, channel: str, thread: str | None) -> Conversation:
        stored = await self.references(channel)
        if stored is None:
            raise ChannelUnavailable(channel, "not_installed")
        conversation = Conversation.from_json_to_store_item(dict(stored))
        if thread is not None:
            conversation.conversation_reference.conversation.id = thread_id(channel, thread)
        return conversation

    async def send(self, channel: str, activity: Activity, *, thread: str | None = None) -> str:
        """Post to a channel (or a personal chat), or into the reply chain of message ``thread``; the new id."""
        conversation = await self._conversation(channel, thread)
        await take_slot((*self.pacers(channel), self.app), "lane", "Teams")
        try:
            sent = await self.bot.send(conversation, activity)
        except Exception as exc:
            raise self._map(exc, "send", channel) from exc
        self.health.succeeded()
        if not sent.id:
            raise RetryLater("Teams send: the connector returned no activity id")
        return str(sent.id)

    async def update(self, channel: str, activity_id: str, activity: Activity) -> None:
        conversation = await self._conversation(channel, None)
        await take_slot((*self.pacers(channel), self.app), "lane", "Teams")
        try:
            await self.bot.update(conversation, activity_id, activity)
        except Exception as exc:
            raise self._map(exc, "update", channel) from exc
        self.health.succeeded()

    def _map(self, exc: Exception, op: str, channel: str) -> Exception:
        if isinstance(exc, TokenUnavailable):
            return self._token_failure(op, str(exc))
        if isinstance(exc, aiohttp.ClientResponseError):
            status, text = exc.status, (exc.message or "")[:200]
            retry_after = float((exc.headers or {}).get("Retry-After") or 1)
            if status == 429:
                # Push the next slot past Retry-After on the per-second bucket only: penalizing the hourly bucket
                # too would throw away its allowance and hold the conversation at 0.47/s for minutes.
                self.pacers(channel)[0].penalize(retry_after)
                log.warning("Teams throttled a %s; retrying after %s s", op, retry_after)
                return RetryLater(f"Teams {op}: throttled", retry_after=retry_after, scope="lane", spend_attempt=False)
            if status == 412:
                return RetryLater(f"Teams {op}: precondition failed, retrying", retry_after=retry_after, scope="lane",
                                  spend_attempt=False)
            if status == 401:
                return self._token_failure(op, "unauthorized")
            if status in (403, 404):
                code = "conversation_not_found" if status == 404 else "bot_not_in_conversation"
                if op == "update" and status == 404:
                    return MessageGone("activity_not_found")
                return ChannelUnavailable(channel, code)
            if status >= 500:
                return RetryLater(f"Teams {op}: HTTP {status}")
            return PermanentFailure(f"Teams {op}: HTTP {status} {text}")
        if isinstance(exc, ChannelUnavailable | MessageGone | RetryLater | PermanentFailure):
            return exc
        if isinstance(exc, TimeoutError | aiohttp.ClientError | OSError):
            return RetryLater(f"Teams {op}: {type(exc).__name__}")
        return exc

    def _token_failure(self, op: str, error: str) -> RetryLater:
        self.health.failed(error)
        pause = min(3600.0, TOKEN_PAUSE_SECONDS * 2 ** max(0, self.health.failures - 1))
        log.error("Teams refused the bot's credentials on %s (%s); pausing deliveries %.0f s", op, error, pause)
        return RetryLater(f"Teams {op}: {error}", retry_after=pause, scope="destination")
