"""Request signing and realistic inbound payloads, exactly as Slack POSTs them to an app's Request URL.

* :func:`sign_slack_request` computes the v0 HMAC-SHA256 signature headers Slack sends.
* :func:`block_actions_payload`, :func:`view_submission_payload` build interaction bodies
  (``application/x-www-form-urlencoded`` with a single ``payload=<json>`` field).
* :func:`slash_command_form` builds a slash-command body (form-encoded fields).
* :func:`message_event` builds an Events API ``event_callback`` JSON body.

Every builder returns a :class:`SlackInbound` holding the exact ``body`` bytes, its ``content_type``, the
decoded ``payload`` (for assertions) and a ``headers(signing_secret)`` helper that signs the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_BOT_ID",
    "DEFAULT_BOT_USER_ID",
    "DEFAULT_TEAM_DOMAIN",
    "DEFAULT_TEAM_ID",
    "DEFAULT_VERIFICATION_TOKEN",
    "SlackInbound",
    "block_actions_payload",
    "message_event",
    "sign_slack_request",
    "slash_command_form",
    "view_submission_payload",
]

DEFAULT_TEAM_ID = "T0BATON01"
DEFAULT_TEAM_DOMAIN = "baton-test"
DEFAULT_APP_ID = "A0BATONAPP1"
DEFAULT_BOT_ID = "B0BATONBOT1"
DEFAULT_BOT_USER_ID = "U0BATONBOT1"
#: The legacy verification token Slack still includes in payloads (Bolt ignores it when signing is used).
DEFAULT_VERIFICATION_TOKEN = "vErIfIcAtIoNtOkEn0000000"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"


def sign_slack_request(body: bytes, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Return Slack's ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` headers for ``body``.

    The signature is ``"v0=" + hex(HMAC-SHA256(secret, b"v0:" + ts + b":" + body))`` as documented at
    https://docs.slack.dev/authentication/verifying-requests-from-slack. ``timestamp`` defaults to now.
    """
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    basestring = b"v0:" + ts.encode("ascii") + b":" + body
    digest = hmac.new(signing_secret.encode("utf-8"), basestring, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class SlackInbound:
    """One HTTP request body Slack would POST to the app, plus its decoded form for assertions."""

    body: bytes
    content_type: str
    payload: dict[str, Any] = field(compare=False)

    def headers(self, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
        """Content-Type plus signature headers, ready for ``httpx``/``aiohttp``/``TestClient`` ``headers=``."""
        return {"Content-Type": self.content_type, **sign_slack_request(self.body, signing_secret, timestamp)}

    def __bytes__(self) -> bytes:
        return self.body


def _trigger_id() -> str:
    """A trigger id shaped like Slack's (``<digits>.<digits>.<32 hex>``)."""
    now = int(time.time())
    return f"{now}{uuid.uuid4().int % 1000:03d}.{uuid.uuid4().int % 10**13:013d}.{uuid.uuid4().hex}"


def _action_ts() -> str:
    now = time.time()
    return f"{int(now)}.{int((now % 1) * 1_000_000):06d}"


def _user(user_id: str, user_name: str | None, team_id: str) -> dict[str, Any]:
    name = user_name or f"user.{user_id.lower()}"
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _team(team_id: str, team_domain: str) -> dict[str, Any]:
    return {"id": team_id, "domain": team_domain}


def _response_url(team_id: str, kind: str = "actions") -> str:
    return f"https://hooks.slack.com/{kind}/{team_id}/{uuid.uuid4().int % 10**13}/{uuid.uuid4().hex[:24]}"


def _channel_type(channel_id: str) -> str:
    return {"D": "im", "G": "group"}.get(channel_id[:1], "channel")


def _interaction(payload: dict[str, Any]) -> SlackInbound:
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode("utf-8")
    return SlackInbound(body=body, content_type=FORM_CONTENT_TYPE, payload=payload)


def _find_element(blocks: list[dict[str, Any]], action_id: str) -> tuple[str | None, dict[str, Any] | None]:
    """Find the element with ``action_id`` among a message's blocks; returns ``(block_id, element)``."""
    for block in blocks:
        candidates = list(block.get("elements") or [])
        candidates += [block[k] for k in ("accessory", "element") if isinstance(block.get(k), dict)]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id"), element
    return None, None


def block_actions_payload(
    action_id: str,
    value: str | None,
    user_id: str,
    channel_id: str,
    message_ts: str,
    *,
    message: dict[str, Any] | None = None,
    block_id: str | None = None,
    action_type: str = "button",
    user_name: str | None = None,
    channel_name: str = "escalations",
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    api_app_id: str = DEFAULT_APP_ID,
    trigger_id: str | None = None,
    thread_ts: str | None = None,
    state_values: dict[str, Any] | None = None,
) -> SlackInbound:
    """A ``block_actions`` interaction: a user clicked ``action_id`` on the message at ``message_ts``.

    Pass ``message=fake.message(channel, ts)`` to embed the real posted message; the button's ``block_id``,
    ``type`` and ``text`` are then read from its blocks, as Slack does.
    """
    msg: dict[str, Any] = dict(message) if message else {
        "type": "message", "subtype": "bot_message", "text": "", "ts": message_ts,
        "bot_id": DEFAULT_BOT_ID, "user": DEFAULT_BOT_USER_ID, "app_id": api_app_id, "team": team_id, "blocks": [],
    }  # fmt: skip
    found_block_id, element = _find_element(msg.get("blocks") or [], action_id)
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id or found_block_id or "baton_actions",
        "type": (element or {}).get("type", action_type),
        "action_ts": _action_ts(),
    }
    if action["type"] == "button":
        action["text"] = (element or {}).get("text", {"type": "plain_text", "text": action_id, "emoji": True})
        if value is not None:
            action["value"] = value
        if element and "style" in element:
            action["style"] = element["style"]
    elif action["type"] in ("static_select", "overflow", "radio_buttons"):
        action["selected_option"] = {"text": {"type": "plain_text", "text": value or ""}, "value": value}
    elif value is not None:
        action["value"] = value
    container: dict[str, Any] = {
        "type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": False,
    }  # fmt: skip
    if thread_ts:
        container["thread_ts"] = thread_ts
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": DEFAULT_VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id or _trigger_id(),
        "team": _team(team_id, team_domain),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": msg,
        "state": {"values": state_values or {}},
        "response_url": _response_url(team_id),
        "actions": [action],
    }
    return _interaction(payload)


def _normalize_state(state_values: dict[str, Any]) -> dict[str, Any]:
    """Accept ``{block: {action: "text"}}`` shorthand and expand it to Slack's typed state values."""
    out: dict[str, Any] = {}
    for block_id, actions in state_values.items():
        out[block_id] = {
            action_id: v if isinstance(v, dict) else {"type": "plain_text_input", "value": v}
            for action_id, v in actions.items()
        }
    return out


def view_submission_payload(
    callback_id: str,
    private_metadata: str,
    state_values: dict[str, Any],
    user_id: str,
    *,
    view_id: str = "V0BATONVIEW1",
    blocks: list[dict[str, Any]] | None = None,
    title: str = "Baton",
    user_name: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    api_app_id: str = DEFAULT_APP_ID,
    trigger_id: str | None = None,
) -> SlackInbound:
    """A ``view_submission`` interaction: the user pressed Submit on a modal.

    ``state_values`` is Slack's ``{block_id: {action_id: {"type": ..., "value": ...}}}``; plain strings are
    accepted as a shorthand for ``plain_text_input`` values.
    """
    view = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": blocks or [],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": _normalize_state(state_values)},
        "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "title": {"type": "plain_text", "text": title, "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
        "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": api_app_id,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": DEFAULT_BOT_ID,
    }
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": _team(team_id, team_domain),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": DEFAULT_VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _trigger_id(),
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _interaction(payload)


def slash_command_form(
    command: str,
    text: str,
    user_id: str,
    channel_id: str,
    *,
    user_name: str | None = None,
    channel_name: str = "escalations",
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    api_app_id: str = DEFAULT_APP_ID,
    trigger_id: str | None = None,
) -> SlackInbound:
    """A slash command invocation (form-encoded fields, in the order Slack sends them)."""
    fields: dict[str, str] = {
        "token": DEFAULT_VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or f"user.{user_id.lower()}",
        "command": command if command.startswith("/") else f"/{command}",
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": _response_url(team_id, "commands"),
        "trigger_id": trigger_id or _trigger_id(),
    }
    return SlackInbound(body=urlencode(fields).encode("utf-8"), content_type=FORM_CONTENT_TYPE, payload=fields)


def message_event(
    channel: str,
    user: str | None,
    text: str,
    thread_ts: str | None = None,
    ts: str | None = None,
    bot_id: str | None = None,
    subtype: str | None = None,
    *,
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
    authed_bot_user_id: str = DEFAULT_BOT_USER_ID,
    event_type: str = "message",
) -> SlackInbound:
    """An Events API ``event_callback`` wrapping a ``message`` (or ``app_mention``) event.

    Matches ``slack_common_event_wrapper_schema.json`` except ``authed_users``, which Slack replaced with
    ``authorizations``. Bot-authored messages carry ``bot_id`` (and ``subtype`` only when given, e.g.
    ``"bot_message"``), which is how listeners skip their own posts.
    """
    now = time.time()
    ts = ts or f"{int(now)}.{int((now % 1) * 1_000_000):06d}"
    event: dict[str, Any] = {"type": event_type}
    if subtype:
        event["subtype"] = subtype
    if user:
        event["user"] = user
    if bot_id:
        event["bot_id"] = bot_id
        event["app_id"] = api_app_id
    else:
        event["client_msg_id"] = str(uuid.uuid4())
    event.update({"text": text, "ts": ts, "team": team_id, "channel": channel, "event_ts": ts})
    if event_type == "message":
        event["channel_type"] = _channel_type(channel)
    if thread_ts:
        event["thread_ts"] = thread_ts
    if not bot_id and text:
        event["blocks"] = [
            {
                "type": "rich_text",
                "block_id": uuid.uuid4().hex[:5],
                "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
            }
        ]
    payload: dict[str, Any] = {
        "token": DEFAULT_VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
        "event_time": int(float(ts)),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": authed_bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + uuid.uuid4().hex,
    }
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return SlackInbound(body=body, content_type=JSON_CONTENT_TYPE, payload=payload)
