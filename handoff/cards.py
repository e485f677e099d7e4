"""The context card as facts: one view model every chat surface renders (Slack Block Kit, Teams Adaptive Cards).

:func:`build_card` turns a handoff, its customer, transcript, intake context and external references into a
:class:`HandoffCard`. No markup here: surfaces escape, format and cut the text for their own limits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from handoff.lifecycle import RESOLVE_OUTCOMES, tiers_above
from handoff.models import Customer, Handoff, Status, Tier
from handoff.ports import ExternalRef, TranscriptLine
from handoff.sla.clocks import ClockKind, SlaClock

#: Reason codes that describe how the decision was made rather than why the customer needs a human.
_BOOKKEEPING = ("topic.", "priority.", "routing.")
_LAST_MESSAGES = 3
_CRMS = ("salesforce", "hubspot")


def _crm_label(r: ExternalRef) -> str:
    return f"{'Salesforce Case' if r.system == 'salesforce' else 'HubSpot ticket'} {r.external_id}"


@dataclass(frozen=True, slots=True)
class Sentiment:
    """The customer's mood over the conversation: ``label`` of the latest messages and its ``trend``."""

    label: str  # negative | neutral | positive
    score: float  # VADER compound of the latest customer messages, -1..1
    trend: str  # worsening | improving | steady


@dataclass(frozen=True, slots=True)
class Confidence:
    """The AI's confidence over the conversation; ``direction`` is declined | rose | steady."""

    readings: tuple[float, ...]
    latest: float | None
    direction: str


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    text: str
    at: datetime | None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class CrmLink:
    """Where the handoff lives in a CRM: the record id, and its URL when the sync stored one."""

    system: str
    kind: str
    external_id: str
    label: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class CardActions:
    """What a viewer of the card may do in the handoff's current state — decided here, drawn by each surface.

    For a card everyone in a channel sees (``viewer`` None) the holder's actions show while it is held; for a
    card drawn for one person (a Teams refresh) they show only to the holder.
    """

    claim: bool
    release: bool
    transfer: bool
    escalate_to: tuple[Tier, ...]
    resolve: bool
    resolve_outcomes: tuple[str, ...]
    note: bool = True

    @property
    def escalate(self) -> bool:
        return bool(self.escalate_to)


def card_actions(h: Handoff, viewer: str | None = None) -> CardActions:
    """The actions :class:`CardActions` allows on ``h`` for ``viewer`` (an agent id; None: the whole channel)."""
    held = h.status in (Status.CLAIMED, Status.PENDING_CUSTOMER)
    holder = held and (viewer is None or viewer == h.claimed_by)
    return CardActions(claim=h.status is Status.QUEUED, release=holder, transfer=h.is_open,
                       escalate_to=tiers_above(h) if h.is_open else (), resolve=holder,
                       resolve_outcomes=RESOLVE_OUTCOMES if holder else ())


_SLA_LABEL = {ClockKind.FIRST_RESPONSE: "First response", ClockKind.RESOLUTION: "Resolution",
              ClockKind.TIER_ACK: "Tier acknowledgement", ClockKind.MANAGEMENT_ACK: "Management acknowledgement"}
#: Which clock a card shows while several run: the one a person must act on first.
_SLA_ORDER = (ClockKind.MANAGEMENT_ACK, ClockKind.TIER_ACK, ClockKind.FIRST_RESPONSE, ClockKind.RESOLUTION)
SLA_MARK = {"on_track": "⏱", "warning": "⚠️", "breached": "⛔", "paused": "⏸", "met": "✅"}


@dataclass(frozen=True, slots=True)
class SlaView:
    """The SLA clock a card shows: which, its state (on_track | warning | breached | paused | met), when it is
    due (None while paused or stopped), and a surface-neutral line without the time (surfaces add theirs)."""

    clock: str
    label: str
    state: str
    target_seconds: float
    due_at: datetime | None
    breached_at: datetime | None
    line: str

    @property
    def mark(self) -> str:
        return SLA_MARK.get(self.state, "⏱")


def sla_view(clocks: Sequence[SlaClock]) -> SlaView | None:
    """The clock that matters now: an open acknowledgement, else first response, else resolution; when none is
    open, the last promise that stopped (met or missed)."""
    promises = [c for c in clocks if c.kind in _SLA_LABEL]
    running = sorted((c for c in promises if c.open), key=lambda c: _SLA_ORDER.index(c.kind))
    shown = running[0] if running else next((c for c in reversed(promises) if c.outcome and
                                             c.outcome.value != "cancelled"), None)
    if shown is None:
        return None
    label, state = _SLA_LABEL[shown.kind], shown.state
    target = _span(shown.target_seconds)
    line = {"on_track": f"{label} target {target}",
            "warning": f"{label} target {target}: most of it is used",
            "breached": f"{label} target {target} missed",
            "paused": f"{label} clock paused while waiting for the customer",
            "met": f"{label} target {target} met",
            }.get(state, f"{label} target {target}")
    if state in ("met", "breached") and shown.elapsed_seconds is not None:
        line += f" (took {_span(shown.elapsed_seconds)})"
    return SlaView(shown.kind.value, label, state, shown.target_seconds, shown.due_at if shown.open else None,
                   shown.breached_at, line)


def _span(seconds: float) -> str:
    if seconds >= 7200:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.0f} s"


@dataclass(frozen=True, slots=True)
class HandoffCard:
    """Everything a context card shows, surface-neutral."""

    handoff: Handoff
    customer: Customer | None
    summary: str | None
    key_points: tuple[str, ...]
    attempted_steps: tuple[str, ...]
    sentiment: Sentiment | None
    confidence: Confidence
    reasons: tuple[str, ...]
    recommended: tuple[str, ...]
    crm_links: tuple[CrmLink, ...]
    last_messages: tuple[Message, ...]
    transcript: tuple[Message, ...]
    position: int
    suggested_agent_id: str | None = None
    speaking_agent_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    sla: SlaView | None = None

    @property
    def actions(self) -> CardActions:
        """The actions of the shared card (everyone in the channel sees the same one)."""
        return card_actions(self.handoff)

    def actions_for(self, viewer: str) -> CardActions:
        """The actions of one viewer's card (holder-only actions only for the holder)."""
        return card_actions(self.handoff, viewer)

    @property
    def waited_seconds(self) -> float | None:
        """How long the customer waited for a human (until the claim), when claimed."""
        h = self.handoff
        return (h.claimed_at - h.created_at).total_seconds() if h.claimed_at else None


def build_card(handoff: Handoff, customer: Customer | None, transcript: Sequence[TranscriptLine],
               context: Mapping[str, Any], refs: Sequence[ExternalRef], position: int,
               clocks: Sequence[SlaClock] = ()) -> HandoffCard:
    """Assemble the card's facts from what the store holds about one handoff."""
    ai: Mapping[str, Any] = context.get("ai") or {}
    technical: Mapping[str, Any] = context.get("technical") or {}
    routing: Sequence[Mapping[str, Any]] = context.get("routing") or []
    lines = tuple(Message(x.role, x.text, x.ts, x.author) for x in transcript)
    customer_lines = [m for m in lines if m.role == "customer"]
    steps = tuple(str(s) for s in ai.get("attempted_steps") or ())
    sentiment = _sentiment([m.text for m in customer_lines])
    confidence = _confidence(transcript, ai.get("confidence"))
    speaking = handoff.claimed_by if handoff.status in (Status.CLAIMED, Status.PENDING_CUSTOMER) else None
    return HandoffCard(
        handoff=handoff, customer=customer, summary=handoff.summary or ai.get("summary"),
        key_points=_key_points(ai, technical), attempted_steps=steps, sentiment=sentiment, confidence=confidence,
        reasons=tuple(r.detail for r in handoff.reasons if not r.code.startswith(_BOOKKEEPING)),
        recommended=_recommended(handoff, customer, steps, sentiment, routing),
        crm_links=tuple(CrmLink(r.system, r.kind, r.external_id, str(r.data.get("label") or _crm_label(r)),
                                str(r.data["url"]) if r.data.get("url") else None)
                        for r in refs if r.system in _CRMS and r.kind in ("case", "ticket") and r.external_id),
        last_messages=tuple(customer_lines[-_LAST_MESSAGES:]), transcript=lines, position=position,
        suggested_agent_id=handoff.suggested_agent_id, speaking_agent_id=speaking, sla=sla_view(clocks),
    )


def _key_points(ai: Mapping[str, Any], technical: Mapping[str, Any]) -> tuple[str, ...]:
    points = [f"{k}: {v}" for k, v in (ai.get("entities") or {}).items() if isinstance(v, str | int | float)]
    if ai.get("intent"):
        points.insert(0, f"intent: {ai['intent']}")
    if ai.get("kb_hits") == 0:
        points.append("the knowledge base had nothing for this")
    for key in ("browser", "os"):
        if technical.get(key):
            points.append(f"{key}: {technical[key]}")
    points.extend(f"error: {e}" for e in (technical.get("errors") or [])[:3])
    return tuple(points[:10])


def _confidence(transcript: Sequence[TranscriptLine], latest: Any) -> Confidence:
    readings = [x.confidence for x in transcript if x.role == "ai" and x.confidence is not None]
    if isinstance(latest, int | float) and (not readings or readings[-1] != latest):
        readings.append(float(latest))
    direction = "steady"
    if len(readings) >= 2 and abs(readings[-1] - readings[0]) >= 0.05:
        direction = "declined" if readings[-1] < readings[0] else "rose"
    return Confidence(tuple(readings), readings[-1] if readings else None, direction)


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _sentiment(texts: Sequence[str]) -> Sentiment | None:
    if not texts:
        return None
    # VADER is quadratic on emoji-heavy text: the first 200 characters of the last 4 messages carry the mood.
    scores = [float(_analyzer().polarity_scores(t[:200])["compound"]) for t in texts[-4:]]
    half = max(1, len(scores) // 2)
    early, late = sum(scores[:half]) / half, sum(scores[-half:]) / half
    trend = "steady" if len(scores) < 2 or abs(late - early) < 0.2 else ("worsening" if late < early else "improving")
    latest = scores[-1]
    label = "negative" if latest <= -0.25 else "positive" if latest >= 0.25 else "neutral"
    return Sentiment(label, round(latest, 2), trend)


def _recommended(h: Handoff, customer: Customer | None, steps: Sequence[str], sentiment: Sentiment | None,
                 routing: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Plain advice from the facts: what not to repeat, how to open, who fits best."""
    out: list[str] = []
    if sentiment is not None and sentiment.label == "negative":
        out.append("Acknowledge the frustration before troubleshooting")
    if steps:
        out.append("Do not repeat what was tried: " + "; ".join(steps[:4]))
    if customer is not None and (customer.vip or customer.plan == "enterprise"):
        out.append("High-value account: confirm ownership and a next update time")
    if routing and routing[0].get("agent_id"):
        out.append(f"Best fit: {routing[0]['agent_id']}")
    if not out:
        out.append(f"Read the summary, then confirm the {h.topic} issue with the customer")
    return tuple(out)
