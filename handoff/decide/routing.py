"""Ranking the agents of a queue for one conversation.

Score = specialization 35% + load 25% + customer fit 20% + recent performance 15% + availability 5%
(weights in ``routing.weights``). Only agents who hold the queue (or topic) as a skill, are not offline and
have a free slot are ranked. Every part is in 0..1 and returned with the score, so a card can show why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from handoff import checks
from handoff.contract import ConversationIn
from handoff.decide.context import AgentSnapshot, DecisionContext
from handoff.decide.rules import Rules
from handoff.decide.text import words
from handoff.models import AgentStatus, Tier

_TIER_RANK = {t: i for i, t in enumerate(Tier)}
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class AgentScore:
    """One ranked agent: the total score and its parts (each 0..1)."""

    agent_id: str
    score: float
    parts: Mapping[str, float]

    def as_dict(self) -> dict[str, Any]:
        """``{"agent_id", "score", "parts"}`` as stored in :attr:`handoff.models.Decision.routing`."""
        return {"agent_id": self.agent_id, "score": self.score, "parts": dict(self.parts)}


def conversation_terms(conv: ConversationIn) -> frozenset[str]:
    """The words of the customer's messages, AI summary and entities, for matching free skills ("wordpress")."""
    texts = [t.text for t in conv.transcript if t.role == "customer"]
    texts.append(conv.ai.summary or "")
    texts.extend(f"{k} {v}" for k, v in conv.ai.entities.items())
    if conv.technical is not None:
        texts.extend(str(v) for v in conv.technical.model_dump().values() if v)
    return frozenset(w for text in texts for w in words(text))


def rank_agents(
    rules: Rules,
    queue: str,
    topic: str,
    conv: ConversationIn,
    ctx: DecisionContext,
    *,
    terms: frozenset[str] | None = None,
    min_tier: Tier | None = None,
) -> list[AgentScore]:
    """Rank the eligible agents of ``queue`` for ``conv``, best first.

    Args:
        rules: the validated rules (``routing`` section).
        queue: the queue name; agents qualify by holding it (or ``topic``) as a skill.
        topic: the conversation's topic.
        conv: the conversation (customer locale, timezone, plan; words for free skills).
        ctx: the decision context (time and agent snapshots).
        terms: the conversation's words, when the caller already has them.
        min_tier: the tier a complex conversation needs; agents below it score less on specialization.

    Returns:
        Agents with a free slot who are not offline, by descending score (ties by agent id).
    """
    home = {queue.casefold(), topic.casefold()}
    words_in_chat = conversation_terms(conv) if terms is None else terms
    ranked = [
        score_agent(rules, snap, conv, ctx, home=home, terms=words_in_chat, min_tier=min_tier)
        for snap in ctx.agents
        if eligible(snap) and home & {s.casefold() for s in snap.agent.skills}
    ]
    ranked.sort(key=lambda s: (-s.score, s.agent_id))
    return ranked


def eligible(snap: AgentSnapshot) -> bool:
    """Not offline and below capacity."""
    a = snap.agent
    return a.status is not AgentStatus.OFFLINE and a.capacity > 0 and snap.open_count < a.capacity


def score_agent(
    rules: Rules,
    snap: AgentSnapshot,
    conv: ConversationIn,
    ctx: DecisionContext,
    *,
    home: set[str],
    terms: frozenset[str],
    min_tier: Tier | None = None,
) -> AgentScore:
    """Score one agent for the conversation (see the module docstring for the parts)."""
    rt = rules.routing
    agent = snap.agent
    skills = [s.casefold() for s in agent.skills]
    spec = rt.queue_skill_score if home & set(skills) else 0.0
    free = [s for s in skills if s not in home]
    if any(_skill_words(s) <= terms for s in free if _skill_words(s)):
        spec += rt.skill_match_score
    if min_tier is not None and _TIER_RANK[agent.tier] < _TIER_RANK[min_tier]:
        spec *= rt.below_tier_factor
    parts = {
        "specialization": min(1.0, spec),
        "load": max(0.0, 1.0 - snap.open_count / agent.capacity) if agent.capacity > 0 else 0.0,
        "fit": _fit(rules, snap, conv, ctx.now),
        "performance": _performance(rules, snap),
        "availability": _availability(rules, snap, ctx.now),
    }
    w = rt.weights
    total = sum(getattr(w, name) * value for name, value in parts.items())
    return AgentScore(agent.id, round(total, 3), {k: round(v, 3) for k, v in parts.items()})


@lru_cache(maxsize=4096)
def _skill_words(skill: str) -> frozenset[str]:
    return frozenset(words(skill))


def _fit(rules: Rules, snap: AgentSnapshot, conv: ConversationIn, now: datetime) -> float:
    rt = rules.routing
    cust = conv.customer
    agent = snap.agent
    lang = cust.locale.replace("_", "-").split("-")[0].casefold()
    language = 1.0 if lang in {x.replace("_", "-").split("-")[0].casefold() for x in agent.languages} else 0.0
    premium = cust.vip or cust.plan in rt.premium_plans or "vip" in cust.flags
    senior = _TIER_RANK[agent.tier] >= _TIER_RANK[Tier.L2] or bool(set(rt.premium_skills) & set(agent.skills))
    plan = 1.0 if not premium or senior else 0.3
    tz = 0.5
    a_off, c_off = _offset_hours(agent.timezone, now), _offset_hours(cust.timezone, now)
    if a_off is not None and c_off is not None:
        tz = 1.0 - min(12.0, abs(a_off - c_off)) / 12.0
    history = min(1.0, snap.past_successes_with_customer / rt.history_saturation)
    fw = rt.fit_weights
    return fw.language * language + fw.plan * plan + fw.timezone * tz + fw.history * history


def _performance(rules: Rules, snap: AgentSnapshot) -> float:
    rt = rules.routing
    csat = 0.5 if snap.csat is None else min(1.0, max(0.0, (snap.csat - 1.0) / 4.0))
    frt = 0.5
    if snap.median_first_response_s is not None:
        span = rt.first_response_bad_s - rt.first_response_good_s
        frt = min(1.0, max(0.0, (rt.first_response_bad_s - snap.median_first_response_s) / span))
    res = 0.5 if snap.resolution_rate is None else min(1.0, max(0.0, snap.resolution_rate))
    return (csat + frt + res) / 3.0


def _availability(rules: Rules, snap: AgentSnapshot, now: datetime) -> float:
    av = rules.routing.availability
    status = {AgentStatus.AVAILABLE: av.available, AgentStatus.BUSY: av.busy, AgentStatus.AWAY: av.away}
    base = status.get(snap.agent.status, 0.0)
    zone = snap.agent.timezone or rules.business_hours.timezone
    on_shift = within_hours(snap.agent.working_hours, zone, now)
    return base if on_shift is not False else base * av.outside_hours


def within_hours(hours: str | None, zone: str, now: datetime) -> bool | None:
    """Whether ``now`` falls in ``hours`` ("09:00-17:00", overnight spans allowed) in ``zone``; None if unknown."""
    if not hours:
        return None
    m = _HOURS.match(hours)
    tz = checks.zone(zone)
    if m is None or tz is None:
        return None
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        return None
    start, end = time(h1, m1), time(min(h2, 23), m2 if h2 < 24 else 59)
    local = _local_time(tz, now)
    return start <= local < end if start <= end else (local >= start or local < end)


@lru_cache(maxsize=1024)
def _local_time(tz: ZoneInfo, now: datetime) -> time:
    return now.astimezone(tz).time()


@lru_cache(maxsize=1024)
def _offset_hours(zone: str | None, now: datetime) -> float | None:
    tz = checks.zone(zone)
    if tz is None:
        return None
    offset = now.astimezone(tz).utcoffset()
    return None if offset is None else offset.total_seconds() / 3600.0
