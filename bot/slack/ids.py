"""Ids shared by listeners and templates, and the one parser of button values and modal metadata.

Button values and ``private_metadata`` are versioned JSON (``{"v":1,"h":"ho_…"}``) so a card posted by an
older build still parses, and anything else is refused with a reason instead of a stack trace.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from handoff.errors import InvalidCommand

VALUE_VERSION = 1
ACK_FLUSH_SECONDS = 0.02


class ActionId(StrEnum):
    """``action_id`` of every interactive element Baton posts."""

    CLAIM = "baton.claim"
    RELEASE = "baton.release"
    TRANSFER = "baton.transfer"
    ESCALATE = "baton.escalate"
    RESOLVE = "baton.resolve"
    NOTE = "baton.note"
    CLAIM_NEXT = "baton.claim_next"
    ACKNOWLEDGE = "baton.acknowledge"  # the management card


class CallbackId(StrEnum):
    """``callback_id`` of the modals; their ``view_submission`` comes back with it."""

    TRANSFER = "baton.transfer_modal"
    ESCALATE = "baton.escalate_modal"
    RESOLVE = "baton.resolve_modal"
    NOTE = "baton.note_modal"


class Field(StrEnum):
    """``block_id`` (and ``action_id``) of modal inputs; state values are read by these names."""

    QUEUE = "queue"
    AGENT = "agent"
    NOTE = "note"
    SUMMARY = "summary"
    STEPS = "steps"
    HYPOTHESIS = "hypothesis"
    IMPACT = "impact"
    HANDOFF_STYLE = "handoff_style"
    TIER = "tier"
    OUTCOME = "outcome"
    KB_GAP = "kb_gap"


COMMAND = "/handoff"


@dataclass(frozen=True, slots=True)
class Ref:
    """What a button or a modal points at: a handoff (``h``), or a queue (``q``, for "claim next"); where from."""

    handoff_id: str | None = None
    queue: str | None = None
    channel: str | None = None
    thread_ts: str | None = None

    def encode(self) -> str:
        data: dict[str, object] = {"v": VALUE_VERSION}
        for key, value in (("h", self.handoff_id), ("q", self.queue), ("c", self.channel), ("t", self.thread_ts)):
            if value is not None:
                data[key] = value
        return json.dumps(data, separators=(",", ":"))


def parse_ref(raw: object) -> Ref:
    """Parse a button value or ``private_metadata``.

    Raises:
        InvalidCommand: not Baton's JSON, an unknown version, or pointing at nothing.
    """
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or data.get("v") != VALUE_VERSION:
        raise InvalidCommand("this button is not from this version of Baton; use the newest card", field="value")
    values = {k: data.get(k) for k in ("h", "q", "c", "t")}
    if any(v is not None and (not isinstance(v, str) or len(v) > 200) for v in values.values()):
        raise InvalidCommand("malformed button value", field="value")
    ref = Ref(values["h"], values["q"], values["c"], values["t"])
    if ref.handoff_id is None and ref.queue is None:
        raise InvalidCommand("the button points at no handoff", field="value")
    return ref


async def acknowledge(ack: Any, **kwargs: Any) -> None:
    """``ack()``, then let Bolt's runner see it before the listener goes on.

    Bolt (1.30) polls for the ack every 10 ms; when the listener raises before that poll (a fast domain error
    such as "already claimed"), the error path clears the ack and Slack gets a 404 after 3 s instead of 200.
    Yielding a little longer than one poll interval makes the 200 go out first.
    """
    await ack(**kwargs)
    await asyncio.sleep(ACK_FLUSH_SECONDS)
