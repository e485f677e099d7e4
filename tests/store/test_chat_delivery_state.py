"""Card delivery's memory is the database: a burst group and a broken-channel notice survive a restart.

Drives :class:`handoff.chat.delivery.CardDelivery` (the one service behind Slack and Teams) with a recording
surface, on SQLite and PostgreSQL; "a restart" is a second, fresh ``CardDelivery`` over the same database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from handoff.cards import HandoffCard
from handoff.chat.delivery import CardDelivery
from handoff.chat.surface import ChannelUnavailable, GroupView, Posted, Rendered, ThreadNote
from handoff.contract import HandoffIn
from handoff.models import Agent, Handoff, Surface
from handoff.outbox import OutboxItem, OutboxStatus
from tests.support.factories import intake_body

CHANNEL, FALLBACK = "C0TECH0001", "C0FALLBACK1"


class RecordingSurface:
    """A chat surface that draws plain values and records every call (``broken``: channels that refuse posts)."""

    name = "slack"
    surface = Surface.SLACK
    default_channel = FALLBACK

    def __init__(self) -> None:
        self.posts: list[tuple[str, Any, str | None]] = []
        self.updates: list[tuple[Posted, Any]] = []
        self.notices: list[tuple[str, str]] = []
        self.texts: list[tuple[str, str]] = []
        self.broken: set[str] = set()

    def card(self, card: HandoffCard, agents: Mapping[str, Agent], channel: str) -> Rendered:
        return Rendered(card.handoff.id, {"card": card.handoff.id, "status": card.handoff.status.value})

    def transcript(self, card: HandoffCard) -> Rendered:
        return Rendered("transcript", {"transcript": card.handoff.id})

    def thread_note(self, note: ThreadNote, agents: Mapping[str, Agent]) -> Rendered:
        return Rendered(note.text, {"note": note.text})

    def customer_messages(self, texts: Sequence[str]) -> Rendered:
        return Rendered(" / ".join(texts), {"messages": list(texts)})

    def moved(self, handoff: Handoff, permalink: str | None, to_channel: str) -> Rendered:
        return Rendered("moved", {"moved": to_channel})

    def group(self, view: GroupView) -> Rendered:
        return Rendered("group", {"group": view.total, "shown": [h.id for h in view.handoffs]})

    def channel_broken(self, channel: str, error: str, queue_label: str, fallback: str) -> str:
        return f"{channel} {error} {queue_label} → {fallback}"

    def person(self, agent: Agent | None, agent_id: str) -> str | None:
        return "U0LEAD"

    async def post(self, channel: str, message: Rendered, *, thread: str | None = None) -> Posted:
        if channel in self.broken:
            raise ChannelUnavailable(channel, "is_archived")
        self.posts.append((channel, message.body, thread))
        self.texts.append((channel, message.text))
        return Posted(channel, f"1700000000.{len(self.posts):06d}")

    async def update(self, at: Posted, message: Rendered) -> None:
        self.updates.append((at, message.body))

    async def permalink(self, at: Posted) -> str | None:
        return None

    async def notify(self, person: str, text: str) -> None:
        self.notices.append((person, text))

    def backlog_seconds(self, channel: str) -> float:
        return 0.0


def item(h: Handoff, n: int) -> OutboxItem:
    return OutboxItem(id=n, destination="slack", kind="created", handoff_id=h.id,
                      payload={"event_id": n, "handoff_id": h.id, "kind": "created", "data": {}},
                      idempotency_key=f"k{n}", attempts=0, status=OutboxStatus.DELIVERING,
                      created_at=datetime.now(UTC))


async def _intakes(rt: Any, n: int) -> list[Handoff]:
    return [(await rt.intake.submit(HandoffIn.model_validate(intake_body()))).handoff for _ in range(n)]


def _config(rt: Any, **chat: Any) -> Any:
    config = rt.deps.config.model_copy(update={
        "chat": rt.deps.config.chat.model_copy(update=chat),
        "queues": {**rt.deps.config.queues,
                   "technical": rt.deps.config.queues["technical"].model_copy(
                       update={"channels": {"slack": CHANNEL}, "lead": None})}})
    return type(rt.deps)(uow=rt.deps.uow, config=config, clock=rt.deps.clock)


async def test_a_burst_group_continues_after_a_restart(runtime: Any) -> None:
    deps = _config(runtime, burst_threshold=3, burst_window_seconds=600)
    handoffs = await _intakes(runtime, 6)
    surface = RecordingSurface()
    first = CardDelivery(deps, runtime.queries, surface)
    for n, h in enumerate(handoffs[:5], 1):
        await first.deliver(item(h, n))
    await first.aclose()
    cards = [b for _, b, thread in surface.posts if thread is None and b and "card" in b]
    groups = [b for _, b, thread in surface.posts if thread is None and b and "group" in b]
    assert len(cards) == 3 and len(groups) == 1  # three own cards, then one grouped card for the rest

    again = CardDelivery(deps, runtime.queries, surface)  # a new process: nothing in memory
    await again.deliver(item(handoffs[5], 6))
    await again.aclose()
    groups_after = [b for _, b, thread in surface.posts if thread is None and b and "group" in b]
    assert len(groups_after) == 1, "the restarted delivery joined the same grouped card"
    async with runtime.deps.uow(read_only=True) as uow:
        group = await uow.chat.group("slack", CHANNEL)
        members = await uow.chat.group_members("slack", group.key(CHANNEL), 100) if group else []
    assert group is not None and set(members) == {h.id for h in handoffs[3:]}


async def test_the_lead_is_told_once_about_a_broken_channel_even_across_restarts(runtime: Any) -> None:
    deps = _config(runtime, burst_threshold=100)
    surface = RecordingSurface()
    surface.broken.add(CHANNEL)
    handoffs = await _intakes(runtime, 3)
    for n, h in enumerate(handoffs, 1):
        delivery = CardDelivery(deps, runtime.queries, surface)  # a fresh one each time
        await delivery.deliver(item(h, n))
        await delivery.aclose()
    assert [c for c, b, t in surface.posts if t is None and b and "card" in b] == [FALLBACK] * 3
    # No lead configured: the one notice goes to the fallback channel as plain text.
    notices = [text for (c, b, _), (_, text) in zip(surface.posts, surface.texts, strict=True) if b is None]
    assert notices == [f"{CHANNEL} is_archived Technical → {FALLBACK}"] and surface.notices == []
