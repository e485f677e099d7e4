"""Teams rendering: the card view model (:class:`handoff.cards.HandoffCard`) and lists → Adaptive Cards 1.5.

Templates live in ``templates/teams/``; this module prepares plain values and registers two filters: ``md``
(escape what Teams' markdown subset would interpret, for short values shown in markdown text) and the
``ac_date`` helper (Adaptive Cards' ``{{DATE(…)}}``/``{{TIME(…)}}``, shown in each reader's own time zone).
Free text (summaries, messages, reasons) goes into ``TextRun`` s, which Teams never parses as markdown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.teams.ids import Input, Verb, card_data
from handoff.cards import HandoffCard, Message
from handoff.chat.surface import GroupView, Rendered
from handoff.models import Agent, Handoff, Priority, Status
from templates import Renderer, duration

MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|>~<])")
PRIORITY_STYLE = {Priority.CRITICAL: "attention", Priority.HIGH: "warning", Priority.MEDIUM: "accent",
                  Priority.LOW: "default"}
TRANSCRIPT_LINES = 40
TRANSCRIPT_BUDGET = 18_000  # characters of transcript text per card: Teams refuses messages over ~28 KB
TRANSCRIPT_LINE_CHARS = 1000
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def md(value: Any) -> str:
    """Escape Teams markdown so a customer's ``*name*`` or ``[link](…)`` shows as typed; newlines become spaces."""
    return MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def ac_date(at: datetime | None, fmt: str = "SHORT") -> str:
    """``{{DATE(…, SHORT)}} {{TIME(…)}}``: Teams renders it in the reader's time zone."""
    if at is None:
        return "-"
    iso = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return "{{DATE(" + iso + ", " + fmt + ")}} {{TIME(" + iso + ")}}"


def sla_line(card: HandoffCard, h: Handoff) -> str:
    """The card's SLA clock in Teams markdown: its state mark, what it measures, and when it is due."""
    if card.sla is None:
        return f"SLA due {ac_date(h.sla_due_at)}"
    due = f" · due {ac_date(card.sla.due_at)}" if card.sla.due_at else ""
    return f"{card.sla.mark} {md(card.sla.line)}{due}"


def who(agent_id: str | None, agents: Mapping[str, Agent]) -> str:
    """How an agent is named on a Teams card: their display name (never a raw surface id when a name is known)."""
    if agent_id is None:
        return "nobody"
    agent = agents.get(agent_id)
    return agent.display_name if agent is not None and agent.display_name else agent_id


class TeamsRenderer:
    """Every Adaptive Card Baton sends to Teams, rendered from templates and validated by the tests."""

    def __init__(self, renderer: Renderer | None = None, crm_urls: Mapping[str, str] | None = None) -> None:
        self.r = renderer or Renderer()
        self.r.env.filters.update(md=md)
        self.crm_urls = dict(crm_urls or {})

    def _card(self, name: str, **ctx: Any) -> dict[str, Any]:
        card: dict[str, Any] = self.r.json(f"teams/{name}.json.j2", V=Verb, I=Input, **ctx)
        return card

    def card(self, card: HandoffCard, agents: Mapping[str, Agent], *, queues: Sequence[tuple[str, str]],
             queue_label: str, refresh_users: Sequence[str] = (), viewer: str | None = None,
             notice: str | None = None) -> Rendered:
        """The context card: the channel's (``viewer`` None) or one agent's view; ``notice`` on top (e.g. who won).

        Its actions are ``card.actions`` (or ``card.actions_for(viewer)``); ``refresh_users`` get it refreshed to
        their own view whenever they look at it.
        """
        h, c = card.handoff, card.customer
        name = (c.name or c.email or "customer") if c else "customer"
        holder = md(who(h.claimed_by, agents))
        if h.status in (Status.CLAIMED, Status.PENDING_CUSTOMER):
            waited = f" · waited {duration(card.waited_seconds)}" if card.waited_seconds is not None else ""
            state = f"✋ Claimed by **{holder}**{waited}" + (
                " · waiting on the customer" if h.status is Status.PENDING_CUSTOMER else "")
            speaking = (f"{who(h.claimed_by, agents)} is speaking to the customer. Other replies here, and any "
                        "starting with note:, stay internal.")
        elif h.status is Status.QUEUED:
            state = f"⏳ Waiting in **{md(queue_label)}** ({h.tier.value}) since {ac_date(h.created_at)}"
            speaking = ("Nobody is speaking to the customer yet; replies here stay internal until someone claims it. "
                        f"· {h.id}")
        elif h.status is Status.RESOLVED:
            state = (f"✅ Resolved by **{holder if h.claimed_by else 'an agent'}** · {md(h.outcome or 'resolved')} · "
                     f"{ac_date(h.resolved_at)}")
            speaking = f"Resolved · {h.id}"
        else:
            state = f"🔒 Closed · {ac_date(h.closed_at)}"
            speaking = f"Closed · {h.id}"
        conf = card.confidence
        pct = [round(x * 100) for x in conf.readings]
        confidence = "-" if not pct else (
            {"declined": f"declined to {pct[-1]}%", "rose": f"rose to {pct[-1]}%"}.get(conf.direction, f"{pct[-1]}%")
            + " (" + " → ".join(f"{p}%" for p in pct[-6:]) + ")")
        s = card.sentiment
        links = []
        for link in card.crm_links[:4]:
            url = link.url or (self.crm_urls[link.system].format(id=link.external_id)
                               if link.system in self.crm_urls else None)
            links.append(f"[{md(link.label)}]({url})" if url and url.startswith("https://") else md(link.label))
        body = self._card(
            "card", card=card, c=c, customer_name=name, data=card_data(handoff_id=h.id), notice=notice,
            actions=card.actions if viewer is None else card.actions_for(viewer),
            refresh_users=list(refresh_users), style=PRIORITY_STYLE[h.priority], state_line=state,
            clock_line=f"Waiting since {ac_date(h.created_at)} · " + sla_line(card, h),
            account_value=f"{c.account_value:,.0f}" if c else "0",
            sentiment=f"{s.label} ({s.score}), {s.trend}" if s else "-", confidence=confidence,
            queue_label=queue_label, crm=" · ".join(links), queues=list(queues),
            suggested=who(card.suggested_agent_id, agents) if card.suggested_agent_id else None, speaking=speaking,
            fallback=f"{h.priority.value} {h.topic} handoff from {name}: {h.why}")
        return Rendered(f"{h.priority.value} {h.topic} handoff from {name}", body)

    def transcript(self, card: HandoffCard) -> Rendered:
        lines = [self._line(m)[:TRANSCRIPT_LINE_CHARS] for m in card.transcript]
        shown: list[str] = []
        budget = TRANSCRIPT_BUDGET
        for line in reversed(lines[-TRANSCRIPT_LINES:]):  # the newest lines that fit
            if len(line) > budget:
                break
            shown.insert(0, line)
            budget -= len(line)
        omitted = len(lines) - len(shown)
        title = f"Transcript ({len(lines)} messages)"
        return Rendered(title, self._card("simple", title=title, lines=shown, buttons=[],
                                          note=f"{omitted} earlier messages are on the handoff's timeline"
                                          if omitted else None))

    @staticmethod
    def _line(m: Message) -> str:
        role = {"customer": "Customer", "ai": "AI", "agent": m.author or "Agent"}.get(m.role, m.role)
        return f"{role}: {m.text}"

    def thread_note(self, kind: str, texts: Sequence[str], author: str, reason: str | None,
                    mention: tuple[str, str] | None = None) -> Rendered:
        """A reply-chain line; ``mention`` = (name, Teams user id) is @mentioned (a ``msteams.entities`` mention,
        which notifies that person), e.g. the queue lead on an SLA warning."""
        body = self._card("thread_note", kind=kind, texts=list(texts), who=author, reason=reason,
                          mention_name=mention[0] if mention else None, mention_id=mention[1] if mention else None)
        return Rendered(str(body["fallbackText"]), body)

    def management(self, view: Any, agents: Mapping[str, Agent]) -> Rendered:
        """The management card (:class:`handoff.chat.surface.ManagementView`) with its Acknowledge button."""
        h = view.handoff
        if view.acknowledged_by:
            ack = f"✅ Acknowledged by {who(view.acknowledged_by, agents)} · {ac_date(view.acknowledged_at)}"
        elif view.ack is not None:
            due = f" · due {ac_date(view.ack.due_at)}" if view.ack.due_at else ""
            ack = f"{view.ack.mark} Acknowledgement target {int(view.ack.target_seconds // 60)} min{due}" + (
                " · missed" if view.ack.state == "breached" else "")
        else:
            ack = "Waiting for an acknowledgement"
        form = view.form
        lines = [f"Why management: {'; '.join(d for _, d in view.triggers) or '-'}",
                 f"Customer: {view.customer_name} · {view.plan} · ${view.account_value:,.0f} / year",
                 f"Queue: {h.queue} · {h.tier.value} · {h.status.value} · holder: "
                 f"{who(h.claimed_by, agents) if h.claimed_by else 'nobody yet'}",
                 f"Summary: {form.get('summary') or '-'}"]
        if form.get("steps_taken"):
            lines.append("Steps taken: " + "; ".join(str(x) for x in form["steps_taken"][:8]))
        for key, label in (("hypothesis", "Hypothesis"), ("customer_impact", "Customer impact")):
            if form.get(key):
                lines.append(f"{label}: {form[key]}")
        if view.card_link:
            lines.append(f"Queue card: {view.card_link}")
        title = f"🚨 Management escalation · {h.priority.value.upper()} · {view.customer_name}"
        buttons = [] if view.acknowledged_by else [
            {"title": "Acknowledge", "verb": Verb.ACKNOWLEDGE, "data": card_data(handoff_id=h.id), "style": "positive"}]
        return Rendered(title, self._card("simple", title=title, lines=lines, buttons=buttons,
                                          note=f"{ack} · {h.id}"))

    def moved(self, h: Handoff, permalink: str | None, to_queue_label: str) -> Rendered:
        title = f"Moved to {to_queue_label}"
        return Rendered(title, self._card("simple", title=title, buttons=[],
                                          lines=[f"{h.priority.value} · {h.topic} · {h.summary or h.why}"],
                                          note=f"Continue there: {permalink}" if permalink else None))

    def group(self, view: GroupView) -> Rendered:
        waiting = sorted((h for h in view.handoffs if h.status is Status.QUEUED),
                         key=lambda h: (h.priority.rank, h.created_at))
        title = f"🚨 {view.total} new {view.label} escalations in {int(view.window_seconds)} s — possible incident"
        lines = [f"{len(waiting)} still waiting · first arrived {view.first_at:%H:%M} UTC"]
        lines += [f"{h.priority.value} · {h.topic} · {h.summary or h.why}" for h in waiting[:10]]
        buttons = [{"title": "Claim next", "verb": Verb.CLAIM_NEXT, "data": card_data(queue=view.queue),
                    "style": "positive"}] if waiting else []
        return Rendered(title, self._card("simple", title=title, lines=lines, buttons=buttons,
                                          note="Individual cards are held back to keep the channel readable; "
                                               "claiming one posts its card."))

    def queue_list(self, title: str, handoffs: Sequence[Handoff], empty: str) -> Rendered:
        lines = [f"{h.priority.value} · {h.queue} · {h.summary or h.why} · {h.id}" for h in handoffs] or [empty]
        return Rendered(title, self._card("simple", title=title, lines=lines, buttons=[], note=None))

    def stats(self, title: str, stats: Mapping[str, Any]) -> Rendered:
        """Today's KPIs (the ``stats`` command), from ``templates/reports/today.txt.j2``."""
        lines = self.r.text("reports/today.txt.j2", f=stats).splitlines()
        return self.text_card(title, [line for line in lines if line.strip()])

    def report(self, facts: Mapping[str, Any]) -> Rendered:
        """A report as a card: its first line the title, the others lines of Teams markdown."""
        lines = [line for line in self.r.report(facts, "teams").splitlines() if line.strip()]
        title = lines[0].replace("**", "") if lines else "Baton report"
        return self.text_card(title, lines[1:80])

    def text_card(self, title: str, lines: Sequence[str], note: str | None = None) -> Rendered:
        return Rendered(title, self._card("simple", title=title, lines=list(lines), buttons=[], note=note))
