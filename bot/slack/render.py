"""Slack rendering: the card view model (:class:`handoff.cards.HandoffCard`) and lists → Block Kit JSON.

Templates live in ``templates/slack/``; this module prepares plain values for them and registers the Slack
filters: ``mrkdwn_cut`` (cut to a limit, then escape ``& < >``, never exceeding the limit) and
``slack_date`` (a ``<!date^…>`` token that the Slack client renders and keeps ticking without API calls).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.slack.ids import ActionId, CallbackId, Field, Ref
from handoff.cards import HandoffCard, Message
from handoff.lifecycle import RESOLVE_OUTCOMES, tiers_above
from handoff.models import Agent, Handoff, Priority, Status
from templates import Renderer, duration, mrkdwn_escape

PRIORITY_MARK = {Priority.CRITICAL: ":red_circle:", Priority.HIGH: ":large_orange_circle:",
                 Priority.MEDIUM: ":large_yellow_circle:", Priority.LOW: ":white_circle:"}
TRANSCRIPT_LINES = 45  # + header blocks stays under Block Kit's 50 blocks per message
SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def mrkdwn_cut(value: Any, limit: int) -> str:
    """Escape for mrkdwn and cut so the *escaped* text fits ``limit`` (no half entities, ends with …)."""
    raw = str(value)
    escaped = mrkdwn_escape(raw[: limit + 1])  # escaping only lengthens: more raw text than this never fits
    if len(escaped) <= limit and len(raw) <= limit:
        return escaped
    out, size = [], 0
    for ch in raw[:limit]:
        piece = mrkdwn_escape(ch)
        if size + len(piece) > limit - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + "…"


def slack_date(at: datetime | None, fmt: str = "{date_short_pretty} {time}") -> str:
    """``<!date^EPOCH^FORMAT|fallback>``: shown in each reader's time zone, relative forms tick by themselves."""
    if at is None:
        return "-"
    return f"<!date^{int(at.timestamp())}^{fmt}|{at:%Y-%m-%d %H:%M} UTC>"


def mention(agent_id: str | None, agents: Mapping[str, Agent]) -> str:
    """How an agent appears in mrkdwn: ``<@U…>`` when we know their Slack user, else their escaped name."""
    if agent_id is None:
        return "nobody"
    agent = agents.get(agent_id)
    handle = agent.handles.get("slack") if agent else None
    if handle and SLACK_USER.match(handle):
        return f"<@{handle}>"
    if SLACK_USER.match(agent_id):
        return f"<@{agent_id}>"
    return mrkdwn_cut(agent.display_name if agent else agent_id, 80)


class SlackRenderer:
    """Every Slack payload Baton sends, rendered from templates and validated by the tests."""

    def __init__(self, renderer: Renderer | None = None, crm_urls: Mapping[str, str] | None = None) -> None:
        """``crm_urls``: per CRM system, a URL template with ``{id}`` for records whose sync stored no URL."""
        self.r = renderer or Renderer()
        self.r.env.filters.update(mrkdwn_cut=mrkdwn_cut, slack_date=slack_date)
        self.crm_urls = dict(crm_urls or {})

    def _blocks(self, name: str, **ctx: Any) -> list[dict[str, Any]]:
        blocks = self.r.json(f"slack/{name}.json.j2", A=ActionId, F=Field, **ctx)
        return list(blocks)

    def card(self, card: HandoffCard, agents: Mapping[str, Agent], channel: str | None = None) -> tuple[str, list[Any]]:
        """The context card: (fallback text, blocks)."""
        h = card.handoff
        c = card.customer
        name = (c.name or c.email or "customer") if c else "customer"
        value = Ref(handoff_id=h.id, channel=channel).encode()
        conf = card.confidence
        ctx = {
            "h": h, "card": card, "status": h.status.value, "mark": PRIORITY_MARK[h.priority],
            "customer_name": name, "c": c, "value": value,
            "holder": mention(h.claimed_by, agents) if h.claimed_by else None,
            "suggested": mention(card.suggested_agent_id, agents) if card.suggested_agent_id else None,
            "waited": duration(card.waited_seconds) if card.waited_seconds is not None else None,
            "confidence_pct": [round(x * 100) for x in conf.readings],
            "account_value": f"{c.account_value:,.0f}" if c else "0",
            "actions": card.actions, "held": h.status in (Status.CLAIMED, Status.PENDING_CUSTOMER),
            "last": [self._line(m) for m in card.last_messages],
            "crm": [{"label": link.label, "url": link.url or (self.crm_urls[link.system].format(id=link.external_id)
                                                              if link.system in self.crm_urls else None)}
                    for link in card.crm_links],
        }
        text = f"{h.priority.value} {h.topic} handoff from {name}: {h.why}"
        return mrkdwn_cut(text, 300), self._blocks("card", **ctx)

    @staticmethod
    def _line(m: Message) -> dict[str, Any]:
        return {"role": m.role, "text": m.text, "at": m.at, "author": m.author}

    def transcript(self, card: HandoffCard) -> tuple[str, list[Any]]:
        """The full transcript as one thread reply (the newest lines when it exceeds one message)."""
        lines = [self._line(m) for m in card.transcript]
        shown = lines[-TRANSCRIPT_LINES:]
        return (f"Transcript ({len(lines)} messages)",
                self._blocks("transcript", lines=shown, total=len(lines), omitted=len(lines) - len(shown)))

    def moved(self, h: Handoff, permalink: str | None, to_channel: str) -> tuple[str, list[Any]]:
        return (f"Moved to {h.queue}", self._blocks("moved", h=h, permalink=permalink, to_channel=to_channel,
                                                    mark=PRIORITY_MARK[h.priority]))

    def thread_note(self, kind: str, text: str, who: str, reason: str | None,
                    mention_text: str | None = None) -> tuple[str, list[Any]]:
        """A thread message: a customer message, an internal note, a reply kept internal, an agent's message, an
        SLA warning or breach (``mention_text``: ``<@U…>`` or ``<!here>``, which notifies them)."""
        fallback = {"customer_message": "Customer: ", "agent_message": "To the customer: ",
                    "sla_warning": "SLA warning: ", "sla_breached": "SLA breached: "}.get(kind, "Internal note: ")
        return (mrkdwn_cut(fallback + text, 300),
                self._blocks("thread_note", kind=kind, text=text, who=who, reason=reason, mention_text=mention_text))

    def report(self, facts: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """A report: (fallback text, mrkdwn sections of at most 3,000 characters, split between lines)."""
        text = self.r.report(facts, "slack")
        sections: list[str] = [""]
        for line in text.splitlines():
            if len(sections[-1]) + len(line) + 1 > 3000:
                sections.append("")
            sections[-1] = (sections[-1] + "\n" + line[:3000]) if sections[-1] else line[:3000]
        title = text.splitlines()[0].strip("*") if text else "Baton report"
        return title[:150], [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections[:50] if s]

    def management(self, view: Any, agents: Mapping[str, Agent]) -> tuple[str, list[Any]]:
        """The management card (:class:`handoff.chat.surface.ManagementView`)."""
        h = view.handoff
        ctx = {"view": view, "h": h, "customer_name": mrkdwn_cut(view.customer_name, 200),
               "account_value": f"{view.account_value:,.0f}", "value": Ref(handoff_id=h.id).encode(),
               "holder": mention(h.claimed_by, agents) if h.claimed_by else None,
               "acknowledged_by": mention(view.acknowledged_by, agents) if view.acknowledged_by else None}
        text = f"Management escalation: {h.priority.value} {h.topic} handoff from {view.customer_name}"
        return mrkdwn_cut(text, 300), self._blocks("management", **ctx)

    def customer_messages(self, texts: Sequence[str]) -> tuple[str, list[Any]]:
        """Several customer messages in one thread post, oldest first (a flood coalesced)."""
        return (mrkdwn_cut(f"Customer ({len(texts)} messages): " + " / ".join(texts), 300),
                self._blocks("customer_messages", texts=list(texts)))

    def burst(self, channel_queue: str, label: str, handoffs: Sequence[Handoff], total: int, window: float,
              first_at: datetime) -> tuple[str, list[Any]]:
        """The grouped card of a burst: how many arrived, the most urgent still waiting, "claim next"."""
        waiting = sorted((h for h in handoffs if h.status is Status.QUEUED), key=lambda h: (h.priority.rank,
                                                                                          h.created_at))
        return (f"{total} new {label} handoffs in {int(window)} s",
                self._blocks("burst", total=total, label=label, window=int(window), waiting=waiting[:10],
                             waiting_count=len(waiting), marks=PRIORITY_MARK, first_at=first_at,
                             value=Ref(queue=channel_queue).encode()))

    def modal(self, kind: CallbackId, h: Handoff, channel: str | None, **ctx: Any) -> dict[str, Any]:
        name = {CallbackId.TRANSFER: "modal_transfer", CallbackId.ESCALATE: "modal_escalate",
                CallbackId.RESOLVE: "modal_resolve", CallbackId.NOTE: "modal_note"}[kind]
        view: dict[str, Any] = self.r.json(
            f"slack/{name}.json.j2", A=ActionId, F=Field, callback_id=kind.value, h=h,
            metadata=Ref(handoff_id=h.id, channel=channel).encode(), tiers=[t.value for t in tiers_above(h)],
            outcomes=RESOLVE_OUTCOMES, **ctx)
        return view

    def queue_list(self, title: str, handoffs: Sequence[Handoff], empty: str) -> list[Any]:
        return self._blocks("queue_list", title=title, items=handoffs, marks=PRIORITY_MARK, empty=empty)

    def home(self, agent: Agent | None, agent_id: str, queue: Sequence[Handoff], mine: Sequence[Handoff],
             stats: Mapping[str, Any]) -> dict[str, Any]:
        view: dict[str, Any] = self.r.json("slack/home.json.j2", A=ActionId, agent=agent, agent_id=agent_id,
                                           queue=queue, mine=mine, stats=stats, marks=PRIORITY_MARK,
                                           values={h.id: Ref(handoff_id=h.id).encode() for h in queue})
        return view

    def help(self) -> list[Any]:
        return self._blocks("help")

    def stats(self, stats: Mapping[str, Any]) -> list[Any]:
        """Today's KPIs (:meth:`handoff.services.analytics.Analytics.today`)."""
        return self._blocks("stats", stats=stats)
