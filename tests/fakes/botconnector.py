"""A fake Bot Connector service (REST API v3) for the Microsoft 365 Agents SDK, speaking the connector's wire format.

Usage::

    with FakeBotFrameworkAuth() as auth, FakeBotConnector(token_verifier=auth.verify_bot_token) as connector:
        activity = {..., "serviceUrl": connector.service_url, "conversation": {"id": "a:1"}}
        ...  # the bot replies through the SDK's connector client
        [reply] = connector.activities("a:1")
        assert reply.reply_to_id == activity["id"]

The server is a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (shared with the Slack fake: ``slack_http``), so the
SDK's aiohttp client talks to it over a real socket. It serves, under a Teams-like regional prefix
(``/amer/``, as in ``https://smba.trafficmanager.net/amer/``):

* ``POST /v3/conversations`` — create a conversation (proactive 1:1, or a new channel thread when
  ``channelData.channel.id`` and an ``activity`` are given); answers ``ConversationResourceResponse``;
* ``POST /v3/conversations/{id}/activities`` — send (``{id}`` may carry ``;messageid=<root>`` for a channel thread);
* ``POST /v3/conversations/{id}/activities/{activityId}`` — reply (recorded with ``replyToId``);
* ``PUT  /v3/conversations/{id}/activities/{activityId}`` — update; ``DELETE`` — delete;
* ``GET  /v3/conversations/{id}/members[/{memberId}]`` and ``/pagedmembers``.

Every request must carry ``Authorization: Bearer <token>`` accepted by ``token_verifier`` (unless
``require_auth=False``, as for a bot in emulator mode). Activity bodies are validated against ``definitions/Activity``
of ``tests/conformance/botframework/ConnectorAPI.json`` (a body that fails answers ``400 BadSyntax`` and is kept in
:attr:`FakeBotConnector.schema_errors`). Teams' documented throttling is enforced (see ``botconnector_state``), and
faults can be injected: :meth:`fail_next` (e.g. 412 or 429 with ``Retry-After``) and :meth:`remove_conversation`
(403/404 from then on).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import unquote, urlsplit

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.fakes.botconnector_state import (
    CREATE_WINDOWS,
    GLOBAL_WINDOWS,
    REMOVALS,
    SEND_WINDOWS,
    ConnectorCall,
    ConnectorError,
    Conversation,
    Fault,
    SentActivity,
    SlidingWindows,
)
from tests.fakes.slack_http import ServedFake
from tests.support.conformance import conformance_path

__all__ = ["FakeBotConnector"]

_URN = "urn:botframework:connector"
Answer = tuple[int, dict[str, str], Any]


@cache
def _validator(definition: str) -> Draft4Validator:
    spec = json.loads(conformance_path("botframework", "ConnectorAPI.json").read_text(encoding="utf-8"))
    registry = Registry().with_resource(_URN, Resource.from_contents(spec, default_specification=DRAFT4))
    return Draft4Validator({"$ref": f"{_URN}#/definitions/{definition}"}, registry=registry)


class FakeBotConnector(ServedFake):
    """A local Bot Connector. All public helpers are thread-safe; see the module docstring."""

    def __init__(self, *, token_verifier: Callable[[str], Any] | None = None, require_auth: bool = True,
                 pacing: bool = True, clock: Callable[[], float] | None = None, prefix: str = "/amer",
                 host: str = "127.0.0.1", port: int = 0) -> None:  # fmt: skip
        """``token_verifier(token)`` raises to refuse a bearer token (e.g. ``FakeBotFrameworkAuth.verify_bot_token``);
        with ``require_auth`` and no verifier any request is refused. ``pacing`` enforces Teams' throttling windows
        on ``clock`` (default ``time.monotonic``)."""
        self.token_verifier, self.require_auth, self.pacing = token_verifier, require_auth, pacing
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.limiter = SlidingWindows(clock or time.monotonic)
        self._conversations: dict[str, Conversation] = {}
        self._faults: list[Fault] = []
        self._calls: list[ConnectorCall] = []
        self.schema_errors: list[str] = []
        self.internal_errors: list[Exception] = []
        self.throttled = 0
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._address = (host, port)

    @property
    def service_url(self) -> str:
        """The activity ``serviceUrl`` that routes the SDK here, e.g. ``http://127.0.0.1:PORT/amer/``."""
        return f"http://127.0.0.1:{self.port}{self.prefix}/"

    # ------------------------------------------------------------------------------------ seeding and faults
    def add_conversation(self, conversation_id: str, *, kind: str = "personal", tenant_id: str | None = None,
                         members: list[dict[str, Any]] | None = None) -> str:  # fmt: skip
        """Register a conversation (unknown ids are registered on first use as ``personal``)."""
        with self._lock:
            self._conversations[conversation_id] = Conversation(conversation_id, kind, tenant_id, list(members or []))
        return conversation_id

    def remove_conversation(self, conversation_id: str, why: str = "roster") -> None:
        """From now on requests for this conversation fail as Teams answers them: ``roster``/``blocked`` → 403,
        ``deleted`` → 404."""
        if why not in REMOVALS:
            raise ValueError(f"why must be one of {sorted(REMOVALS)}")
        with self._lock:
            self._conversation(conversation_id).removed = why

    def fail_next(self, status: int, code: str, message: str = "injected", *, operation: str | None = None,
                  conversation_id: str | None = None, retry_after: int | None = None,
                  times: int = 1) -> None:  # fmt: skip
        """Answer the next ``times`` matching requests with this error. ``operation`` is one of ``create``, ``send``,
        ``reply``, ``update``, ``delete``, ``members``, ``member`` (``None`` = any)."""
        with self._lock:
            self._faults.append(Fault(status, code, message, operation, conversation_id, retry_after, times))

    # ------------------------------------------------------------------------------------ inspection
    @property
    def calls(self) -> list[ConnectorCall]:
        with self._lock:
            return list(self._calls)

    def activities(self, conversation_id: str) -> list[SentActivity]:
        """What the bot posted to a conversation (thread replies included), oldest first."""
        with self._lock:
            conv = self._conversations.get(_base_id(conversation_id))
            return list(conv.activities) if conv else []

    def activity(self, activity_id: str) -> SentActivity:
        with self._lock:
            for conv in self._conversations.values():
                for sent in conv.activities:
                    if sent.id == activity_id:
                        return sent
        raise KeyError(activity_id)

    def conversation_ids(self) -> list[str]:
        with self._lock:
            return list(self._conversations)

    # ------------------------------------------------------------------------------------ HTTP
    def _dispatch(self, verb: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        route = unquote(urlsplit(path).path)
        try:
            status, extra, payload, operation, cid, aid = self._serve(verb, route, headers, body)
        except ConnectorError as err:
            status, extra, payload, operation, cid, aid = err.status, err.headers(), err.body(), "error", None, None
        except Exception as exc:  # a crash in the fake must fail the test, not hang the bot
            self.internal_errors.append(exc)
            crashed = {"error": {"code": "ServiceError", "message": "fake crashed"}}
            status, extra, payload, operation, cid, aid = 500, {}, crashed, "", None, None
        with self._lock:
            self._calls.append(ConnectorCall(verb, route, operation, cid, aid, status, payload))
        return status, extra, payload

    def _serve(self, verb: str, route: str, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], Any, str, str | None, str | None]:  # fmt: skip
        if not route.startswith(self.prefix + "/v3/conversations"):
            raise ConnectorError(404, "NotFound", f"no such resource: {route}")
        self._authorize(headers)
        parts = route[len(self.prefix) + len("/v3/conversations"):].strip("/").split("/") if route.rstrip(
            "/") != self.prefix + "/v3/conversations" else []
        data = _json(body) if body else None
        with self._lock:
            if not parts and verb == "POST":
                return (*self._create(data), "create", None, None)
            cid = parts[0] if parts else None
            if cid is None:
                raise ConnectorError(405, "MethodNotAllowed", f"{verb} /v3/conversations")
            rest = parts[1:]
            if rest == ["activities"] and verb == "POST":
                return (*self._send(cid, None, data, "send"), "send", cid, None)
            if len(rest) == 2 and rest[0] == "activities":
                aid = rest[1]
                if verb == "POST":
                    return (*self._send(cid, aid, data, "reply"), "reply", cid, aid)
                if verb == "PUT":
                    return (*self._update(cid, aid, data), "update", cid, aid)
                if verb == "DELETE":
                    return (*self._delete(cid, aid), "delete", cid, aid)
            if rest in (["members"], ["pagedmembers"]) and verb == "GET":
                members = self._usable(cid, "members").members
                payload: Any = members if rest == ["members"] else {"members": members}
                return 200, {}, payload, "members", cid, None
            if len(rest) == 2 and rest[0] == "members" and verb == "GET":
                conv = self._usable(cid, "member")
                for member in conv.members:
                    if rest[1] in (member.get("id"), member.get("aadObjectId")):
                        return 200, {}, member, "member", cid, None
                raise ConnectorError(404, "MemberNotFoundInConversation", "The member was not found.")
        raise ConnectorError(405, "MethodNotAllowed", f"{verb} {route}")

    def _authorize(self, headers: dict[str, str]) -> None:
        if not self.require_auth:
            return
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token or self.token_verifier is None:
            raise ConnectorError(401, "Unauthorized", "Authorization has been denied for this request.")
        try:
            self.token_verifier(token)
        except Exception:
            raise ConnectorError(401, "Unauthorized", "Authorization has been denied for this request.") from None

    # ------------------------------------------------------------------------------------ operations (lock held)
    def _conversation(self, cid: str) -> Conversation:
        base = _base_id(cid)
        conv = self._conversations.get(base)
        if conv is None:
            conv = self._conversations[base] = Conversation(base)
        return conv

    def _usable(self, cid: str, operation: str) -> Conversation:
        conv = self._conversation(cid)
        for fault in self._faults:
            if fault.matches(operation, conv.id):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                raise ConnectorError(fault.status, fault.code, fault.message, retry_after=fault.retry_after)
        if conv.removed:
            raise ConnectorError(*REMOVALS[conv.removed])
        return conv

    def _pace(self, key: str, windows: tuple[tuple[float, int], ...]) -> None:
        if not self.pacing:
            return
        checks = ((key, windows), ("app", GLOBAL_WINDOWS))
        waits = [w for k, limits in checks if (w := self.limiter.wait(k, limits)) is not None]
        if waits:
            self.throttled += 1
            raise ConnectorError(429, "Throttled", "Too many requests.", retry_after=max(waits))
        for k, limits in checks:
            if limits:
                self.limiter.record(k)

    def _check(self, definition: str, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ConnectorError(400, "BadSyntax", "the body must be a JSON object")
        # Swagger 2.0 cannot say "nullable"; the real service (a .NET deserializer) reads ``null`` as absent, and the
        # SDK sends ``"id": null`` on new activities. So nulls are dropped before the schema check, as there.
        errors = sorted(_validator(definition).iter_errors(_without_nulls(data)), key=lambda e: list(e.absolute_path))
        if errors:
            message = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}" for e in errors)
            self.schema_errors.append(message)
            raise ConnectorError(400, "BadSyntax", message)
        return data

    def _store(self, conv: Conversation, cid: str, reply_to: str | None, data: dict[str, Any]) -> SentActivity:
        if reply_to is None and ";messageid=" in cid:
            reply_to = cid.split(";messageid=", 1)[1]
        sent = SentActivity(id=f"{int(time.time() * 1000)}{next(self._ids):04d}", conversation_id=cid, body=data,
                            reply_to_id=reply_to)  # fmt: skip
        conv.activities.append(sent)
        return sent

    def _send(self, cid: str, reply_to: str | None, data: Any, operation: str) -> tuple[int, dict[str, str], Any]:
        activity = self._check("Activity", data)
        conv = self._usable(cid, operation)
        self._pace(f"send:{conv.id}", SEND_WINDOWS)
        sent = self._store(conv, cid, reply_to, activity)
        return 201, {}, {"id": sent.id}

    def _create(self, data: Any) -> tuple[int, dict[str, str], Any]:
        params = self._check("ConversationParameters", data)
        channel = ((params.get("channelData") or {}).get("channel") or {}).get("id")
        first = params.get("activity")
        if channel:  # a new thread in a channel: the root message is the activity
            if not isinstance(first, dict):
                raise ConnectorError(400, "BadArgument", "a channel thread needs the first activity")
            self._check("Activity", first)
            conv = self._usable(channel, "create")
            self._pace(f"create:{conv.id}", CREATE_WINDOWS)
            conv.kind = "channel"
            root = self._store(conv, channel, None, first)
            return 201, {}, {"id": f"{channel};messageid={root.id}", "activityId": root.id,
                             "serviceUrl": self.service_url}  # fmt: skip
        members = params.get("members") or []
        if len(members) != 1 or not isinstance(members[0], dict) or not members[0].get("id"):
            raise ConnectorError(400, "BadArgument", "a 1:1 conversation needs exactly one member with an id")
        user = members[0]
        cid = f"a:{user['id']}"  # Teams answers the same personal conversation for the same user
        conv = self._conversations.get(cid) or Conversation(cid, "personal", params.get("tenantId"), [user])
        self._conversations[cid] = conv
        conv = self._usable(cid, "create")
        self._pace(f"create:{conv.id}", CREATE_WINDOWS)
        answer: dict[str, Any] = {"id": cid, "serviceUrl": self.service_url}
        if isinstance(first, dict):
            self._check("Activity", first)
            answer["activityId"] = self._store(conv, cid, None, first).id
        return 201, {}, answer

    def _find(self, conv: Conversation, aid: str) -> SentActivity:
        for sent in conv.activities:
            if sent.id == aid and not sent.deleted:
                return sent
        raise ConnectorError(404, "ActivityNotFoundInConversation", "Conversation not found.")

    def _update(self, cid: str, aid: str, data: Any) -> tuple[int, dict[str, str], Any]:
        activity = self._check("Activity", data)
        conv = self._usable(cid, "update")
        sent = self._find(conv, aid)
        self._pace("update", ())
        sent.versions.append(activity)
        sent.updated_at.append(time.time())
        return 200, {}, {"id": aid}

    def _delete(self, cid: str, aid: str) -> tuple[int, dict[str, str], Any]:
        conv = self._usable(cid, "delete")
        self._find(conv, aid).deleted = True
        return 200, {}, {}


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _base_id(cid: str) -> str:
    return cid.split(";messageid=", 1)[0]


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ConnectorError(400, "BadSyntax", "the body is not JSON") from None
