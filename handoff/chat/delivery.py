"""Card delivery for any chat surface: handoff events from the outbox → cards, card updates, thread lines.

One :class:`CardDelivery` per surface is that surface's outbox destination. It owns every rule of *what* to
send *where*: the queue's channel (``BatonConfig.channel_for``), where each card lives (``external_refs``:
``<surface>``/``card`` → ``<channel>:<message id>`` with the digest of what the card shows), update coalescing
(an update whose drawing equals what the card shows is skipped, so a burst of changes costs one update), moves
after a transfer, a deleted card reposted, a broken channel falling back to the surface's default channel
with one notice to the queue lead, and burst grouping (more than ``chat.burst_threshold`` arrivals for one
channel within ``chat.burst_window_seconds`` share one grouped card). Burst groups and notices live in the
database (:mod:`handoff.chat.state`). The surface only draws and talks (:class:`~handoff.chat.surface.ChatSurface`).

Delivery is by id: every item loads the handoff's current state, so a retry or a late item sends the newest card.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from handoff.cards import HandoffCard
from handoff.chat.state import ChatGroup
from handoff.chat.surface import (
    ChannelUnavailable,
    ChatSurface,
    GroupView,
    ManagementView,
    MessageGone,
    Posted,
    Rendered,
    ThreadNote,
)
from handoff.errors import NotFound
from handoff.models import Agent, Event, EventKind, Handoff, Status
from handoff.outbox import REPORT, NotAttempted, OutboxItem, PermanentFailure
from handoff.ports import ExternalRef
from handoff.services.common import Deps
from handoff.services.queries import Queries

log = logging.getLogger("baton.chat")

KIND = "card"
MANAGEMENT = "management"  # the management card of a handoff escalated to management
ALERTS = "sla_alerts"  # which SLA warnings/breaches were already posted (a redelivery posts nothing twice)
ALERT_KINDS = frozenset({EventKind.SLA_WARNING.value, EventKind.SLA_BREACHED.value})
PREVIOUS = "card_previous"  # the card before a repost/move: replies in its thread still reach the handoff
THREAD_KINDS = frozenset({EventKind.NOTE_ADDED, EventKind.AGENT_MESSAGE, EventKind.CUSTOMER_MESSAGE})
#: Events that change nothing on the card or in its thread (the periodic "still on it" to the customer).
IGNORED_KINDS = frozenset({EventKind.CUSTOMER_UPDATE_SENT.value})
GROUP_UPDATE_INTERVAL = 3.0  # seconds between updates of one grouped card
TRANSCRIPT_BACKLOG_SECONDS = 1.0  # post the transcript right away only if the channel is not congested
GROUP_SHOWN = 200  # members drawn on a grouped card (the newest)
AGENTS_TTL = 2.0
CUSTOMER = EventKind.CUSTOMER_MESSAGE.value
COALESCE_MAX = 20  # customer messages per thread post


class CardDelivery:
    """The outbox destination of one chat surface: posts, updates and threads context cards.

    Args:
        deps: shared collaborators (unit of work, clock, configuration).
        queries: read-side use cases (the card's facts, positions).
        surface: draws and talks for one platform.
        on_change: called after a state change was delivered (e.g. Slack's App Home refresh).
    """

    def __init__(self, deps: Deps, queries: Queries, surface: ChatSurface, *,
                 on_change: Callable[[], None] | None = None) -> None:
        self.deps = deps
        self.queries = queries
        self.surface = surface
        self.name = surface.name
        self.on_change = on_change
        self._group_locks: dict[str, asyncio.Lock] = {}
        self._pushed: dict[str, float] = {}  # channel → monotonic time of the grouped card's last update
        self._tasks: set[asyncio.Task[None]] = set()
        self._agents: tuple[float, Mapping[str, Agent]] = (-1e9, {})
        self._lanes = asyncio.Semaphore(deps.config.outbox.concurrency)

    def subscribes(self, event: Event) -> bool:
        return event.kind.value not in IGNORED_KINDS  # anything else may change the card or its thread

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ lookups
    def channel_for(self, queue: str) -> str:
        """The queue's channel on this surface, else the surface's default channel."""
        channel = self.deps.config.channel_for(queue, self.name, self.surface.default_channel)
        if not channel:
            raise PermanentFailure(f"no {self.name} channel for queue {queue!r}: set queues.{queue}.channels."
                                   f"{self.name} or the surface's default channel")
        return channel

    async def agents(self) -> Mapping[str, Agent]:
        at, agents = self._agents
        if time.monotonic() - at > AGENTS_TTL:
            agents = {a.id: a for a in await self.queries.agents()}
            self._agents = (time.monotonic(), agents)
        return agents

    async def _ref(self, handoff_id: str) -> ExternalRef | None:
        async with self.deps.uow(read_only=True) as uow:
            return await uow.refs.get(handoff_id, self.name, KIND)

    async def _put_ref(self, handoff_id: str, external_id: str, data: Mapping[str, Any], *, kind: str = KIND) -> None:
        async with self.deps.uow() as uow:
            await uow.refs.put(handoff_id, self.name, kind, external_id, data, self.deps.now())
            await uow.commit()

    @staticmethod
    def _posted(ref: ExternalRef) -> Posted:
        return Posted(str(ref.data["channel"]), str(ref.data.get("message_id") or ref.data["ts"]))

    # ------------------------------------------------------------------ delivery
    async def deliver_batch(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
        """Every leased item at once, so a flood from one handoff cannot starve the channel's other cards.

        Lanes (one handoff's items) run in parallel, each in order, as the dispatcher would run them, with two
        changes: lanes that start with a new card go first (their posts take the channel's next pacing slots),
        and consecutive customer messages of one handoff become one thread post (up to :data:`COALESCE_MAX`).
        A failure stops its lane; the items after it are :class:`~handoff.outbox.NotAttempted`.
        """
        lanes: dict[str, list[int]] = {}
        for i, item in enumerate(items):
            lanes.setdefault(item.handoff_id or f"#{item.id}", []).append(i)
        results: list[BaseException | None] = [NotAttempted("an earlier item of its lane failed")] * len(items)
        cards_first = [lane for lane in lanes.values() if items[lane[0]].kind == EventKind.CREATED.value]
        others = [lane for lane in lanes.values() if items[lane[0]].kind != EventKind.CREATED.value]
        for group in (cards_first, others):
            await asyncio.gather(*(self._lane(items, lane, results) for lane in group))
        return results

    async def _lane(self, items: Sequence[OutboxItem], lane: list[int], results: list[BaseException | None]
                    ) -> None:
        async with self._lanes:
            k = 0
            while k < len(lane):
                run = [lane[k]]
                if items[lane[k]].kind == CUSTOMER:
                    while (k + len(run) < len(lane) and len(run) < COALESCE_MAX
                           and items[lane[k + len(run)]].kind == CUSTOMER):
                        run.append(lane[k + len(run)])
                try:
                    if len(run) > 1:
                        await self._customer_messages([items[j] for j in run])
                    else:
                        await self.deliver(items[run[0]])
                except Exception as exc:
                    results[run[0]] = exc  # the rest of the run and of the lane: NotAttempted
                    return
                for j in run:
                    results[j] = None
                k += len(run)

    async def deliver(self, item: OutboxItem) -> None:
        if item.kind == REPORT:  # the daily/weekly report: no handoff, a channel of its own
            await self.surface.post(str(item.payload["channel"]), self.surface.report(item.payload["facts"]))
            return
        handoff_id = item.handoff_id
        if handoff_id is None:
            return
        try:
            card = await self.queries.card(handoff_id)
        except NotFound:
            raise PermanentFailure(f"handoff {handoff_id} no longer exists") from None
        if item.kind == EventKind.CREATED.value:
            await self._created(card)
        elif item.kind in THREAD_KINDS:
            await self._thread(card, item, EventKind(item.kind))
        elif item.kind in ALERT_KINDS:
            await self._refresh(card)
            await self._alert(card, item)
        elif item.kind == EventKind.MANAGEMENT_ESCALATED.value:
            await self._refresh(card)
            await self._management(card)
        else:  # a state change, enrichment, or a kind this build does not know: show the current state
            await self._refresh(card)
            if item.kind == EventKind.ACKNOWLEDGED.value:
                await self._management(card, post=False)
        if item.kind not in THREAD_KINDS and self.on_change is not None:
            self.on_change()

    async def _created(self, card: HandoffCard) -> None:
        h = card.handoff
        ref = await self._ref(h.id)
        if ref is not None:  # a replay: the card exists (or the handoff is grouped); make it current
            await self._refresh(card, ref)
            return
        channel = self.channel_for(h.queue)
        if h.status is Status.QUEUED and await self._in_burst(channel, h):
            await self._join_group(h, channel)
            return
        await self._post_card(card, channel)

    async def _post_card(self, card: HandoffCard, channel: str, *, previous: ExternalRef | None = None) -> Posted:
        """Post the card (to the fallback channel if ``channel`` is gone), store where, thread the transcript."""
        h = card.handoff
        agents = await self.agents()
        drawn = self.surface.card(card, agents, channel)
        try:
            posted = await self.surface.post(channel, drawn)
        except ChannelUnavailable as exc:
            channel = await self._fallback(h.queue, channel, exc.error)
            drawn = self.surface.card(card, agents, channel)
            posted = await self.surface.post(channel, drawn)
        data: dict[str, Any] = {"channel": posted.channel, "message_id": posted.message_id, "digest": drawn.digest,
                                "queue": h.queue, "transcript": False}
        if previous is not None:
            data["previous"] = previous.external_id
            if not previous.external_id.startswith("group:"):
                await self._put_ref(h.id, previous.external_id, dict(previous.data), kind=PREVIOUS)
        await self._put_ref(h.id, posted.key, data)
        if self.surface.backlog_seconds(posted.channel) <= TRANSCRIPT_BACKLOG_SECONDS:
            try:
                await self._post_transcript(card, posted, data)
            except (MessageGone, ChannelUnavailable) as exc:  # the card is out; its transcript follows a change
                log.warning("transcript of %s at %s not posted (%s); the next change retries", h.id, posted.key, exc)
        # else: the channel is congested (a burst); cards first — the transcript follows on the next change
        return posted

    async def _post_transcript(self, card: HandoffCard, at: Posted, data: Mapping[str, Any]) -> None:
        await self.surface.post(at.channel, self.surface.transcript(card), thread=at.message_id)
        await self._put_ref(card.handoff.id, at.key, {**data, "transcript": True})

    async def _refresh(self, card: HandoffCard, ref: ExternalRef | None = None) -> None:
        """Bring the card in line with the handoff's current state (one update, or none if it is current)."""
        h = card.handoff
        ref = ref or await self._ref(h.id)
        if ref is None:
            await self._post_card(card, self.channel_for(h.queue))
            return
        if ref.external_id.startswith("group:"):
            channel = str(ref.data.get("channel", ""))
            if h.status is not Status.QUEUED:  # taken out of the burst: it gets its own card now
                await self._post_card(card, self.channel_for(h.queue))
            await self._touch_group(channel)
            return
        at = self._posted(ref)
        if ref.data.get("queue") != h.queue and self.channel_for(h.queue) != at.channel:
            await self._move(card, ref, at)
            return
        data = dict(ref.data)
        drawn = self.surface.card(card, await self.agents(), at.channel)
        if data.get("digest") != drawn.digest:  # else: the card already shows exactly this (coalesced)
            try:
                await self.surface.update(at, drawn)
            except (MessageGone, ChannelUnavailable) as exc:
                log.warning("card of %s at %s is gone (%s); reposting", h.id, at.key, exc)
                await self._post_card(card, self.channel_for(h.queue), previous=ref)
                return
            data.update(digest=drawn.digest, queue=h.queue)
            await self._put_ref(h.id, ref.external_id, data)
        if not data.get("transcript"):
            await self._post_transcript(card, at, data)

    async def _move(self, card: HandoffCard, ref: ExternalRef, old: Posted) -> None:
        """Transferred to a queue with another channel: the card appears there; the old one links to it."""
        h = card.handoff
        new = await self._post_card(card, self.channel_for(h.queue), previous=ref)
        link = await self.surface.permalink(new)
        try:
            await self.surface.update(old, self.surface.moved(h, link, new.channel))
        except (MessageGone, ChannelUnavailable) as exc:
            log.info("old card of %s could not be relinked (%s)", h.id, exc)

    async def _thread(self, card: HandoffCard, item: OutboxItem, kind: EventKind) -> None:
        data = item.payload.get("data") or {}
        actor = str(item.payload.get("actor") or "")
        source = item.payload.get("source")
        if kind is EventKind.AGENT_MESSAGE and source == self.name:
            return  # the agent typed it in this surface's thread: it is already there
        reason = item.payload.get("reason")
        style = kind.value
        if kind is EventKind.NOTE_ADDED and source == self.name and reason:
            style = "kept_internal"  # a thread reply that did not go to the customer: mark it as internal
        note = ThreadNote(style, str(data.get("text") or ""),
                          actor.split(":", 1)[1] if actor.startswith("agent:") else None, reason)
        await self._in_thread(card, self.surface.thread_note(note, await self.agents()))

    async def _customer_messages(self, items: Sequence[OutboxItem]) -> None:
        """Several customer messages of one handoff, in order, as one thread post."""
        handoff_id = str(items[0].handoff_id)
        try:
            card = await self.queries.card(handoff_id)
        except NotFound:
            raise PermanentFailure(f"handoff {handoff_id} no longer exists") from None
        texts = [str((i.payload.get("data") or {}).get("text") or "") for i in items]
        await self._in_thread(card, self.surface.customer_messages(texts))

    async def _in_thread(self, card: HandoffCard, drawn: Rendered) -> None:
        """Post into the card's thread (giving the handoff its own card first if it has none yet)."""
        h = card.handoff
        ref = await self._ref(h.id)
        if ref is None or ref.external_id.startswith("group:"):  # no thread yet: give it its own card first
            await self._post_card(card, self.channel_for(h.queue))
            if ref is not None:
                await self._touch_group(str(ref.data.get("channel", "")))
            ref = await self._ref(h.id)
            if ref is None:
                raise PermanentFailure(f"no card for {h.id}")
        at = self._posted(ref)
        if not ref.data.get("transcript"):
            await self._post_transcript(card, at, dict(ref.data))
        try:
            await self.surface.post(at.channel, drawn, thread=at.message_id)
        except (MessageGone, ChannelUnavailable) as exc:
            log.warning("thread of %s at %s is gone (%s); reposting the card", h.id, at.key, exc)
            new = await self._post_card(card, self.channel_for(h.queue), previous=ref)
            await self.surface.post(new.channel, drawn, thread=new.message_id)

    # ------------------------------------------------------------------ SLA alerts and the management card
    async def _alert(self, card: HandoffCard, item: OutboxItem) -> None:
        """An SLA warning or breach: one post in the card's thread mentioning the lead (or @here), and on a breach
        a direct notice to the supervisor — each once, however often the outbox delivers the event."""
        h = card.handoff
        key = str(item.payload.get("event_id") or item.id)
        async with self.deps.uow(read_only=True) as uow:
            done = await uow.refs.get(h.id, self.name, ALERTS)
        posted = list((done.data.get("posted") if done else None) or [])
        data = item.payload.get("data") or {}
        agents = await self.agents()
        card_ref = await self._ref(h.id)
        if card_ref is not None and card_ref.external_id.startswith("group:"):
            # Part of a burst's grouped card: one post per handoff would undo the grouping (and give each its
            # own card). The grouped card lists the most urgent; claiming one posts its card with the SLA line.
            await self._touch_group(str(card_ref.data.get("channel", "")))
            return
        if key not in posted:
            mention = str(data.get("mention") or "") or None
            if mention and mention.startswith("lead:"):
                mention = mention.split(":", 1)[1]
            note = ThreadNote(item.kind, str(item.payload.get("reason") or ""), None, None, mention)
            await self._in_thread(card, self.surface.thread_note(note, agents))
            posted.append(key)
            await self._put_ref(h.id, "alerts", {"posted": posted[-50:]}, kind=ALERTS)
        supervisor = data.get("supervisor") if item.kind == EventKind.SLA_BREACHED.value else None
        if supervisor and f"dm:{key}" not in posted:
            person = self.surface.person(agents.get(str(supervisor)), str(supervisor))
            if person:
                ref = await self._ref(h.id)
                link = await self.surface.permalink(self._posted(ref)) if ref and not \
                    ref.external_id.startswith("group:") else None
                text = (f"SLA breach on a {h.priority.value} {h.topic} handoff in {self.deps.config.label(h.queue)}: "
                        f"{item.payload.get('reason') or ''}" + (f" — {link}" if link else f" ({h.id})"))
                try:
                    await self.surface.notify(person, text)
                except (ChannelUnavailable, MessageGone) as exc:  # no direct line: the thread post said it
                    log.info("could not tell the supervisor of %s directly (%s)", h.id, exc)
            posted.append(f"dm:{key}")
            await self._put_ref(h.id, "alerts", {"posted": posted[-50:]}, kind=ALERTS)

    async def _management(self, card: HandoffCard, *, post: bool = True) -> None:
        """Post (or bring up to date) the management card in this surface's management channel."""
        h = card.handoff
        channel = self.deps.config.sla.management.channels.get(self.name)
        if not channel:
            return
        async with self.deps.uow(read_only=True) as uow:
            ref = await uow.refs.get(h.id, self.name, MANAGEMENT)
            timeline = await uow.events.for_handoff(h.id)
            customer = await uow.customers.get(h.customer_id)
        if ref is None and not post:
            return
        view = management_view(card, timeline, customer.name if customer and customer.name else None)
        queue_card = await self._ref(h.id)
        if queue_card is not None and not queue_card.external_id.startswith("group:"):
            view = replace(view, card_link=await self.surface.permalink(self._posted(queue_card)))
        drawn = self.surface.management(view, await self.agents())
        if ref is None:
            at = await self.surface.post(channel, drawn)
            await self._put_ref(h.id, at.key, {"channel": at.channel, "message_id": at.message_id,
                                               "digest": drawn.digest}, kind=MANAGEMENT)
        elif ref.data.get("digest") != drawn.digest:
            await self.surface.update(self._posted(ref), drawn)
            await self._put_ref(h.id, ref.external_id, {**ref.data, "digest": drawn.digest}, kind=MANAGEMENT)

    # ------------------------------------------------------------------ broken channels
    async def _fallback(self, queue: str, channel: str, error: str) -> str:
        fallback = self.surface.default_channel
        if not fallback or fallback == channel:
            raise PermanentFailure(f"cannot post to {channel} ({error}) and no other default channel is set")
        await self._warn_lead(queue, channel, error, fallback)
        return fallback

    async def _warn_lead(self, queue: str, channel: str, error: str, fallback: str) -> None:
        async with self.deps.uow() as uow:
            first = await uow.chat.first_notice(self.name, channel, error, self.deps.now())
            await uow.commit()
        if not first:
            return
        config = self.deps.config
        lead_id = config.queues[queue].lead if queue in config.queues else None
        lead = self.surface.person((await self.agents()).get(lead_id), lead_id) if lead_id else None
        text = self.surface.channel_broken(channel, error, config.label(queue), fallback)
        try:
            if lead:
                try:
                    await self.surface.notify(lead, text)
                    return
                except (ChannelUnavailable, MessageGone) as exc:  # no direct line to the lead: say it in the channel
                    log.info("could not notify the lead of %s directly (%s); posting in %s", queue, exc, fallback)
            await self.surface.post(fallback, Rendered(text, None))
        except Exception:  # a warning must not block the card itself
            log.exception("could not warn about %s (%s)", channel, error)

    # ------------------------------------------------------------------ burst groups
    async def _in_burst(self, channel: str, h: Handoff) -> bool:
        """More than the threshold of this channel's handoffs arrived within the window up to this one."""
        chat = self.deps.config.chat
        queues = self.deps.config.queues_in(channel, self.name, self.surface.default_channel) or (h.queue,)
        async with self.deps.uow(read_only=True) as uow:
            recent = await uow.chat.arrivals(queues, h.created_at - timedelta(seconds=chat.burst_window_seconds),
                                             h.created_at)
        return recent > chat.burst_threshold

    async def _join_group(self, h: Handoff, channel: str) -> None:
        window = timedelta(seconds=self.deps.config.chat.burst_window_seconds)
        lock = self._group_locks.setdefault(channel, asyncio.Lock())
        async with lock:  # one process creates a channel's group once; others join it
            async with self.deps.uow(read_only=True) as uow:
                group = await uow.chat.group(self.name, channel)
            if group is None or h.created_at - group.last_at > window or not group.message_id:
                group = ChatGroup(message_id="", queue=h.queue, first_at=h.created_at, last_at=h.created_at)
                posted = await self.surface.post(channel, await self._draw_group(channel, group, extra=h))
                group = replace(group, message_id=posted.message_id)
                self._pushed[channel] = time.monotonic()
            else:
                group = replace(group, last_at=max(group.last_at, h.created_at), dirty=True)
            async with self.deps.uow() as uow:
                await uow.chat.save_group(self.name, channel, group, self.deps.now())
                await uow.refs.put(h.id, self.name, KIND, group.key(channel),
                                   {"channel": channel, "message_id": group.message_id, "queue": h.queue},
                                   self.deps.now())
                await uow.commit()
        await self._touch_group(channel)

    async def _draw_group(self, channel: str, group: ChatGroup, extra: Handoff | None = None) -> Rendered:
        async with self.deps.uow(read_only=True) as uow:
            ids = list(await uow.chat.group_members(self.name, group.key(channel), 10_000)) if group.message_id else []
        handoffs: list[Handoff] = [extra] if extra is not None else []
        for hid in ids[-GROUP_SHOWN:]:
            try:
                handoffs.append((await self.queries.position(hid))[0])
            except NotFound:
                continue
        total = len(ids) + (1 if extra is not None else 0)
        return self.surface.group(GroupView(group.queue, self.deps.config.label(group.queue), handoffs, total,
                                            self.deps.config.chat.burst_window_seconds, group.first_at))

    async def _touch_group(self, channel: str) -> None:
        """Mark the grouped card stale (in the database); one debounced update draws the newest state."""
        if not channel:
            return
        async with self.deps.uow() as uow:
            group = await uow.chat.group(self.name, channel, lock=True)
            if group is not None and not group.dirty:
                await uow.chat.save_group(self.name, channel, replace(group, dirty=True), self.deps.now())
                await uow.commit()
        if any(t.get_name() == f"group:{self.name}:{channel}" for t in self._tasks):
            return
        task = asyncio.create_task(self._flush_group(channel), name=f"group:{self.name}:{channel}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush_group(self, channel: str) -> None:
        while True:
            await asyncio.sleep(max(0.0, self._pushed.get(channel, 0.0) + GROUP_UPDATE_INTERVAL - time.monotonic()))
            async with self.deps.uow() as uow:
                group = await uow.chat.group(self.name, channel, lock=True)
                if group is None or not group.message_id:
                    return
                await uow.chat.save_group(self.name, channel, replace(group, dirty=False), self.deps.now())
                await uow.commit()
            try:
                await self.surface.update(Posted(channel, group.message_id), await self._draw_group(channel, group))
            except Exception as exc:  # best effort: the next change or arrival tries again
                log.warning("grouped card update in %s failed: %s", channel, exc)
                async with self.deps.uow() as uow:
                    await uow.chat.save_group(self.name, channel, replace(group, dirty=True), self.deps.now())
                    await uow.commit()
                await asyncio.sleep(float(getattr(exc, "retry_after", None) or GROUP_UPDATE_INTERVAL))
            self._pushed[channel] = time.monotonic()
            async with self.deps.uow(read_only=True) as uow:
                latest = await uow.chat.group(self.name, channel)
            if latest is None or not latest.dirty:
                return


def management_view(card: HandoffCard, timeline: Sequence[Event], customer_name: str | None) -> ManagementView:
    """The management card's facts from the handoff's card and timeline."""
    h, c = card.handoff, card.customer
    escalated = next((e for e in reversed(timeline) if e.kind is EventKind.MANAGEMENT_ESCALATED), None)
    triggers = [(str(t.get("code", "")), str(t.get("detail", ""))) for t in
                (escalated.data.get("triggers") or [] if escalated else [])]
    form_event = next((e for e in reversed(timeline) if e.kind is EventKind.ESCALATED), None)
    form = {k: form_event.data[k] for k in ("summary", "steps_taken", "hypothesis", "customer_impact")
            if form_event is not None and form_event.data.get(k)}
    form.setdefault("summary", card.summary or h.why)
    if "steps_taken" not in form and card.attempted_steps:
        form["steps_taken"] = list(card.attempted_steps)
    ack = next((e for e in reversed(timeline) if e.kind is EventKind.ACKNOWLEDGED
                and e.data.get("clock") == "management_ack"), None)
    clocks_view = card.sla if card.sla is not None and card.sla.clock == "management_ack" else None
    return ManagementView(
        handoff=h, customer_name=customer_name or (c.email if c and c.email else "customer"),
        plan=c.plan if c else "free", account_value=c.account_value if c else 0.0, triggers=triggers, form=form,
        ack=clocks_view, acknowledged_by=ack.actor.id if ack else None, acknowledged_at=ack.at if ack else None,
        card_link=None)
