"""A fake Slack Web API server speaking Slack's wire format, for slack_sdk ``WebClient``/``AsyncWebClient``.

Usage::

    with FakeSlack() as fake:
        channel = fake.add_channel("escalations")
        client = WebClient(token=fake.token, base_url=fake.base_url)
        ts = client.chat_postMessage(channel=channel, text="hi")["ts"]
        assert fake.message(channel, ts)["text"] == "hi"

The server is a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 in a background thread, so it serves sync and
async clients alike. It checks the bearer token, parses form, JSON, query-string and multipart arguments,
enforces Slack-style rate limits (HTTP 429 + ``Retry-After``), validates Block Kit payloads, and records
every call. Method semantics live in ``slack_methods.py``; Block Kit checks in ``slack_blocks.py``.

Pytest fixtures ``fake_slack`` and ``fake_slack_factory`` live in ``tests/fakes/slack_fixtures.py``; enable them
with ``pytest_plugins = ["tests.fakes.slack_fixtures"]`` (root conftest or a test module).
"""

from __future__ import annotations

import asyncio
import copy
import math
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tests.fakes.slack_http import ServedFake, parse_args
from tests.fakes.slack_methods import METHODS
from tests.fakes.slack_payloads import (
    DEFAULT_APP_ID,
    DEFAULT_BOT_ID,
    DEFAULT_BOT_USER_ID,
    DEFAULT_TEAM_DOMAIN,
    DEFAULT_TEAM_ID,
)
from tests.fakes.slack_state import (
    BlockErrorRecord,
    Channel,
    RateLimit,
    RateLimiter,
    SlackCall,
    SlackError,
)
from tests.fakes.slack_workspace import Workspace

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["FakeSlack"]

DEFAULT_TOKEN = "xoxb-fake-baton-test-token"
DEFAULT_SIGNING_SECRET = "fake-baton-signing-secret"
#: Methods whose limit applies per channel rather than per workspace.
PER_CHANNEL_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral"})


class FakeSlack(ServedFake):
    """A local Slack Web API for tests. See the module docstring; all public helpers are thread-safe."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        signing_secret: str = DEFAULT_SIGNING_SECRET,
        team_id: str = DEFAULT_TEAM_ID,
        team_name: str = "Baton Test",
        team_domain: str = DEFAULT_TEAM_DOMAIN,
        bot_user_id: str = DEFAULT_BOT_USER_ID,
        bot_id: str = DEFAULT_BOT_ID,
        app_id: str = DEFAULT_APP_ID,
        bot_name: str = "baton",
        post_rate_per_channel: float = 1.0,
        burst: float = 5,
        update_per_minute: float = 50,
        update_burst: float | None = None,
        publish_per_minute: float = 100,
        publish_burst: float | None = None,
        rate_limits: dict[str, RateLimit] | None = None,
        rate_limiting: bool = True,
        min_retry_after: int = 1,
        clock: Callable[[], float] | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Configure the workspace; nothing listens until :meth:`start` (or ``with``).

        Rate limits (token buckets): ``chat.postMessage`` ``post_rate_per_channel``/s per channel with
        ``burst``; ``chat.update`` Tier 3 ``update_per_minute``; ``views.publish`` Tier 4
        ``publish_per_minute`` (bursts default to the per-minute count). ``rate_limits`` adds or overrides
        per-method limits (use :data:`tests.fakes.slack_state.TIERS`). ``clock`` drives the limiter
        (e.g. :class:`~tests.fakes.slack_state.ManualClock`); ``min_retry_after`` floors ``Retry-After``.
        """
        self.token, self.signing_secret = token, signing_secret
        self.ws = Workspace(team_id=team_id, team_name=team_name, team_domain=team_domain, bot_user_id=bot_user_id,
                            bot_id=bot_id, app_id=app_id, bot_name=bot_name, seed=seed)  # fmt: skip
        self.rate_limiting, self.min_retry_after = rate_limiting, min_retry_after
        self.limits: dict[str, RateLimit] = {
            "chat.postMessage": RateLimit(post_rate_per_channel, burst),
            "chat.update": RateLimit.per_minute(update_per_minute, update_burst),
            "views.publish": RateLimit.per_minute(publish_per_minute, publish_burst),
            **(rate_limits or {}),
        }
        self.limiter = RateLimiter(clock or time.monotonic)
        self.latency: dict[str, float] = {}
        self.internal_errors: list[Exception] = []
        self._tokens: set[str] = {token}
        self._revoked: set[str] = set()
        self._fail_next: dict[str, deque[SlackError]] = defaultdict(deque)
        self._fail_http: dict[str, list[Any]] = {}
        self._calls: list[SlackCall] = []
        self.rate_limited_by_method: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._address = (host, port)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The ``base_url`` for slack_sdk clients: ``http://127.0.0.1:PORT/api/``."""
        return f"{self.url}/api/"

    def web_client(self, **kwargs: Any) -> WebClient:
        """A real ``slack_sdk.WebClient`` pointed at this fake."""
        from slack_sdk import WebClient

        return WebClient(**{"token": self.token, "base_url": self.base_url, **kwargs})

    def async_web_client(self, **kwargs: Any) -> AsyncWebClient:
        """A real ``AsyncWebClient`` pointed at this fake."""
        from slack_sdk.web.async_client import AsyncWebClient

        return AsyncWebClient(**{"token": self.token, "base_url": self.base_url, **kwargs})

    # ------------------------------------------------------------------------------------ identity
    @property
    def team_id(self) -> str:
        return self.ws.team_id

    @property
    def bot_user_id(self) -> str:
        return self.ws.bot_user_id

    @property
    def bot_id(self) -> str:
        return self.ws.bot_id

    @property
    def app_id(self) -> str:
        return self.ws.app_id

    # ------------------------------------------------------------------------------------ seeding state
    def add_channel(self, name: str, id: str | None = None, archived: bool = False, bot_member: bool = True,
                    *, is_private: bool = False, members: tuple[str, ...] = ()) -> str:  # fmt: skip
        """Create a channel; returns its id (``C0…``)."""
        with self._lock:
            return self.ws.add_channel(name, id, archived=archived, bot_member=bot_member, is_private=is_private,
                                       members=members).id  # fmt: skip

    def add_user(self, name: str, id: str | None = None, *, email: str | None = None,
                 real_name: str | None = None, is_bot: bool = False, deleted: bool = False,
                 channels: tuple[str, ...] = ()) -> str:  # fmt: skip
        """Create a user (optionally a member of ``channels``); returns its id (``U0…``)."""
        with self._lock:
            uid = self.ws.add_user(name, id, email=email, real_name=real_name, is_bot=is_bot, deleted=deleted).id
            for ref in channels:
                self.channel(ref).members.add(uid)
            return uid

    def channel(self, ref: str) -> Channel:
        """The live :class:`Channel` object for an id or name (``KeyError`` if unknown)."""
        ch = self.ws.find_channel(ref)
        if ch is None:
            raise KeyError(ref)
        return ch

    def archive_channel(self, ref: str, archived: bool = True) -> None:
        with self._lock:
            self.channel(ref).archived = archived

    def set_bot_member(self, ref: str, member: bool) -> None:
        """Add or remove the bot from a channel (``not_in_channel`` when removed)."""
        with self._lock:
            members = self.channel(ref).members
            if member:
                members.add(self.bot_user_id)
            else:
                members.discard(self.bot_user_id)

    def post_user_message(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> str:
        """Seed a message written by a human (e.g. a thread reply an agent typed); returns its ts."""
        with self._lock:
            return self.ws.add_user_message(channel, user, text, thread_ts)

    # ------------------------------------------------------------------------------------ inspecting state
    def messages(self, channel: str, *, include_replies: bool = False, include_deleted: bool = False
                 ) -> list[dict[str, Any]]:  # fmt: skip
        """Messages in a channel, oldest first: top level (and broadcast replies) unless ``include_replies``."""
        with self._lock:
            stored = sorted(self.channel(channel).messages.values(), key=lambda m: m.ts)
            return [copy.deepcopy(m.data) for m in stored
                    if (include_deleted or not m.deleted) and (include_replies or m.in_history)]  # fmt: skip

    def message(self, channel: str, ts: str, *, include_deleted: bool = False) -> dict[str, Any] | None:
        """One message (top level or reply) by ts, or ``None``."""
        with self._lock:
            msg = self.channel(channel).messages.get(ts)
            return copy.deepcopy(msg.data) if msg and (include_deleted or not msg.deleted) else None

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """``[parent, *replies]`` oldest first (empty if the parent is unknown)."""
        with self._lock:
            ch = self.channel(channel)
            parent = ch.live(ts)
            return [copy.deepcopy(m.data) for m in ([parent, *ch.replies(ts)] if parent else [])]

    def permalink(self, channel: str, ts: str) -> str:
        with self._lock:
            ch = self.channel(channel)
            return self.ws.permalink(ch, ch.messages[ts])

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        """Ephemeral messages sent (``channel``, ``user``, ``ts``, ``text``, ``blocks``, ``thread_ts``)."""
        with self._lock:
            return copy.deepcopy(self.ws.ephemerals)

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Every view opened/pushed/updated/published, by view id (latest version)."""
        with self._lock:
            return copy.deepcopy(self.ws.views)

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for ``user_id``."""
        with self._lock:
            view_id = self.ws.home_views.get(user_id)
            return copy.deepcopy(self.ws.views[view_id]) if view_id else None

    @property
    def block_errors(self) -> list[BlockErrorRecord]:
        """Every rejected ``blocks``/``view`` payload; assert it is empty in adapter tests."""
        with self._lock:
            return list(self.ws.block_errors)

    # ------------------------------------------------------------------------------------ call log
    @property
    def calls(self) -> list[SlackCall]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[SlackCall]:
        """Calls to one method, optionally only successful (``ok=True``) or failed ones."""
        with self._lock:
            return [c for c in self._calls if c.method == method and (ok is None or c.ok == ok)]

    def last_call(self, method: str) -> SlackCall:
        calls = self.calls_to(method)
        if not calls:
            raise AssertionError(f"no call to {method}; saw {[c.method for c in self.calls]}")
        return calls[-1]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()
            self.rate_limited_by_method.clear()

    @property
    def rate_limited_count(self) -> int:
        """How many HTTP 429 responses were sent (all methods); per method: ``rate_limited_by_method``."""
        with self._lock:
            return sum(self.rate_limited_by_method.values())

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0, *, ok: bool | None = None
                       ) -> list[SlackCall]:  # fmt: skip
        """Block until ``count`` calls to ``method`` were answered (``TimeoutError`` otherwise)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.calls_to(method, ok=ok)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self.calls_to(method, ok=ok))}/{count} calls to {method}")
                self._cond.wait(remaining)
            return self.calls_to(method, ok=ok)

    async def wait_for_calls_async(
        self, method: str, count: int = 1, timeout: float = 5.0, *, ok: bool | None = None  # noqa: ASYNC109
    ) -> list[SlackCall]:
        """Like :meth:`wait_for_calls` without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while len(self.calls_to(method, ok=ok)) < count:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(self.calls_to(method, ok=ok))}/{count} calls to {method}")
            await asyncio.sleep(0.01)
        return self.calls_to(method, ok=ok)

    # ------------------------------------------------------------------------------------ failure injection
    def revoke_token(self, token: str | None = None) -> None:
        """Every call with ``token`` (default: the bot token) now fails with ``token_revoked``."""
        with self._lock:
            self._revoked.add(token or self.token)

    def restore_token(self, token: str | None = None) -> None:
        with self._lock:
            self._revoked.discard(token or self.token)

    def add_token(self, token: str) -> None:
        """Accept another token (e.g. a second installation)."""
        with self._lock:
            self._tokens.add(token)

    def fail_next(self, method: str, error: str, status: int = 200, *, times: int = 1,
                  extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:  # fmt: skip
        """Answer the next ``times`` authenticated calls to ``method`` (``"*"`` = any) with ``error``."""
        if status == 429:
            headers = {"Retry-After": str(self.min_retry_after), **(headers or {})}
        with self._lock:
            for _ in range(times):
                self._fail_next[method].append(SlackError(error, status=status, extra=extra, headers=headers))

    def fail_http(self, method: str, status: int = 500, times: int = 1, *, body: dict[str, Any] | None = None,
                  headers: dict[str, str] | None = None) -> None:  # fmt: skip
        """Answer the next ``times`` calls to ``method`` (``"*"`` = any) with HTTP ``status`` before auth."""
        default = {"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"}
        if status == 429:
            headers = {"Retry-After": str(self.min_retry_after), **(headers or {})}
        with self._lock:
            self._fail_http[method] = [times, status, body or default, headers or {}]

    def clear_failures(self) -> None:
        with self._lock:
            self._fail_next.clear()
            self._fail_http.clear()
            self._revoked.clear()

    def set_rate_limit(self, method: str, limit: RateLimit | None) -> None:
        """Add, change or (``None``) remove the limit of one method."""
        with self._lock:
            if limit is None:
                self.limits.pop(method, None)
            else:
                self.limits[method] = limit

    def set_latency(self, seconds: float, method: str = "*") -> None:
        """Delay answers to ``method`` (``"*"`` = all) by ``seconds``, outside the lock (requests overlap)."""
        with self._lock:
            self.latency[method] = seconds

    def reset_rate_limits(self) -> None:
        """Refill every bucket (e.g. between phases of a test)."""
        with self._lock:
            self.limiter.reset()

    # ------------------------------------------------------------------------------------ request pipeline
    def _dispatch(self, verb: str, raw_path: str, headers: dict[str, str], body: bytes
                  ) -> tuple[int, dict[str, str], dict[str, Any]]:  # fmt: skip
        parts = urlsplit(raw_path)
        if not parts.path.startswith("/api/"):
            return 404, {}, {"ok": False, "error": "not_found"}
        method = parts.path[len("/api/"):]
        delay = self.latency.get(method, self.latency.get("*", 0.0))
        if delay:
            time.sleep(delay)
        with self._cond:
            args: dict[str, Any] = {}
            try:
                args, arg_token = parse_args(parts.query, headers.get("content-type", ""), body)
                status, out_headers, response = self._process(method, args, headers, arg_token)
            except SlackError as exc:
                status, out_headers, response = exc.status, exc.headers, exc.body()
            except Exception as exc:  # a bug in the fake: answer 500 and keep it for the test to see
                self.internal_errors.append(exc)
                status, out_headers, response = 500, {}, {"ok": False, "error": "fatal_error", "detail": repr(exc)}
            if status == 429:
                self.rate_limited_by_method[method] += 1
            response = copy.deepcopy(response)  # detached from live state: serialized after the lock is released
            self._calls.append(SlackCall(method, args, time.time(), status, response, verb,
                                         headers.get("content-type", ""), headers))  # fmt: skip
            self._cond.notify_all()
            return status, out_headers, response

    def _take_http_failure(self, method: str) -> SlackError | None:
        for key in (method, "*"):
            entry = self._fail_http.get(key)
            if entry and entry[0] > 0:
                entry[0] -= 1
                times_left, status, body, headers = entry
                if times_left == 0:
                    del self._fail_http[key]
                error = SlackError(str(body.get("error", "fatal_error")), status=status, headers=headers)
                error.extra = {k: v for k, v in body.items() if k not in ("ok", "error")}
                return error
        return None

    def _process(self, method: str, args: dict[str, Any], headers: dict[str, str], arg_token: str | None
                 ) -> tuple[int, dict[str, str], dict[str, Any]]:  # fmt: skip
        http_failure = self._take_http_failure(method)
        if http_failure is not None:
            raise http_failure
        handler = METHODS.get(method)
        if handler is None:
            raise SlackError("unknown_method", extra={"req_method": method})
        auth = headers.get("authorization", "")
        token = auth[len("Bearer "):].strip() if auth.lower().startswith("bearer ") else arg_token
        if not token:
            raise SlackError("not_authed")
        if token in self._revoked:
            raise SlackError("token_revoked")
        if token not in self._tokens:
            raise SlackError("invalid_auth")
        for key in (method, "*"):
            if self._fail_next.get(key):
                raise self._fail_next[key].popleft()
        self._check_rate_limit(method, args)
        return 200, {}, handler(self.ws, args)

    def _check_rate_limit(self, method: str, args: dict[str, Any]) -> None:
        limit = self.limits.get(method)
        if not self.rate_limiting or limit is None:
            return
        scope = "workspace"
        if method in PER_CHANNEL_METHODS:
            ch = self.ws.find_channel(args.get("channel"))
            scope = ch.id if ch else str(args.get("channel"))
        wait = self.limiter.acquire(method, scope, limit)
        if wait is not None:
            retry_after = max(self.min_retry_after, math.ceil(wait)) if math.isfinite(wait) else 60
            raise SlackError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})
