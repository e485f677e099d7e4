"""The supported Slack Web API methods of the fake server, registered in :data:`METHODS`.

Each handler takes the :class:`~tests.fakes.slack_workspace.Workspace` and the parsed arguments and returns
the response body, or raises :class:`~tests.fakes.slack_state.SlackError` with Slack's error code.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from tests.fakes.slack_state import SlackError
from tests.fakes.slack_workspace import Workspace, as_bool, in_range, invalid_arguments, page, require

__all__ = ["METHODS", "Handler"]

MAX_VIEW_STACK = 3
Handler = Callable[[Workspace, dict[str, Any]], dict[str, Any]]
METHODS: dict[str, Handler] = {}


def _method(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        METHODS[name] = fn
        return fn

    return register


@_method("api.test")
def api_test(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "args": {k: v for k, v in args.items() if k != "token"}}


@_method("auth.test")
def auth_test(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "url": f"https://{ws.team_domain}.slack.com/", "team": ws.team_name, "user": ws.bot_name,
            "team_id": ws.team_id, "user_id": ws.bot_user_id, "bot_id": ws.bot_id,
            "is_enterprise_install": False}  # fmt: skip


@_method("chat.postMessage")
def chat_post_message(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    ch = ws.post_target(args)
    text, warnings = ws.text_arg(args)
    blocks = ws.blocks_arg(args, "chat.postMessage")
    attachments = ws.attachments_arg(args)
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    thread_ts = args.get("thread_ts") or None
    if thread_ts:
        ws.thread_root(ch, thread_ts)  # validate before allocating a ts
    msg = ws.bot_message(ws.ts.next(), text, blocks, attachments, args)
    ws.store(ch, msg, thread_ts, broadcast=bool(thread_ts) and as_bool(args.get("reply_broadcast")))
    return ws.with_warnings({"ok": True, "channel": ch.id, "ts": msg["ts"], "message": copy.deepcopy(msg)}, warnings)


@_method("chat.update")
def chat_update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    ch = ws.channel_arg(args)
    msg = ws.own_message(ch, args.get("ts"), "cant_update_message")
    if ch.archived:
        raise SlackError("is_inactive")
    blocks = ws.blocks_arg(args, "chat.update")
    attachments = ws.attachments_arg(args)
    text, warnings = ws.text_arg(args)
    if not text and blocks is None and attachments is None:
        raise SlackError("no_text")
    if "text" in args:
        msg.data["text"] = text
    for key, value in (("blocks", blocks), ("attachments", attachments)):
        if value is not None:
            if value:
                msg.data[key] = value
            else:
                msg.data.pop(key, None)
    msg.data["edited"] = {"user": ws.bot_user_id, "ts": ws.ts.next()}
    message = {k: copy.deepcopy(v) for k, v in msg.data.items() if k != "ts"}
    resp = {"ok": True, "channel": ch.id, "ts": msg.ts, "text": msg.data["text"], "message": message}
    return ws.with_warnings(resp, warnings)


@_method("chat.delete")
def chat_delete(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    ch = ws.channel_arg(args)
    msg = ws.own_message(ch, args.get("ts"), "cant_delete_message")
    msg.deleted = True
    if msg.is_reply:
        ws.refresh_thread(ch, str(msg.data["thread_ts"]))
    return {"ok": True, "channel": ch.id, "ts": msg.ts}


@_method("chat.postEphemeral")
def chat_post_ephemeral(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    require(args, "user")
    ch = ws.post_target(args)
    user = str(args["user"])
    if user not in ws.users:
        raise SlackError("user_not_found")
    if user not in ch.members:
        raise SlackError("user_not_in_channel")
    text, warnings = ws.text_arg(args)
    blocks = ws.blocks_arg(args, "chat.postEphemeral")
    attachments = ws.attachments_arg(args)
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    ts = ws.ts.next()
    record: dict[str, Any] = {"channel": ch.id, "user": user, "ts": ts, "text": text,
                              "thread_ts": args.get("thread_ts")}  # fmt: skip
    if blocks:
        record["blocks"] = blocks
    ws.ephemerals.append(record)
    return ws.with_warnings({"ok": True, "message_ts": ts}, warnings)


@_method("chat.getPermalink")
def chat_get_permalink(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    ch = ws.channel_arg(args)
    msg = ch.live(str(args.get("message_ts") or ""))
    if msg is None:
        raise SlackError("message_not_found")
    return {"ok": True, "channel": ch.id, "permalink": ws.permalink(ch, msg)}


@_method("conversations.info")
def conversations_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    ch = ws.channel_arg(args)
    return {"ok": True, "channel": ch.to_api(ws.bot_user_id, num_members=as_bool(args.get("include_num_members")))}


@_method("conversations.join")
def conversations_join(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    ch = ws.channel_arg(args)
    if ch.is_im or ch.is_private:
        raise SlackError("method_not_supported_for_channel_type")
    if ch.archived:
        raise SlackError("is_archived")
    if ws.bot_user_id in ch.members:
        return {"ok": True, "channel": ch.to_api(ws.bot_user_id), "warning": "already_in_channel",
                "response_metadata": {"warnings": ["already_in_channel"]}}  # fmt: skip
    ch.members.add(ws.bot_user_id)
    return {"ok": True, "channel": ch.to_api(ws.bot_user_id)}


@_method("conversations.open")
def conversations_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    users = [u for u in str(args.get("users") or "").split(",") if u]
    if len(users) != 1:
        raise SlackError("users_list_not_supplied" if not users else "not_enough_users")
    if users[0] not in ws.users:
        raise SlackError("user_not_found")
    ch = ws.im_for(users[0])
    return {"ok": True, "channel": ch.to_api(ws.bot_user_id) if as_bool(args.get("return_im")) else {"id": ch.id}}


@_method("conversations.history")
def conversations_history(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    ch = ws.member_channel(args)
    msgs = [m for m in ch.messages.values() if not m.deleted and m.in_history and in_range(m.ts, args)]
    msgs.sort(key=lambda m: m.ts, reverse=True)
    out = page([copy.deepcopy(m.data) for m in msgs], args, default=100, maximum=999)
    out.update(pin_count=0, channel_actions_ts=None, channel_actions_count=0)
    return out


@_method("conversations.replies")
def conversations_replies(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    ch = ws.member_channel(args)
    require(args, "ts")
    target = ch.live(str(args["ts"]))
    if target is None:
        raise SlackError("thread_not_found")
    root_ts = str(target.data["thread_ts"]) if target.is_reply else target.ts
    root = ch.live(root_ts) or target
    msgs = [m for m in [root, *ch.replies(root_ts)] if in_range(m.ts, args)]
    return page([copy.deepcopy(m.data) for m in msgs], args, default=1000, maximum=1000)


@_method("users.info")
def users_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    user = ws.users.get(str(args.get("user") or ""))
    if user is None:
        raise SlackError("user_not_found")
    return {"ok": True, "user": user.to_api()}


@_method("users.lookupByEmail")
def users_lookup_by_email(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    email = str(args.get("email") or "").lower()
    user = next((u for u in ws.users.values() if u.email and u.email.lower() == email), None)
    if user is None:
        raise SlackError("users_not_found")
    return {"ok": True, "user": user.to_api()}


@_method("views.open")
def views_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    require(args, "trigger_id")
    view = ws.view_arg(args, "views.open", "modal")
    view_id = ws.ids.new("V")
    ws.view_stacks[view_id] = [view_id]
    return {"ok": True, "view": ws.view_object(view, view_id, view_id, None)}


@_method("views.push")
def views_push(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    require(args, "trigger_id")
    view = ws.view_arg(args, "views.push", "modal")
    if not ws.view_stacks:
        raise SlackError("invalid_trigger_id")
    root_id, stack = next(reversed(ws.view_stacks.items()))
    if len(stack) >= MAX_VIEW_STACK:
        raise SlackError("push_limit_reached")
    view_id = ws.ids.new("V")
    obj = ws.view_object(view, view_id, root_id, stack[-1])
    stack.append(view_id)
    return {"ok": True, "view": obj}


@_method("views.update")
def views_update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    if not args.get("view_id") and not args.get("external_id"):
        raise invalid_arguments("must provide either view_id or external_id")
    current = ws.views.get(str(args.get("view_id") or "")) or next(
        (v for v in ws.views.values() if args.get("external_id") and v["external_id"] == args["external_id"]), None
    )
    if current is None:
        raise SlackError("not_found")
    if args.get("hash") and args["hash"] != current["hash"]:
        raise SlackError("hash_conflict")
    view = ws.view_arg(args, "views.update", str(current["type"]))
    obj = ws.view_object(view, current["id"], current["root_view_id"], current["previous_view_id"])
    return {"ok": True, "view": obj}


@_method("views.publish")
def views_publish(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    require(args, "user_id")
    user_id = str(args["user_id"])
    if user_id not in ws.users:
        raise SlackError("user_not_found")
    view = ws.view_arg(args, "views.publish", "home")
    view_id = ws.home_views.get(user_id)
    if view_id and args.get("hash") and args["hash"] != ws.views[view_id]["hash"]:
        raise SlackError("hash_conflict")
    view_id = view_id or ws.ids.new("V")
    ws.home_views[user_id] = view_id
    return {"ok": True, "view": ws.view_object(view, view_id, view_id, None)}
