"""State of the fake Bot Connector: conversations, the activities the bot sent, faults and Teams' throttling windows.

Throttling follows the Teams documentation (MicrosoftDocs/msteams-docs
``msteams-platform/bots/how-to/rate-limit.md``, "Per bot per thread limit"): per conversation, *Send to conversation*
and *Create conversation* allow at most 7 operations in 1 s, 8 in 2 s, 60 in 30 s and 1800 in 3600 s. The same page
gives a global limit of 30 requests per second per app per tenant. Beyond a limit Teams answers ``429`` with code
``Throttled`` and a ``Retry-After`` header (msteams-docs ``msteams-platform/bots/build-conversational-capability.md``,
"Status codes from bot conversational APIs"); the same table gives the codes used for a conversation the bot can no
longer reach (403 ``BotNotInConversationRoster`` / ``ConversationBlockedByUser``, 404 ``ConversationNotFound``, and
the transient 412 ``PreconditionFailed``).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CREATE_WINDOWS",
    "GLOBAL_WINDOWS",
    "REMOVALS",
    "SEND_WINDOWS",
    "ConnectorCall",
    "ConnectorError",
    "Conversation",
    "Fault",
    "SentActivity",
    "SlidingWindows",
]

#: (seconds, operations) — "Per bot per thread limit", Send to conversation.
SEND_WINDOWS: tuple[tuple[float, int], ...] = ((1, 7), (2, 8), (30, 60), (3600, 1800))
#: (seconds, operations) — "Per bot per thread limit", Create conversation.
CREATE_WINDOWS: tuple[tuple[float, int], ...] = ((1, 7), (2, 8), (30, 60), (3600, 1800))
#: (seconds, operations) — "The global limit per app per tenant is 30 Requests Per Second".
GLOBAL_WINDOWS: tuple[tuple[float, int], ...] = ((1, 30),)

#: Why a conversation is gone → (HTTP status, error code, message) as Teams answers.
REMOVALS: dict[str, tuple[int, str, str]] = {
    "roster": (403, "BotNotInConversationRoster", "The bot isn't part of the conversation roster."),
    "blocked": (403, "ConversationBlockedByUser", "User blocked the conversation with the bot."),
    "deleted": (404, "ConversationNotFound", "Conversation not found."),
}


class ConnectorError(Exception):
    """An error answer in the connector's ``ErrorResponse`` shape: ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


@dataclass
class SentActivity:
    """One activity the bot posted, as stored by the connector (the wire body plus the id the connector gave it)."""

    id: str
    conversation_id: str
    body: dict[str, Any]
    reply_to_id: str | None
    versions: list[dict[str, Any]] = field(default_factory=list)  # bodies of later PUTs, oldest first
    deleted: bool = False
    at: float = field(default_factory=time.time)  # wall clock when the connector stored it (benchmarks)
    updated_at: list[float] = field(default_factory=list)  # wall clock of each later PUT, as ``versions``

    @property
    def current(self) -> dict[str, Any]:
        """The body as users see it now (the last update, else the original)."""
        return self.versions[-1] if self.versions else self.body

    @property
    def attachments(self) -> list[dict[str, Any]]:
        return list(self.current.get("attachments") or [])

    @property
    def text(self) -> str | None:
        value = self.current.get("text")
        return value if isinstance(value, str) else None


@dataclass
class Conversation:
    """A conversation the bot can post to: personal (1:1), groupChat or a channel (threads by ``;messageid=``)."""

    id: str
    kind: str = "personal"
    tenant_id: str | None = None
    members: list[dict[str, Any]] = field(default_factory=list)
    activities: list[SentActivity] = field(default_factory=list)
    removed: str | None = None  # a key of REMOVALS


@dataclass(frozen=True)
class ConnectorCall:
    """One HTTP request the connector received and what it answered."""

    verb: str
    path: str
    operation: str
    conversation_id: str | None
    activity_id: str | None
    status: int
    body: Any
    at: float = field(default_factory=time.time)  # wall clock when the connector answered (benchmarks)


@dataclass
class Fault:
    """An injected failure for the next matching requests."""

    status: int
    code: str
    message: str
    operation: str | None = None
    conversation_id: str | None = None
    retry_after: int | None = None
    times: int = 1

    def matches(self, operation: str, conversation_id: str | None) -> bool:
        return (self.operation in (None, operation)) and (
            self.conversation_id is None or self.conversation_id == conversation_id)


class SlidingWindows:
    """Counts operations per key over several sliding windows; refuses the one that would exceed any of them."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def wait(self, key: str, windows: tuple[tuple[float, int], ...]) -> int | None:
        """Seconds until one more operation fits every window (``Retry-After``), or ``None`` when it fits now."""
        if not windows:
            return None
        now = self.clock()
        events = self._events[key]
        longest = max(seconds for seconds, _ in windows)
        while events and events[0] <= now - longest:
            events.popleft()
        wait = 0.0
        for seconds, limit in windows:
            inside = [t for t in events if t > now - seconds]
            if len(inside) >= limit:
                # the window frees a slot once its oldest counted event leaves it
                wait = max(wait, inside[len(inside) - limit] + seconds - now)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def record(self, key: str) -> None:
        self._events[key].append(self.clock())
