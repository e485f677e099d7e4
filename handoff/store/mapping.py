"""Rows ↔ domain objects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping

from handoff.models import (
    Actor,
    ActorType,
    Agent,
    AgentStatus,
    Customer,
    Event,
    EventKind,
    Handoff,
    Priority,
    Reason,
    Status,
    Surface,
    Tier,
    Urgency,
)


def handoff_from_row(r: RowMapping) -> Handoff:
    return Handoff(
        id=r["id"], source=r["source"], conversation_id=r["conversation_id"], customer_id=r["customer_id"],
        status=Status(r["status"]), priority=Priority(r["priority"]), queue=r["queue"], topic=r["topic"],
        tier=Tier(r["tier"]), urgency=Urgency(r["urgency"]), trigger_reason=r["trigger_reason"],
        trigger_detail=r["trigger_detail"], why=r["why"] or "",
        reasons=tuple(Reason(x["code"], x["detail"], float(x.get("weight", 1.0))) for x in (r["reasons"] or [])),
        rules_version=r["rules_version"] or "", summary=r["summary"], locale=r["locale"],
        callback_url=r["callback_url"], customer_token=r["customer_token"], claimed_by=r["claimed_by"],
        claimed_at=r["claimed_at"], first_response_at=r["first_response_at"], resolved_at=r["resolved_at"],
        closed_at=r["closed_at"], suggested_agent_id=r["suggested_agent_id"], reopen_count=r["reopen_count"],
        transfer_count=r["transfer_count"], escalation_count=r["escalation_count"], outcome=r["outcome"],
        kb_gap=bool(r["kb_gap"]), sla_due_at=r["sla_due_at"], created_at=r["created_at"],
        updated_at=r["updated_at"], version=r["version"],
    )


def handoff_state(h: Handoff) -> dict[str, Any]:
    """The columns a lifecycle transition may change."""
    return {
        "status": h.status.value, "priority": h.priority.value, "priority_rank": h.priority.rank,
        "queue": h.queue, "topic": h.topic, "tier": h.tier.value, "urgency": h.urgency.value,
        "claimed_by": h.claimed_by, "claimed_at": h.claimed_at, "first_response_at": h.first_response_at,
        "resolved_at": h.resolved_at, "closed_at": h.closed_at, "suggested_agent_id": h.suggested_agent_id,
        "reopen_count": h.reopen_count, "transfer_count": h.transfer_count,
        "escalation_count": h.escalation_count, "outcome": h.outcome, "kb_gap": h.kb_gap,
        "sla_due_at": h.sla_due_at,
        "reasons": [r.as_dict() for r in h.reasons],  # the SLA engine adds the reasons of its bumps
        "updated_at": h.updated_at,
    }


def agent_from_row(r: RowMapping) -> Agent:
    return Agent(
        id=r["id"], display_name=r["display_name"], tier=Tier(r["tier"]), skills=tuple(r["skills"] or ()),
        capacity=r["capacity"], status=AgentStatus(r["status"]), languages=tuple(r["languages"] or ()),
        timezone=r["timezone"], handles=dict(r["handles"] or {}), working_hours=r["working_hours"],
        manager_of=tuple(r["manager_of"] or ()),
    )


def agent_values(a: Agent) -> dict[str, Any]:
    return {
        "display_name": a.display_name, "tier": a.tier.value, "skills": list(a.skills), "capacity": a.capacity,
        "status": a.status.value, "languages": list(a.languages), "timezone": a.timezone,
        "working_hours": a.working_hours, "handles": dict(a.handles), "manager_of": list(a.manager_of),
    }


def customer_from_row(r: RowMapping) -> Customer:
    return Customer(
        id=r["id"], email=r["email"], name=r["name"], company=r["company"], plan=r["plan"],
        account_value=r["account_value"], vip=r["vip"], locale=r["locale"], timezone=r["timezone"],
        tenure_days=r["tenure_days"], flags=tuple(r["flags"] or ()), external_id=r["external_id"],
        created_at=r["created_at"],
    )


def event_from_row(r: RowMapping) -> Event:
    return Event(
        id=r["id"], handoff_id=r["handoff_id"], kind=EventKind(r["kind"]),
        actor=Actor(ActorType(r["actor_type"]), r["actor_id"]), source=Surface(r["source"]), at=r["at"],
        reason=r["reason"], data=r["data"] or {},
    )
