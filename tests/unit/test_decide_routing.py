"""Ranking agents within a queue, the suggest/assign threshold, the lead flag, VIP account managers, backups."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import yaml

from handoff.contract import ConversationIn
from handoff.decide import AgentSnapshot, DecisionContext, RuleEngine, Rules, default_rules_path, rank_agents
from handoff.models import Agent, AgentStatus, Tier

TEXT = default_rules_path().read_text(encoding="utf-8")
RULES = Rules.parse(TEXT)
ENGINE = RuleEngine(RULES)
NOW = datetime(2026, 11, 17, 14, 0, tzinfo=UTC)


def agent(aid: str, *skills: str, **kw: Any) -> Agent:
    base: dict[str, Any] = {"tier": Tier.L2, "capacity": 4, "languages": ("en",), "timezone": "Europe/London"}
    base.update(kw)
    return Agent(aid, aid.title(), skills=skills, **base)


def snap(a: Agent, **kw: Any) -> AgentSnapshot:
    base: dict[str, Any] = {"open_count": 0, "csat": 4.8, "median_first_response_s": 45.0, "resolution_rate": 0.95}
    base.update(kw)
    return AgentSnapshot(a, **base)


def conv(text: str = "The widget breaks on WordPress, I need a human", **fields: Any) -> ConversationIn:
    return ConversationIn.model_validate(
        {"conversation_id": "r", "transcript": [{"role": "customer", "text": text}], **fields}
    )


def test_only_queue_agents_with_a_free_slot_who_are_not_offline_are_ranked() -> None:
    agents = [
        snap(agent("tech", "technical")),
        snap(agent("bill", "billing")),
        snap(agent("gone", "technical", status=AgentStatus.OFFLINE)),
        snap(agent("full", "technical", capacity=2), open_count=2),
    ]
    ranked = rank_agents(RULES, "technical", "technical", conv(), DecisionContext(now=NOW, agents=agents))
    assert [r.agent_id for r in ranked] == ["tech"]
    assert set(ranked[0].parts) == {"specialization", "load", "fit", "performance", "availability"}


def test_parts_move_the_ranking_the_right_way() -> None:
    ctx = DecisionContext(
        now=NOW,
        agents=[
            snap(agent("wp", "technical", "wordpress")),  # free skill seen in the chat
            snap(agent("plain", "technical")),
            snap(agent("busy", "technical", "wordpress"), open_count=3),  # same skills, little capacity left
            snap(agent("slow", "technical", "wordpress"), csat=2.0, median_first_response_s=900.0, resolution_rate=0.3),
        ],
    )
    ranked = rank_agents(RULES, "technical", "technical", conv(), ctx)
    order = [r.agent_id for r in ranked]
    assert order[0] == "wp"
    scores = {r.agent_id: r.score for r in ranked}
    assert scores["wp"] > scores["plain"] and scores["wp"] > scores["busy"] and scores["wp"] > scores["slow"]


def test_customer_fit_language_and_history() -> None:
    es = conv("Necesito hablar con un agente sobre la factura", customer={"locale": "es-MX"})
    ctx = DecisionContext(
        now=NOW,
        agents=[
            snap(agent("en", "billing")),
            snap(agent("es", "billing", languages=("en", "es"))),
            snap(agent("known", "billing"), past_successes_with_customer=3),
        ],
    )
    fit = {r.agent_id: r.parts["fit"] for r in rank_agents(RULES, "billing", "billing", es, ctx)}
    assert fit["es"] > fit["en"] and fit["known"] > fit["en"]


def test_best_score_above_threshold_is_suggested_with_a_backup() -> None:
    ctx = DecisionContext(now=NOW, agents=[snap(agent("wp", "technical", "wordpress")), snap(agent("b", "technical"))])
    d = ENGINE.evaluate(conv(), ctx)
    assert d.escalate and d.suggested_agent_id == "wp" and d.backup_agent_id == "b"
    assert not d.assign and not d.flag_for_lead
    assert d.routing[0]["agent_id"] == "wp" and d.routing[0]["score"] >= 0.8
    assert any(r.code == "routing.match" for r in d.reasons)


def test_assign_mode_assigns_the_best_agent() -> None:
    data = yaml.safe_load(TEXT)
    data["routing"]["mode"] = "assign"
    engine = RuleEngine(Rules.parse(yaml.safe_dump(data, allow_unicode=True)))
    ctx = DecisionContext(now=NOW, agents=[snap(agent("wp", "technical", "wordpress"))])
    d = engine.evaluate(conv(), ctx)
    assert d.assign and d.suggested_agent_id == "wp"


def test_below_threshold_is_left_to_be_claimed_and_the_lead_flagged() -> None:
    weak = snap(agent("weak", "technical", tier=Tier.L1, languages=("de",)), open_count=3, csat=2.0)
    d = ENGINE.evaluate(conv(), DecisionContext(now=NOW, agents=[weak]))
    assert d.suggested_agent_id is None and d.flag_for_lead and not d.assign
    assert d.backup_agent_id == "weak"
    assert any(r.code == "routing.unassigned" for r in d.reasons)


def test_no_agents_at_all() -> None:
    d = ENGINE.evaluate(conv(), DecisionContext(now=NOW))
    assert d.routing == () and d.suggested_agent_id is None and d.flag_for_lead


def test_vip_goes_to_their_account_manager_first() -> None:
    vip = conv("I need to speak to someone about our renewal", customer={"vip": True, "plan": "business"})
    am = snap(agent("am", "sales", "vip"), csat=None, median_first_response_s=None, resolution_rate=None)
    ctx = DecisionContext(now=NOW, agents=[am, snap(agent("s1", "billing", "sales"))], account_manager_id="am")
    d = ENGINE.evaluate(vip, ctx)
    assert d.suggested_agent_id == "am" and d.routing[0]["parts"]["account_manager"] == 1.0
    offline = replace(ctx, agents=[snap(replace(am.agent, status=AgentStatus.OFFLINE)), *ctx.agents[1:]])
    assert ENGINE.evaluate(vip, offline).suggested_agent_id != "am"


def test_no_handoff_no_assignment_even_in_assign_mode() -> None:
    data = yaml.safe_load(TEXT)
    data["routing"]["mode"] = "assign"
    engine = RuleEngine(Rules.parse(yaml.safe_dump(data, allow_unicode=True)))
    quiet = ConversationIn.model_validate(
        {
            "conversation_id": "q",
            "transcript": [
                {"role": "customer", "text": "How do I change the widget colour?"},
                {"role": "ai", "text": "Widget > Appearance.", "confidence": 0.95},
            ],
        }
    )
    d = engine.evaluate(quiet, DecisionContext(now=NOW, agents=[snap(agent("wp", "technical", "wordpress"))]))
    assert not d.escalate and not d.assign and not d.flag_for_lead
