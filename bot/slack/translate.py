"""Plain translators from Slack payloads (as Bolt hands them over) to small typed commands.

One function per inbound payload kind; no I/O, no Bolt types, so they are tested with recorded payloads.
Missing or malformed fields raise :class:`~handoff.errors.InvalidCommand` with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.slack.ids import ActionId, Field, Ref, parse_ref
from handoff.errors import InvalidCommand
from handoff.lifecycle import EscalationForm
from handoff.models import Tier

NOTE_MAX = 3000


@dataclass(frozen=True, slots=True)
class Click:
    """A button press on a card: who, where, which action, on what."""

    action: ActionId
    user_id: str
    ref: Ref
    channel_id: str | None
    message_ts: str | None
    trigger_id: str | None


@dataclass(frozen=True, slots=True)
class Transfer:
    handoff_id: str
    user_id: str
    to_queue: str | None  # None: stay in the queue, suggest ``to_agent_user``
    to_agent_user: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class Escalate:
    handoff_id: str
    user_id: str
    to_tier: Tier | None
    form: EscalationForm


@dataclass(frozen=True, slots=True)
class Resolve:
    handoff_id: str
    user_id: str
    note: str | None
    outcome: str
    kb_gap: bool


@dataclass(frozen=True, slots=True)
class Note:
    handoff_id: str
    user_id: str
    text: str


@dataclass(frozen=True, slots=True)
class ThreadReply:
    """A human's message in a thread of a channel Baton posts in."""

    channel_id: str
    thread_ts: str
    user_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Command:
    """``/handoff <name> <arg>``."""

    name: str
    arg: str
    user_id: str
    channel_id: str | None


def _user(body: Mapping[str, Any]) -> str:
    user = body.get("user") or {}
    uid = user.get("id") if isinstance(user, Mapping) else None
    if not isinstance(uid, str) or not uid:
        raise InvalidCommand("the payload names no user", field="user")
    return uid


def to_click(body: Mapping[str, Any]) -> Click:
    """A ``block_actions`` payload → :class:`Click` (the first action)."""
    actions = body.get("actions") or []
    if not actions:
        raise InvalidCommand("no action in the payload", field="actions")
    action = actions[0]
    try:
        action_id = ActionId(action.get("action_id"))
    except ValueError:
        raise InvalidCommand(f"unknown action {action.get('action_id')!r}", field="action_id") from None
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    return Click(action=action_id, user_id=_user(body), ref=parse_ref(action.get("value")), channel_id=channel,
                 message_ts=container.get("message_ts"), trigger_id=body.get("trigger_id"))


def _state(view: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((view.get("state") or {}).get("values")) or {}


def _value(view: Mapping[str, Any], field: Field) -> str | None:
    """The submitted value of one input, whatever its element type (text, select, radio, users)."""
    entry = (_state(view).get(field.value) or {}).get(field.value) or {}
    for key in ("value", "selected_user"):
        if isinstance(entry.get(key), str):
            return str(entry[key]).strip() or None
    selected = entry.get("selected_option")
    if isinstance(selected, Mapping) and isinstance(selected.get("value"), str):
        return str(selected["value"])
    return None


def _checked(view: Mapping[str, Any], field: Field) -> bool:
    entry = (_state(view).get(field.value) or {}).get(field.value) or {}
    return bool(entry.get("selected_options"))


def _handoff(view: Mapping[str, Any]) -> Ref:
    ref = parse_ref(view.get("private_metadata"))
    if ref.handoff_id is None:
        raise InvalidCommand("the form points at no handoff", field="private_metadata")
    return ref


def _text(value: str | None, limit: int = NOTE_MAX) -> str | None:
    return value[:limit] if value else None


def to_transfer(body: Mapping[str, Any]) -> Transfer:
    view = body["view"]
    queue, agent = _value(view, Field.QUEUE), _value(view, Field.AGENT)
    if not queue and not agent:
        raise InvalidCommand("choose a queue or an agent to transfer to", field=Field.QUEUE.value)
    return Transfer(handoff_id=str(_handoff(view).handoff_id), user_id=_user(body), to_queue=queue,
                    to_agent_user=agent, note=_text(_value(view, Field.NOTE)))


def to_escalate(body: Mapping[str, Any]) -> Escalate:
    view = body["view"]
    summary = _value(view, Field.SUMMARY)
    if not summary:
        raise InvalidCommand("the issue summary is required", field=Field.SUMMARY.value)
    tier_raw = _value(view, Field.TIER)
    try:
        tier = Tier(tier_raw) if tier_raw else None
    except ValueError:
        raise InvalidCommand(f"unknown tier {tier_raw!r}", field=Field.TIER.value) from None
    style = _value(view, Field.HANDOFF_STYLE) or "warm"
    if style not in ("warm", "cold"):
        raise InvalidCommand("handoff style must be warm or cold", field=Field.HANDOFF_STYLE.value)
    steps = [s.strip() for s in (_value(view, Field.STEPS) or "").splitlines() if s.strip()]
    form = EscalationForm(summary=_text(summary), steps_taken=tuple(_text(s) or "" for s in steps[:50]),
                          hypothesis=_text(_value(view, Field.HYPOTHESIS)),
                          customer_impact=_text(_value(view, Field.IMPACT)), warm=style == "warm")
    return Escalate(handoff_id=str(_handoff(view).handoff_id), user_id=_user(body), to_tier=tier, form=form)


def to_resolve(body: Mapping[str, Any]) -> Resolve:
    view = body["view"]
    return Resolve(handoff_id=str(_handoff(view).handoff_id), user_id=_user(body),
                   note=_text(_value(view, Field.NOTE)), outcome=_value(view, Field.OUTCOME) or "resolved",
                   kb_gap=_checked(view, Field.KB_GAP))


def to_note(body: Mapping[str, Any]) -> Note:
    view = body["view"]
    text = _value(view, Field.NOTE)
    if not text:
        raise InvalidCommand("a note needs some text", field=Field.NOTE.value)
    return Note(handoff_id=str(_handoff(view).handoff_id), user_id=_user(body), text=text[:NOTE_MAX])


def to_thread_reply(event: Mapping[str, Any]) -> ThreadReply | None:
    """A ``message`` event → :class:`ThreadReply`, or None when it must not be relayed.

    Skipped: bot messages (ours and others'), edits/deletions and every other subtype, top-level messages,
    and messages without text.
    """
    if event.get("bot_id") or event.get("subtype") or event.get("app_id"):
        return None
    thread_ts, ts, user = event.get("thread_ts"), event.get("ts"), event.get("user")
    text = event.get("text")
    if not thread_ts or thread_ts == ts or not isinstance(user, str) or not isinstance(text, str) or not text.strip():
        return None
    return ThreadReply(channel_id=str(event.get("channel")), thread_ts=str(thread_ts), user_id=user, text=text)


def to_command(body: Mapping[str, Any]) -> Command:
    """A slash-command form → :class:`Command` (``help`` when empty)."""
    user = body.get("user_id")
    if not isinstance(user, str) or not user:
        raise InvalidCommand("the command names no user", field="user_id")
    words = str(body.get("text") or "").strip().split(None, 1)
    name = words[0].lower() if words else "help"
    return Command(name=name, arg=words[1].strip() if len(words) > 1 else "", user_id=user,
                   channel_id=body.get("channel_id"))
