"""In-memory workspace state for the fake Slack Web API: ids, timestamps, channels, users, messages, views,
the call log and Slack-style rate limiting. No HTTP here; see ``slack_api.py`` for the server."""

from __future__ import annotations

import math
import random
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "TIERS",
    "BlockErrorRecord",
    "Channel",
    "IdFactory",
    "ManualClock",
    "RateLimit",
    "RateLimiter",
    "SlackCall",
    "SlackError",
    "StoredMessage",
    "TsClock",
    "User",
]

_ID_ALPHABET = string.ascii_uppercase + string.digits


class SlackError(Exception):
    """A Slack API error response: ``{"ok": false, "error": <error>, **extra}`` with HTTP ``status``."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body Slack would send."""
        return {"ok": False, "error": self.error, **self.extra}


class IdFactory:
    """Deterministic, realistic Slack ids (``C0…``, ``U0…``, ``V0…``), unique per fake instance."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._used: set[str] = set()

    def new(self, prefix: str, length: int = 10) -> str:
        """A fresh id like ``C07QK3ZP9MB``: prefix, ``0``, then upper-case alphanumerics."""
        while True:
            candidate = prefix + "0" + "".join(self._rng.choice(_ID_ALPHABET) for _ in range(length - 1))
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate

    def reserve(self, ident: str) -> str:
        """Mark a caller-chosen id as used."""
        self._used.add(ident)
        return ident

    def hex(self, n: int = 8) -> str:
        """Random lowercase hex (for view hashes)."""
        return "".join(self._rng.choice("0123456789abcdef") for _ in range(n))

    def block_id(self) -> str:
        """A short random block id, as Slack assigns to blocks sent without one."""
        return "".join(self._rng.choice(string.ascii_letters + string.digits) for _ in range(5))


class TsClock:
    """Message timestamps ``1700000000.000100`` from wall time, strictly increasing (1 µs minimum step)."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._last_us = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            now_us = max(int(self._wall() * 1_000_000), self._last_us + 1)
            self._last_us = now_us
        return f"{now_us // 1_000_000:010d}.{now_us % 1_000_000:06d}"


class ManualClock:
    """A monotonic clock that only moves when told to, for rate-limit tests without sleeping."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self.now += seconds


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``rate`` requests per second refilled, at most ``burst`` stored."""

    rate: float
    burst: float

    @classmethod
    def per_minute(cls, count: float, burst: float | None = None) -> RateLimit:
        """Slack tiers are stated per minute, e.g. Tier 3 = ``RateLimit.per_minute(50)``."""
        return cls(rate=count / 60.0, burst=count if burst is None else burst)


#: Slack's published tiers (https://docs.slack.dev/apis/web-api/rate-limits), for ``rate_limits=`` overrides.
TIERS: dict[str, RateLimit] = {
    "tier1": RateLimit.per_minute(1),
    "tier2": RateLimit.per_minute(20),
    "tier3": RateLimit.per_minute(50),
    "tier4": RateLimit.per_minute(100),
}


class RateLimiter:
    """Token buckets keyed by ``(method, scope)``; returns the wait in seconds when a request is over."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # key -> (tokens, last_refill)

    def acquire(self, method: str, scope: str, limit: RateLimit) -> float | None:
        """Take one token; ``None`` if allowed, else seconds until one is available."""
        now = self.clock()
        tokens, last = self._buckets.get((method, scope), (limit.burst, now))
        tokens = min(limit.burst, tokens + (now - last) * limit.rate)
        if tokens >= 1.0:
            self._buckets[(method, scope)] = (tokens - 1.0, now)
            return None
        self._buckets[(method, scope)] = (tokens, now)
        return (1.0 - tokens) / limit.rate if limit.rate > 0 else math.inf

    def reset(self) -> None:
        """Refill every bucket."""
        self._buckets.clear()


@dataclass
class User:
    """A workspace member."""

    id: str
    name: str
    real_name: str
    email: str | None = None
    is_bot: bool = False
    deleted: bool = False
    tz: str = "America/New_York"
    team_id: str = ""

    def to_api(self) -> dict[str, Any]:
        """The ``user`` object of ``users.info``."""
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "display_name": self.name,
            "real_name_normalized": self.real_name,
            "display_name_normalized": self.name,
            "image_48": f"https://avatars.slack-edge.com/{self.id}_48.png",
            "team": self.team_id,
        }
        if self.email:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": "Eastern Standard Time",
            "tz_offset": -18000,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }


@dataclass
class StoredMessage:
    """A message as stored by the fake; ``data`` is the Slack message object."""

    data: dict[str, Any]
    deleted: bool = False

    @property
    def ts(self) -> str:
        return str(self.data["ts"])

    @property
    def is_reply(self) -> bool:
        thread_ts = self.data.get("thread_ts")
        return thread_ts is not None and thread_ts != self.data["ts"]

    @property
    def in_history(self) -> bool:
        """Top-level messages and broadcast thread replies appear in ``conversations.history``."""
        return not self.is_reply or self.data.get("subtype") == "thread_broadcast"


@dataclass
class Channel:
    """A conversation: public/private channel or IM."""

    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    archived: bool = False
    members: set[str] = field(default_factory=set)
    created: int = 1700000000
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    im_user: str | None = None

    def to_api(self, bot_user_id: str, *, num_members: bool = False) -> dict[str, Any]:
        """The ``channel`` object of ``conversations.info`` / ``conversations.join``."""
        if self.is_im:
            return {"id": self.id, "created": self.created, "is_im": True, "is_org_shared": False,
                    "user": self.im_user, "is_user_deleted": False, "priority": 0}  # fmt: skip
        info: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "created": self.created,
            "is_archived": self.archived,
            "is_general": self.name == "general",
            "unlinked": 0,
            "name_normalized": self.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "parent_conversation": None,
            "creator": "U0CREATOR01",
            "is_ext_shared": False,
            "shared_team_ids": [],
            "pending_connected_team_ids": [],
            "is_member": bot_user_id in self.members,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
        }
        if num_members:
            info["num_members"] = len(self.members)
        return info

    def live(self, ts: str) -> StoredMessage | None:
        """The non-deleted message at ``ts``, if any."""
        msg = self.messages.get(ts)
        return msg if msg is not None and not msg.deleted else None

    def replies(self, thread_ts: str) -> list[StoredMessage]:
        """Live replies in a thread, oldest first."""
        return sorted(
            (m for m in self.messages.values() if not m.deleted and m.is_reply and m.data["thread_ts"] == thread_ts),
            key=lambda m: m.ts,
        )


@dataclass(frozen=True)
class SlackCall:
    """One request the fake received, with the response it sent."""

    method: str
    args: dict[str, Any]
    time: float
    status: int
    response: dict[str, Any]
    http_verb: str = "POST"
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return None if self.ok else str(self.response.get("error"))


@dataclass(frozen=True)
class BlockErrorRecord:
    """A rejected ``blocks``/``view`` payload: which method, which surface, Slack's error strings."""

    method: str
    surface: str
    errors: list[str]
    payload: Any = None
