"""The pure CRM logic in handoff/crm.py: no network, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from handoff.crm import account_manager, contact_stats, csat_score, fingerprint, inbound_close, timeline_entries
from handoff.models import Actor, ActorType, Agent, Event, EventKind, Handoff, Priority, Status, Surface, Tier

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def ev(i: int, kind: EventKind, **data: object) -> Event:
    return Event(handoff_id="ho_1", kind=kind, actor=Actor.system(), source=Surface.API, at=T0 + timedelta(seconds=i),
                 data=data, id=i)


def handoff(**kw: object) -> Handoff:
    base = Handoff(id="ho_1", source="widget", conversation_id="c", customer_id="cu", status=Status.QUEUED,
                   priority=Priority.HIGH, queue="billing", topic="billing", tier=Tier.L1, trigger_reason="x",
                   created_at=T0, updated_at=T0, sla_due_at=T0, customer_token="t")
    return replace(base, **kw)  # type: ignore[arg-type]


def test_entries_follow_event_order_skip_done_and_silent_kinds() -> None:
    events = [ev(1, EventKind.CREATED), ev(2, EventKind.ENRICHED), ev(3, EventKind.CLAIMED),
              ev(4, EventKind.CUSTOMER_MESSAGE, text="hi")]
    entries = timeline_entries(events, wanted=[4, 2, 3, 1], done=[1])
    assert [e.event_id for e in entries] == [3, 4] and entries[1].data["text"] == "hi"


def test_contact_stats_count_escalations_and_average_csat() -> None:
    assert contact_stats([], [5.0]) is None
    stats = contact_stats([T0 + timedelta(days=2), T0], [4.0, 5.0])
    assert stats is not None and (stats.total_escalations, stats.last_escalation_at, stats.avg_csat) == (
        2, T0 + timedelta(days=2), 4.5)
    assert contact_stats([T0], []).avg_csat is None  # type: ignore[union-attr]


def test_csat_score_accepts_1_to_5_only() -> None:
    make = lambda **d: Event("h", EventKind.CSAT_RECEIVED, Actor(ActorType.CUSTOMER), Surface.WIDGET, T0, data=d)  # noqa: E731
    assert [csat_score(make(score=4)), csat_score(make(rating=5)), csat_score(make(score=9)),
            csat_score(make(score=True)), csat_score(ev(1, EventKind.CLAIMED, score=3))] == [4.0, 5.0, None, None, None]


def test_account_manager_from_the_map_or_an_email_handle() -> None:
    agents = [Agent("emma", "Emma"), Agent("liam", "Liam", handles={"email": "Liam@Corp.example"})]
    assert account_manager("AM@corp.example", agents, {"am@corp.example": "emma"}) == "emma"
    assert account_manager("liam@corp.example", agents, {}) == "liam"
    assert account_manager("ghost@corp.example", agents, {"ghost@corp.example": "nobody"}) is None
    assert account_manager(None, agents, {}) is None


def test_a_closed_case_resolves_only_a_held_handoff() -> None:
    assert inbound_close(handoff(status=Status.CLAIMED, claimed_by="emma"), "hubspot").agent_id == "emma"
    assert inbound_close(handoff(status=Status.PENDING_CUSTOMER, claimed_by="emma"), "x").agent_id == "emma"
    queued = inbound_close(handoff(), "salesforce")
    assert queued.agent_id is None and "nobody holds it" in queued.why
    assert inbound_close(handoff(status=Status.RESOLVED), "x").why == "already resolved"


def test_fingerprint_is_stable_and_sensitive() -> None:
    assert fingerprint({"a": 1, "b": "x"}) == fingerprint({"b": "x", "a": 1}) != fingerprint({"a": 2, "b": "x"})
