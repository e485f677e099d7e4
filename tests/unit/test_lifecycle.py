"""The state machine: every action in every state is either a documented transition or a refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from handoff import lifecycle
from handoff.errors import AlreadyClaimed, IllegalTransition, InvalidCommand, NotHolder
from handoff.models import Actor, EventKind, Handoff, Priority, Status, Surface, Tier

NOW = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)
QUEUES = frozenset({"technical", "billing", "accounts", "sales", "general"})


def make(status: Status = Status.QUEUED, claimed_by: str | None = None, tier: Tier = Tier.L1) -> Handoff:
    return Handoff(id="ho_1", source="widget", conversation_id="c1", customer_id="cu_1", status=status,
                   priority=Priority.HIGH, queue="technical", topic="technical", tier=tier, trigger_reason="x",
                   created_at=NOW - timedelta(seconds=72), updated_at=NOW - timedelta(seconds=72),
                   sla_due_at=NOW + timedelta(minutes=3), customer_token="t",
                   claimed_by=claimed_by, claimed_at=NOW - timedelta(seconds=10) if claimed_by else None)


ACTIONS = {
    "claim": lambda h: lifecycle.claim(h, "emma", Surface.API, NOW),
    "release": lambda h: lifecycle.release(h, "emma", Surface.API, NOW),
    "transfer": lambda h: lifecycle.transfer(h, "emma", Surface.API, NOW, to_queue="billing", known_queues=QUEUES),
    "escalate": lambda h: lifecycle.escalate(h, "emma", Surface.API, NOW),
    "pending": lambda h: lifecycle.pending_customer(h, "emma", Surface.API, NOW),
    "resume": lambda h: lifecycle.resume(h, Actor.agent("emma"), Surface.API, NOW),
    "resolve": lambda h: lifecycle.resolve(h, "emma", Surface.API, NOW),
    "reopen": lambda h: lifecycle.reopen(h, Actor.agent("emma"), Surface.API, NOW),
    "close": lambda h: lifecycle.close(h, Actor.system(), Surface.SYSTEM, NOW),
}

# (action, from) → to. Everything not listed must be refused.
ALLOWED = {
    ("claim", Status.QUEUED): Status.CLAIMED,
    ("release", Status.CLAIMED): Status.QUEUED,
    ("release", Status.PENDING_CUSTOMER): Status.QUEUED,
    ("transfer", Status.QUEUED): Status.QUEUED,
    ("transfer", Status.CLAIMED): Status.QUEUED,
    ("transfer", Status.PENDING_CUSTOMER): Status.QUEUED,
    ("escalate", Status.QUEUED): Status.QUEUED,
    ("escalate", Status.CLAIMED): Status.QUEUED,
    ("escalate", Status.PENDING_CUSTOMER): Status.QUEUED,
    ("pending", Status.CLAIMED): Status.PENDING_CUSTOMER,
    ("resume", Status.PENDING_CUSTOMER): Status.CLAIMED,
    ("resolve", Status.CLAIMED): Status.RESOLVED,
    ("resolve", Status.PENDING_CUSTOMER): Status.RESOLVED,
    ("reopen", Status.RESOLVED): Status.QUEUED,
    ("close", Status.RESOLVED): Status.CLOSED,
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("status", list(Status))
def test_every_action_in_every_state(action: str, status: Status) -> None:
    holder = "emma" if status in (Status.CLAIMED, Status.PENDING_CUSTOMER) else None
    h = make(status, claimed_by=holder)
    expected = ALLOWED.get((action, status))
    if expected is None:
        with pytest.raises(IllegalTransition):
            ACTIONS[action](h)
        return
    tr = ACTIONS[action](h)
    assert tr.after.status is expected
    assert tr.event.handoff_id == h.id
    assert tr.event.at == NOW
    assert tr.after.updated_at == NOW
    assert tr.before is h


def test_claim_records_who_and_how_long_they_waited() -> None:
    tr = lifecycle.claim(make(), "emma", Surface.SLACK, NOW)
    assert tr.after.claimed_by == "emma" and tr.after.claimed_at == NOW and tr.after.first_response_at == NOW
    assert tr.event.kind is EventKind.CLAIMED and tr.event.actor == Actor.agent("emma")
    assert tr.event.source is Surface.SLACK
    assert tr.event.data["waited_seconds"] == 72.0


def test_second_claimer_is_told_who_holds_it() -> None:
    h = lifecycle.claim(make(), "emma", Surface.API, NOW).after
    with pytest.raises(AlreadyClaimed, match="already claimed by emma") as exc:
        lifecycle.claim(h, "raj", Surface.API, NOW)
    assert exc.value.details["claimed_by"] == "emma"


@pytest.mark.parametrize("action", ["release", "pending", "resolve"])
def test_only_the_holder_can_act_on_a_claim(action: str) -> None:
    h = make(Status.CLAIMED, claimed_by="raj")
    with pytest.raises(NotHolder):
        ACTIONS[action](h)


def test_transfer_changes_queue_clears_claim_and_counts() -> None:
    tr = lifecycle.transfer(make(Status.CLAIMED, "emma"), "emma", Surface.API, NOW, to_queue="billing",
                            known_queues=QUEUES, note="refund question")
    assert (tr.after.queue, tr.after.status, tr.after.claimed_by, tr.after.transfer_count) == (
        "billing", Status.QUEUED, None, 1)
    assert tr.event.data == {"from_queue": "technical", "to_queue": "billing", "to_agent": None}
    assert tr.event.reason == "refund question"


def test_transfer_refuses_unknown_and_same_queue() -> None:
    with pytest.raises(InvalidCommand, match="unknown queue"):
        lifecycle.transfer(make(), "emma", Surface.API, NOW, to_queue="nope", known_queues=QUEUES)
    with pytest.raises(IllegalTransition, match="already in queue"):
        lifecycle.transfer(make(), "emma", Surface.API, NOW, to_queue="technical", known_queues=QUEUES)


def test_escalate_walks_the_tiers_and_keeps_the_sla_clock() -> None:
    h = make(Status.CLAIMED, "emma")
    seen = []
    while True:
        try:
            form = lifecycle.EscalationForm(summary="needs eng", warm=True)
            tr = lifecycle.escalate(h, "emma", Surface.API, NOW, form=form)
        except IllegalTransition as exc:
            assert "highest tier" in str(exc)
            break
        assert tr.after.sla_due_at == h.sla_due_at
        assert tr.after.created_at == h.created_at
        assert tr.event.data["warm"] is True and tr.event.reason == "needs eng"
        h = replace(tr.after, status=Status.CLAIMED, claimed_by="emma")
        seen.append(h.tier)
    assert seen == [Tier.L2, Tier.L3, Tier.L4, Tier.MANAGEMENT]
    assert h.escalation_count == 4


def test_escalate_cannot_go_down() -> None:
    with pytest.raises(InvalidCommand):
        lifecycle.escalate(make(tier=Tier.L3), "emma", Surface.API, NOW, to_tier=Tier.L2)


def test_reopen_counts_and_clears_resolution() -> None:
    h = lifecycle.resolve(make(Status.CLAIMED, "emma"), "emma", Surface.API, NOW, outcome="workaround").after
    assert h.outcome == "workaround" and h.resolved_at == NOW
    tr = lifecycle.reopen(h, Actor.system(), Surface.WIDGET, NOW, "customer says it broke again")
    assert tr.after.reopen_count == 1 and tr.after.resolved_at is None and tr.after.outcome is None
    assert tr.after.status is Status.QUEUED and tr.event.kind is EventKind.REOPENED


def test_resolve_reports_handle_time() -> None:
    tr = lifecycle.resolve(make(Status.CLAIMED, "emma"), "emma", Surface.API, NOW, kb_gap=True)
    assert tr.event.data == {"outcome": "resolved", "kb_gap": True, "handle_seconds": 10.0}


def test_notes_are_allowed_in_every_state() -> None:
    for status in Status:
        e = lifecycle.note(make(status), Actor.agent("emma"), Surface.API, NOW, "called the customer")
        assert e.kind is EventKind.NOTE_ADDED and e.data == {"text": "called the customer"}
