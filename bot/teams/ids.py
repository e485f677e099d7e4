"""Ids shared by the Teams templates and the invoke handlers, and the one parser of ``Action.Execute`` data.

Action data is versioned JSON (``{"v": 1, "h": "ho_…"}``) so a card posted by an older build still parses;
anything else is refused with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from handoff.errors import InvalidCommand

DATA_VERSION = 1


class Verb(StrEnum):
    """``verb`` of every ``Action.Execute`` Baton draws; the invoke comes back with it."""

    REFRESH = "refresh"
    CLAIM = "claim"
    RELEASE = "release"
    TRANSFER = "transfer"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    NOTE = "note"
    CLAIM_NEXT = "claim_next"
    ACKNOWLEDGE = "acknowledge"  # the management card


class Input(StrEnum):
    """``id`` of the inputs in the cards' forms; their values arrive merged into the action's data."""

    QUEUE = "to_queue"
    NOTE = "note"
    TIER = "to_tier"
    SUMMARY = "summary"
    STEPS = "steps_taken"
    HYPOTHESIS = "hypothesis"
    IMPACT = "customer_impact"
    WARM = "warm"
    OUTCOME = "outcome"
    KB_GAP = "kb_gap"


def card_data(*, handoff_id: str | None = None, queue: str | None = None) -> dict[str, Any]:
    """The ``data`` of a card's actions: which handoff (or, on a grouped card, which queue)."""
    data: dict[str, Any] = {"v": DATA_VERSION}
    if handoff_id is not None:
        data["h"] = handoff_id
    if queue is not None:
        data["q"] = queue
    return data


@dataclass(frozen=True, slots=True)
class Execute:
    """One ``adaptiveCard/action`` invoke: the verb, the handoff or queue, and the form's inputs."""

    verb: Verb
    handoff_id: str | None
    queue: str | None
    inputs: Mapping[str, Any]


def parse_execute(value: Any) -> Execute:
    """An invoke activity's ``value`` → :class:`Execute`.

    Raises:
        InvalidCommand: not an ``Action.Execute`` Baton drew (unknown verb, wrong version, no target).
    """
    action = value.get("action") if isinstance(value, Mapping) else None
    if not isinstance(action, Mapping) or action.get("type") != "Action.Execute":
        raise InvalidCommand("not an Action.Execute invoke", field="action")
    try:
        verb = Verb(str(action.get("verb")))
    except ValueError:
        raise InvalidCommand(f"unknown action {action.get('verb')!r}", field="verb") from None
    data = action.get("data")
    if not isinstance(data, Mapping) or data.get("v") != DATA_VERSION:
        raise InvalidCommand("the card's action data is missing or from an unknown version", field="data")
    handoff_id, queue = data.get("h"), data.get("q")
    if not isinstance(handoff_id, str | None) or not isinstance(queue, str | None) or not (handoff_id or queue):
        raise InvalidCommand("the action names no handoff", field="data")
    inputs = {k: v for k, v in data.items() if k not in ("v", "h", "q")}
    return Execute(verb=verb, handoff_id=handoff_id, queue=queue, inputs=inputs)
