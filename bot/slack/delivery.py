"""The Slack card destination: handoff events from the outbox → cards, card updates and thread messages.

Delivery is by id: every item loads the handoff's current state, so a retry or a late item sends the newest
card. Where a card lives is stored in ``external_refs`` (``slack``/``card``: ``<channel>:<ts>``, with a digest
of the blocks last sent), never only in memory; an update item whose rendering equals what the card already
shows is skipped, which coalesces bursts of changes into one ``chat.update`` (and covers changes that are not
state changes: CRM enrichment, CRM links).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

from bot.slack.burst import BurstTracker, Group
from bot.slack.calls import ChannelUnavailable, MessageGone, SlackCalls
from bot.slack.people import People
from bot.slack.render import SlackRenderer, mention
from handoff.cards import HandoffCard
from handoff.config import BatonConfig
from handoff.errors import NotFound
from handoff.models import Event, EventKind, Status
from handoff.outbox import NotAttempted, OutboxItem, PermanentFailure
from handoff.ports import ExternalRef
from handoff.services.common import Deps
from handoff.services.queries import Queries

log = logging.getLogger("baton.slack")

SYSTEM, KIND = "slack", "card"
PREVIOUS = "card_previous"  # the card before a repost/move: replies in its thread still reach the handoff
THREAD_KINDS = frozenset({EventKind.NOTE_ADDED, EventKind.AGENT_MESSAGE, EventKind.CUSTOMER_MESSAGE})
#: Events that change nothing on the card or in its thread (the periodic "still on it" to the customer).
IGNORED_KINDS = frozenset({"customer_update_sent"})


def digest(blocks: Any) -> str:
    return hashlib.sha1(json.dumps(blocks, sort_keys=True).encode(), usedforsecurity=False).hexdigest()
GROUP_UPDATE_INTERVAL = 3.0  # seconds between chat.update calls of one grouped card
TRANSCRIPT_BACKLOG_SECONDS = 1.0  # post the transcript right away only if the channel is not congested
CUSTOMER = EventKind.CUSTOMER_MESSAGE.value
COALESCE_MAX = 20  # customer messages per thread post (a section each: well under Block Kit's 50 blocks)


class SlackCardDestination:
    """Outbox destination ``slack``: posts, updates and threads context cards in each queue's channel."""

    name = "slack"

    def __init__(self, deps: Deps, queries: Queries, calls: SlackCalls, renderer: SlackRenderer, people: People,
                 *, default_channel: str | None, on_change: Any = None) -> None:
        self.deps = deps
        self.config: BatonConfig = deps.config
        self.queries = queries
        self.calls = calls
        self.renderer = renderer
        self.people = people
        self.default_channel = default_channel
        self.on_change = on_change  # called after a state change was delivered (App Home refresh)
        self.burst = BurstTracker(self.config.chat.burst_threshold, self.config.chat.burst_window_seconds)
        self._group_locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._warned: set[tuple[str, str]] = set()
        self._lanes = asyncio.Semaphore(self.config.outbox.concurrency)

    def subscribes(self, event: Event) -> bool:
        return event.kind.value not in IGNORED_KINDS  # anything else may change the card or its thread

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ refs
    async def _ref(self, handoff_id: str) -> ExternalRef | None:
        async with self.deps.uow(read_only=True) as uow:
            return await uow.refs.get(handoff_id, SYSTEM, KIND)

    async def _put_ref(self, handoff_id: str, external_id: str, data: dict[str, Any], *, kind: str = KIND) -> None:
        async with self.deps.uow() as uow:
            await uow.refs.put(handoff_id, SYSTEM, kind, external_id, data, self.deps.now())
            await uow.commit()

    def channel_for(self, queue: str) -> str:
        q = self.config.queues.get(queue)
        channel = (q.channels.get("slack") if q else None) or self.default_channel
        if not channel:
            raise PermanentFailure(f"no Slack channel for queue {queue!r}: set queues.{queue}.channels.slack "
                                   "or SLACK_DEFAULT_CHANNEL")
        return channel

    # ------------------------------------------------------------------ delivery
    async def deliver_batch(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
        """Every leased Slack item at once, so a flood from one handoff cannot starve the channel's other cards.

        Lanes (one handoff's items) run in parallel, each in order, as the dispatcher would run them, with
        two changes: lanes that start with a new card go first (their posts take the channel's next pacing
        slots), and consecutive customer messages of one handoff become one thread post (up to
        :data:`COALESCE_MAX`). A failure stops its lane; the items after it are :class:`NotAttempted`.
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
        else:  # a state change, enrichment, or a kind this build does not know: show the current state
            await self._refresh(card)
        if item.kind not in THREAD_KINDS and self.on_change is not None:
            self.on_change()

    async def _created(self, card: HandoffCard) -> None:
        h = card.handoff
        ref = await self._ref(h.id)
        if ref is not None:  # a replay: the card exists (or the handoff is grouped); make it current
            await self._refresh(card, ref)
            return
        channel = self.channel_for(h.queue)
        if h.status is Status.QUEUED and self.burst.arrive(channel, h.id, h.created_at):
            await self._join_group(card, channel)
            return
        await self._post_card(card, channel)

    async def _post_card(self, card: HandoffCard, channel: str, *, previous: ExternalRef | None = None) -> str:
        """Post the card (to the fallback channel if ``channel`` is gone), store where, thread the transcript."""
        h = card.handoff
        agents = await self.people.agents()
        text, blocks = self.renderer.card(card, agents, channel)
        try:
            response = await self.calls.post(channel, text=text, blocks=blocks, unfurl_links=False)
        except ChannelUnavailable as exc:
            channel = await self._fallback(h.queue, channel, exc.error)
            text, blocks = self.renderer.card(card, agents, channel)
            response = await self.calls.post(channel, text=text, blocks=blocks, unfurl_links=False)
        ts = str(response["ts"])
        data = {"channel": channel, "ts": ts, "digest": digest(blocks), "queue": h.queue, "transcript": False}
        if previous is not None:
            data["previous"] = previous.external_id
            if not previous.external_id.startswith("group:"):
                await self._put_ref(h.id, previous.external_id, dict(previous.data), kind=PREVIOUS)
        await self._put_ref(h.id, f"{channel}:{ts}", data)
        if self.calls.pacers.post(channel).wait_for_next() <= TRANSCRIPT_BACKLOG_SECONDS:
            await self._post_transcript(card, channel, ts, data)
        # else: the channel is congested (a burst); cards first — the transcript follows on the next change
        return ts

    async def _post_transcript(self, card: HandoffCard, channel: str, ts: str, data: dict[str, Any]) -> None:
        text, blocks = self.renderer.transcript(card)
        await self.calls.post(channel, thread_ts=ts, text=text, blocks=blocks)
        await self._put_ref(card.handoff.id, f"{channel}:{ts}", {**data, "transcript": True})

    async def _refresh(self, card: HandoffCard, ref: ExternalRef | None = None) -> None:
        """Bring the card in line with the handoff's current state (one ``chat.update``, or none if current)."""
        h = card.handoff
        ref = ref or await self._ref(h.id)
        if ref is None:
            await self._post_card(card, self.channel_for(h.queue))
            return
        if ref.external_id.startswith("group:"):
            channel = ref.data.get("channel", "")
            if h.status is not Status.QUEUED:  # taken out of the burst: it gets its own card now
                await self._post_card(card, self.channel_for(h.queue))
            self._touch_group(str(channel))
            return
        channel, ts = str(ref.data["channel"]), str(ref.data["ts"])
        if ref.data.get("queue") != h.queue and self.channel_for(h.queue) != channel:
            await self._move(card, ref, channel, ts)
            return
        data = dict(ref.data)
        agents = await self.people.agents()
        text, blocks = self.renderer.card(card, agents, channel)
        if data.get("digest") != digest(blocks):  # else: the card already shows exactly this (coalesced)
            try:
                await self.calls.update(channel, ts, text=text, blocks=blocks)
            except (MessageGone, ChannelUnavailable) as exc:
                log.warning("card of %s at %s:%s is gone (%s); reposting", h.id, channel, ts, exc)
                await self._post_card(card, self.channel_for(h.queue), previous=ref)
                return
            data.update(digest=digest(blocks), queue=h.queue)
            await self._put_ref(h.id, ref.external_id, data)
        if not data.get("transcript"):
            await self._post_transcript(card, channel, ts, data)

    async def _move(self, card: HandoffCard, ref: ExternalRef, channel: str, ts: str) -> None:
        """Transferred to a queue with another channel: the card appears there; the old one links to it."""
        h = card.handoff
        new_channel = self.channel_for(h.queue)
        new_ts = await self._post_card(card, new_channel, previous=ref)
        new_ref = await self._ref(h.id)
        where = str(new_ref.data["channel"]) if new_ref else new_channel
        link = await self.calls.permalink(where, new_ts)
        text, blocks = self.renderer.moved(h, link, where)
        try:
            await self.calls.update(channel, ts, text=text, blocks=blocks)
        except (MessageGone, ChannelUnavailable) as exc:
            log.info("old card of %s could not be relinked (%s)", h.id, exc)

    async def _thread(self, card: HandoffCard, item: OutboxItem, kind: EventKind) -> None:
        data = item.payload.get("data") or {}
        actor = str(item.payload.get("actor") or "")
        agent_id = actor.split(":", 1)[1] if actor.startswith("agent:") else None
        source = item.payload.get("source")
        if kind is EventKind.AGENT_MESSAGE and source == "slack":
            return  # the agent typed it in the thread: it is already there
        agents = await self.people.agents()
        who = mention(agent_id, agents) if agent_id else "the customer"
        reason = item.payload.get("reason")
        style = kind.value
        if kind is EventKind.NOTE_ADDED and source == "slack" and reason:
            style = "kept_internal"  # a thread reply that did not go to the customer: mark it as internal
        text, blocks = self.renderer.thread_note(style, str(data.get("text") or ""), who, reason)
        await self._in_thread(card, text, blocks)

    async def _customer_messages(self, items: Sequence[OutboxItem]) -> None:
        """Several customer messages of one handoff, in order, as one thread post."""
        handoff_id = str(items[0].handoff_id)
        try:
            card = await self.queries.card(handoff_id)
        except NotFound:
            raise PermanentFailure(f"handoff {handoff_id} no longer exists") from None
        texts = [str((i.payload.get("data") or {}).get("text") or "") for i in items]
        text, blocks = self.renderer.customer_messages(texts)
        await self._in_thread(card, text, blocks)

    async def _in_thread(self, card: HandoffCard, text: str, blocks: list[Any]) -> None:
        """Post into the card's thread (giving the handoff its own card first if it has none yet)."""
        h = card.handoff
        ref = await self._ref(h.id)
        if ref is None or ref.external_id.startswith("group:"):  # no thread yet: give it its own card first
            await self._post_card(card, self.channel_for(h.queue))
            if ref is not None:
                self._touch_group(str(ref.data.get("channel", "")))
            ref = await self._ref(h.id)
            if ref is None:
                raise PermanentFailure(f"no card for {h.id}")
        channel, ts = str(ref.data["channel"]), str(ref.data["ts"])
        if not ref.data.get("transcript"):
            await self._post_transcript(card, channel, ts, dict(ref.data))
        try:
            await self.calls.post(channel, thread_ts=ts, text=text, blocks=blocks)
        except (MessageGone, ChannelUnavailable) as exc:
            log.warning("thread of %s at %s:%s is gone (%s); reposting the card", h.id, channel, ts, exc)
            new_ts = await self._post_card(card, self.channel_for(h.queue), previous=ref)
            ref = await self._ref(h.id)
            await self.calls.post(str(ref.data["channel"]) if ref else channel, thread_ts=new_ts, text=text,
                                  blocks=blocks)

    # ------------------------------------------------------------------ broken channels
    async def _fallback(self, queue: str, channel: str, error: str) -> str:
        fallback = self.default_channel
        if not fallback or fallback == channel:
            raise PermanentFailure(f"cannot post to {channel} ({error}) and no other SLACK_DEFAULT_CHANNEL is set")
        await self._warn_lead(queue, channel, error, fallback)
        return fallback

    async def _warn_lead(self, queue: str, channel: str, error: str, fallback: str) -> None:
        if (channel, error) in self._warned:
            return
        self._warned.add((channel, error))
        q = self.config.queues.get(queue)
        lead = await self.people.slack_user(q.lead) if q and q.lead else None
        text = (f":warning: Baton cannot post to <#{channel}> ({error}); cards for queue *{queue}* go to "
                f"<#{fallback}> until it is fixed (invite the app or unarchive the channel).")
        try:
            await (self.calls.dm(lead, text) if lead else self.calls.post(fallback, text=text))
        except Exception as exc:  # a warning must not block the card itself
            log.warning("could not warn about %s (%s): %s", channel, error, exc)

    # ------------------------------------------------------------------ burst groups
    async def _join_group(self, card: HandoffCard, channel: str) -> None:
        h = card.handoff
        lock = self._group_locks.setdefault(channel, asyncio.Lock())
        async with lock:
            group = self.burst.live_group(channel, h.created_at)
            if group is None:
                group = Group(channel=channel, queue=h.queue, ts="", first_at=h.created_at, last_at=h.created_at,
                              members=[h.id])
                text, blocks = await self._group_blocks(group)
                response = await self.calls.post(channel, text=text, blocks=blocks)
                group.ts = str(response["ts"])
                self.burst.groups[channel] = group
                group.pushed_at = asyncio.get_running_loop().time()
            elif h.id not in group.members:
                group.members.append(h.id)
                group.last_at = max(group.last_at, h.created_at)
        await self._put_ref(h.id, f"group:{channel}:{group.ts}", {"channel": channel, "ts": group.ts,
                                                                  "queue": h.queue})
        self._touch_group(channel)

    async def _group_blocks(self, group: Group) -> tuple[str, list[Any]]:
        handoffs = []
        for hid in group.members[-200:]:
            try:
                handoffs.append((await self.queries.position(hid))[0])
            except NotFound:
                continue
        label = self.config.queues[group.queue].display_name or group.queue if group.queue in self.config.queues \
            else group.queue
        return self.renderer.burst(group.queue, label, handoffs, len(group.members),
                                   self.config.chat.burst_window_seconds, group.first_at)

    def _touch_group(self, channel: str) -> None:
        """Mark the grouped card stale; one debounced ``chat.update`` renders the newest state."""
        group = self.burst.groups.get(channel)
        if group is None or not group.ts:
            return
        group.dirty = True
        if any(t.get_name() == f"group:{channel}" for t in self._tasks):
            return
        task = asyncio.create_task(self._flush_group(group), name=f"group:{channel}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush_group(self, group: Group) -> None:
        loop = asyncio.get_running_loop()
        while group.dirty:
            await asyncio.sleep(max(0.0, group.pushed_at + GROUP_UPDATE_INTERVAL - loop.time()))
            group.dirty = False
            try:
                text, blocks = await self._group_blocks(group)
                await self.calls.update(group.channel, group.ts, text=text, blocks=blocks)
            except Exception as exc:  # best effort: the next change or arrival tries again
                log.warning("grouped card update in %s failed: %s", group.channel, exc)
                group.dirty = True
                await asyncio.sleep(getattr(exc, "retry_after", None) or GROUP_UPDATE_INTERVAL)
            group.pushed_at = loop.time()
