"""Workspace state and shared argument handling for the fake Slack Web API.

:class:`Workspace` holds channels, users, messages and views, and offers the helpers every method handler in
``slack_methods.py`` uses: channel resolution with Slack's errors, Block Kit validation, text truncation,
thread bookkeeping and view objects. Callers must hold the fake's lock.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import time
import uuid
from typing import Any

from tests.fakes.slack_blocks import limits, validate_blocks, validate_view
from tests.fakes.slack_state import (
    BlockErrorRecord,
    Channel,
    IdFactory,
    SlackError,
    StoredMessage,
    TsClock,
    User,
)

__all__ = ["TS_RE", "USER_RE", "Workspace", "as_bool", "in_range", "invalid_arguments", "page", "require"]

TS_RE = re.compile(r"^\d{10}\.\d{6}$")
USER_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
MAX_ATTACHMENTS = 100


def as_bool(value: Any) -> bool:
    """Slack's reading of boolean arguments sent as JSON booleans or form strings."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def invalid_arguments(*messages: str) -> SlackError:
    metadata = {"messages": [f"[ERROR] {m}" for m in messages]}
    return SlackError("invalid_arguments", extra={"response_metadata": metadata})


def require(args: dict[str, Any], *keys: str) -> None:
    missing = [k for k in keys if args.get(k) in (None, "")]
    if missing:
        raise invalid_arguments(*(f"missing required field: {k}" for k in missing))


def cursor_for(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def page(items: list[dict[str, Any]], args: dict[str, Any], default: int, maximum: int) -> dict[str, Any]:
    """Cursor pagination as Slack does it: ``has_more`` plus ``response_metadata.next_cursor``."""
    try:
        limit = min(max(int(args.get("limit") or default), 1), maximum)
        offset = int(base64.b64decode(str(args["cursor"])).decode().split(":", 1)[1]) if args.get("cursor") else 0
    except (ValueError, IndexError, binascii.Error) as exc:
        raise SlackError("invalid_cursor") from exc
    page = items[offset : offset + limit]
    has_more = offset + limit < len(items)
    out: dict[str, Any] = {"ok": True, "messages": page, "has_more": has_more}
    if has_more:
        out["response_metadata"] = {"next_cursor": cursor_for(offset + limit)}
    return out


def in_range(ts: str, args: dict[str, Any]) -> bool:
    """Apply ``oldest``/``latest``/``inclusive`` like ``conversations.history``."""
    inclusive = as_bool(args.get("inclusive", False))
    bounds: dict[str, float | None] = {}
    for key in ("oldest", "latest"):
        try:
            bounds[key] = float(args[key]) if args.get(key) not in (None, "") else None
        except (TypeError, ValueError) as exc:
            raise SlackError(f"invalid_ts_{key}") from exc
    value, oldest, latest = float(ts), bounds["oldest"], bounds["latest"]
    if oldest is not None and (value < oldest or (not inclusive and value == oldest)):
        return False
    return not (latest is not None and (value > latest or (not inclusive and value == latest)))


class Workspace:
    """The state of one fake Slack workspace plus the method implementations."""

    def __init__(
        self,
        *,
        team_id: str,
        team_name: str,
        team_domain: str,
        bot_user_id: str,
        bot_id: str,
        app_id: str,
        bot_name: str,
        seed: int = 0,
    ) -> None:
        self.team_id, self.team_name, self.team_domain = team_id, team_name, team_domain
        self.bot_user_id, self.bot_id, self.app_id, self.bot_name = bot_user_id, bot_id, app_id, bot_name
        self.ids = IdFactory(seed)
        for ident in (team_id, bot_user_id, bot_id, app_id):
            self.ids.reserve(ident)
        self.ts = TsClock()
        self.channels: dict[str, Channel] = {}
        self.users: dict[str, User] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, str] = {}  # user id -> view id
        self.view_stacks: dict[str, list[str]] = {}  # root view id -> stack of view ids
        self.block_errors: list[BlockErrorRecord] = []
        self.add_user(bot_name, id=bot_user_id, real_name=bot_name, is_bot=True)

    # ----------------------------------------------------------------- setup helpers (used by FakeSlack)
    def add_channel(
        self,
        name: str,
        id: str | None = None,
        *,
        archived: bool = False,
        bot_member: bool = True,
        is_private: bool = False,
        members: tuple[str, ...] = (),
    ) -> Channel:
        name = name.lstrip("#")
        cid = self.ids.reserve(id) if id else self.ids.new("C")
        channel = Channel(id=cid, name=name, is_private=is_private, archived=archived, members=set(members))
        if bot_member:
            channel.members.add(self.bot_user_id)
        self.channels[cid] = channel
        return channel

    def add_user(
        self,
        name: str,
        id: str | None = None,
        *,
        email: str | None = None,
        real_name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        tz: str = "America/New_York",
    ) -> User:
        uid = self.ids.reserve(id) if id else self.ids.new("U")
        user = User(uid, name, real_name or name.replace(".", " ").title(), email, is_bot, deleted, tz, self.team_id)
        self.users[uid] = user
        return user

    def im_for(self, user_id: str) -> Channel:
        """The app's DM with ``user_id``, created on first use."""
        for ch in self.channels.values():
            if ch.is_im and ch.im_user == user_id:
                return ch
        ch = Channel(id=self.ids.new("D"), name=user_id, is_im=True, im_user=user_id)
        ch.members.update({user_id, self.bot_user_id})
        self.channels[ch.id] = ch
        return ch

    def find_channel(self, ref: str | None) -> Channel | None:
        """Resolve a channel id, ``#name`` or ``name``."""
        if not ref:
            return None
        if ref in self.channels:
            return self.channels[ref]
        name = ref.lstrip("#")
        return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)

    def add_user_message(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> str:
        """Store a message written by a human (no permission checks); returns its ts."""
        ch = self.find_channel(channel)
        if ch is None:
            raise KeyError(channel)
        data: dict[str, Any] = {"type": "message", "user": user, "text": text, "ts": self.ts.next(),
                                "team": self.team_id, "client_msg_id": str(uuid.uuid4())}  # fmt: skip
        self.store(ch, data, thread_ts, broadcast=False)
        return str(data["ts"])

    # ----------------------------------------------------------------- argument helpers
    def channel_arg(self, args: dict[str, Any], key: str = "channel") -> Channel:
        ch = self.find_channel(args.get(key))
        if ch is None or (ch.is_private and self.bot_user_id not in ch.members):
            raise SlackError("channel_not_found")
        return ch

    def member_channel(self, args: dict[str, Any]) -> Channel:
        ch = self.channel_arg(args)
        if self.bot_user_id not in ch.members:
            raise SlackError("not_in_channel")
        return ch

    def post_target(self, args: dict[str, Any]) -> Channel:
        ref = args.get("channel")
        if isinstance(ref, str) and USER_RE.match(ref) and ref not in self.channels:
            if ref not in self.users:
                raise SlackError("channel_not_found")
            return self.im_for(ref)
        ch = self.channel_arg(args)
        if ch.archived:
            raise SlackError("is_archived")
        if self.bot_user_id not in ch.members:
            raise SlackError("not_in_channel")
        return ch

    def json_arg(self, args: dict[str, Any], key: str, error: str) -> Any:
        value = args.get(key)
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else None
            except json.JSONDecodeError as exc:
                raise SlackError(error) from exc
        return value

    def blocks_arg(self, args: dict[str, Any], method: str, surface: str = "message") -> list[dict[str, Any]] | None:
        blocks = self.json_arg(args, "blocks", "invalid_blocks_format")
        if blocks is None:
            return None
        if not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        errors = validate_blocks(blocks, surface)
        if errors:
            self.block_errors.append(BlockErrorRecord(method, surface, errors, blocks))
            raise SlackError("invalid_blocks", extra={
                "errors": errors, "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
            })  # fmt: skip
        return self.with_block_ids(blocks)

    def with_block_ids(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = copy.deepcopy(blocks)
        for block in out:
            block.setdefault("block_id", self.ids.block_id())
        return out

    def text_arg(self, args: dict[str, Any]) -> tuple[str, list[str]]:
        text = args.get("text")
        text = "" if text is None else str(text)
        cap = limits().message_text_truncated_above
        return (text[:cap], ["message_truncated"]) if len(text) > cap else (text, [])

    def attachments_arg(self, args: dict[str, Any]) -> list[dict[str, Any]] | None:
        attachments = self.json_arg(args, "attachments", "invalid_attachments")
        if attachments is not None and not isinstance(attachments, list):
            raise SlackError("invalid_attachments")
        if attachments and len(attachments) > MAX_ATTACHMENTS:
            raise SlackError("too_many_attachments")
        return attachments

    def with_warnings(self, resp: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        if warnings:
            resp["warning"] = ",".join(warnings)
            resp["response_metadata"] = {
                "warnings": warnings,
                "messages": ["[WARN] Your message was truncated but still posted. "
                             "The `text` field accepts up to 40,000 characters."],
            }  # fmt: skip
        return resp

    def bot_message(self, ts: str, text: str, blocks: list[Any] | None, attachments: list[Any] | None,
                     args: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        msg: dict[str, Any] = {"user": self.bot_user_id, "type": "message", "ts": ts, "bot_id": self.bot_id,
                               "app_id": self.app_id, "text": text, "team": self.team_id}  # fmt: skip
        msg["bot_profile"] = {"id": self.bot_id, "app_id": self.app_id, "name": self.bot_name, "deleted": False,
                              "updated": 1700000000, "team_id": self.team_id,
                              "icons": {"image_48": f"https://avatars.slack-edge.com/{self.bot_id}.png"}}  # fmt: skip
        if blocks:
            msg["blocks"] = blocks
        if attachments:
            msg["attachments"] = [{"id": i + 1, **a} for i, a in enumerate(attachments)]
        if args.get("username"):
            msg["username"] = str(args["username"])
        metadata = self.json_arg(args, "metadata", "invalid_metadata_format")
        if metadata:
            msg["metadata"] = metadata
        return msg

    def thread_root(self, ch: Channel, thread_ts: Any) -> StoredMessage:
        if not isinstance(thread_ts, str) or not TS_RE.match(thread_ts):
            raise SlackError("invalid_thread_ts")
        target = ch.live(thread_ts)
        if target is None:
            raise SlackError("invalid_thread_ts")
        root = ch.live(str(target.data["thread_ts"])) if target.is_reply else target
        if root is None:
            raise SlackError("invalid_thread_ts")
        return root

    def store(self, ch: Channel, data: dict[str, Any], thread_ts: str | None, *, broadcast: bool) -> None:
        if thread_ts:
            root = self.thread_root(ch, thread_ts)
            data["thread_ts"] = root.ts
            data["parent_user_id"] = root.data.get("user", self.bot_user_id)
            if broadcast:
                data["subtype"] = "thread_broadcast"
        ch.messages[str(data["ts"])] = StoredMessage(data)
        if thread_ts:
            self.refresh_thread(ch, str(data["thread_ts"]))

    def refresh_thread(self, ch: Channel, root_ts: str) -> None:
        root = ch.messages.get(root_ts)
        if root is None:
            return
        replies = ch.replies(root_ts)
        users = list(dict.fromkeys(str(r.data.get("user")) for r in replies))
        root.data.update(thread_ts=root_ts, reply_count=len(replies), reply_users_count=len(users))
        root.data.update(reply_users=users, is_locked=False, subscribed=False)
        if replies:
            root.data["latest_reply"] = replies[-1].ts
        else:
            root.data.pop("latest_reply", None)

    def own_message(self, ch: Channel, ts: Any, forbidden: str) -> StoredMessage:
        if not isinstance(ts, str) or ts == "":
            raise invalid_arguments("missing required field: ts")
        msg = ch.live(ts)
        if msg is None:
            raise SlackError("message_not_found")
        if msg.data.get("bot_id") != self.bot_id:
            raise SlackError(forbidden)
        return msg

    def view_arg(self, args: dict[str, Any], method: str, surface: str | None = None) -> dict[str, Any]:
        view = self.json_arg(args, "view", "invalid_arguments")
        if not isinstance(view, dict):
            raise invalid_arguments("missing required field: view")
        if surface and view.get("type") != surface:
            raise invalid_arguments(f"must be one of: {surface} [json-pointer:/view/type]")
        errors = validate_view(view)
        if errors:
            self.block_errors.append(BlockErrorRecord(method, str(view.get("type")), errors, view))
            raise invalid_arguments(*errors)
        return view

    def view_object(self, view: dict[str, Any], view_id: str, root_id: str, previous: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": view_id, "team_id": self.team_id, "type": view["type"],
            "blocks": self.with_block_ids(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata", ""), "callback_id": view.get("callback_id", ""),
            "state": {"values": {}}, "hash": f"{int(time.time())}.{self.ids.hex(8)}",
            "title": view.get("title"), "clear_on_close": as_bool(view.get("clear_on_close", False)),
            "notify_on_close": as_bool(view.get("notify_on_close", False)), "close": view.get("close"),
            "submit": view.get("submit"), "previous_view_id": previous, "root_view_id": root_id,
            "app_id": self.app_id, "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id, "bot_id": self.bot_id,
        }  # fmt: skip
        self.views[view_id] = out
        return out

    def permalink(self, ch: Channel, msg: StoredMessage) -> str:
        """``https://<domain>.slack.com/archives/<channel>/p<ts digits>`` (+ thread query for replies)."""
        link = f"https://{self.team_domain}.slack.com/archives/{ch.id}/p{msg.ts.replace('.', '')}"
        if msg.is_reply:
            link += f"?thread_ts={msg.data['thread_ts']}&cid={ch.id}"
        return link
