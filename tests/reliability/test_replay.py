"""``handoff.replay``: a timeline folds to the state the lifecycle functions produced, and bad logs are refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from handoff import lifecycle
from handoff.models import Actor, Event, EventKind, Handoff, Priority, Status, Surface, Tier
from handoff.replay import Replayed, ReplayError, replay

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
QUEUES = frozenset({"technical", "billing"})


def _handoff() -> Handoff:
    return Handoff(id="ho_1", source="widget", conversation_id="c1", customer_id="cu_1", status=Status.QUEUED,
                   priority=Priority.HIGH, queue="technical", topic="technical", tier=Tier.L1,
                   trigger_reason="low_confidence", created_at=T0, updated_at=T0, sla_due_at=T0 + timedelta(hours=1),
                   customer_token="tok")


def _created(h: Handoff) -> Event:
    return Event(handoff_id=h.id, kind=EventKind.CREATED, actor=Actor.system(), source=Surface.API, at=T0,
                 data={"queue": h.queue}, id=1)


def test_a_full_life_replays_to_the_row_the_lifecycle_built() -> None:
    h = _handoff()
    events = [_created(h)]
    steps = [
        lambda x, t: lifecycle.claim(x, "emma", Surface.SLACK, t),
        lambda x, t: lifecycle.pending_customer(x, "emma", Surface.SLACK, t),
        lambda x, t: lifecycle.resume(x, Actor.agent("emma"), Surface.SLACK, t),
        lambda x, t: lifecycle.transfer(x, "emma", Surface.SLACK, t, to_queue="billing", known_queues=QUEUES),
        lambda x, t: lifecycle.escalate(x, "liam", Surface.SLACK, t, to_tier=Tier.L3),
        lambda x, t: lifecycle.claim(x, "liam", Surface.TEAMS, t),
        lambda x, t: lifecycle.resolve(x, "liam", Surface.TEAMS, t, outcome="workaround"),
        lambda x, t: lifecycle.reopen(x, Actor.system(), Surface.WIDGET, t),
        lambda x, t: lifecycle.claim(x, "omar", Surface.SLACK, t),
        lambda x, t: lifecycle.resolve(x, "omar", Surface.SLACK, t),
        lambda x, t: lifecycle.close(x, Actor.system(), Surface.SYSTEM, t),
    ]
    for n, step in enumerate(steps, start=2):
        tr = step(h, T0 + timedelta(minutes=n))
        h = replace(tr.after, version=h.version + 1)  # as the store's save does
        events.append(replace(tr.event, id=n))
        assert replay(events) == Replayed.of(h)
    assert replay(events) == Replayed(status=Status.CLOSED, queue="billing", tier=Tier.L3, claimed_by="omar",
                                      outcome="resolved", reopen_count=1, transfer_count=1, escalation_count=1,
                                      transitions=11)


def _ev(kind: EventKind, n: int, actor: Actor | None = None, **data: object) -> Event:
    return Event(handoff_id="ho_1", kind=kind, actor=actor or Actor.agent("emma"), source=Surface.SLACK,
                 at=T0 + timedelta(minutes=n), data=data, id=n)


@pytest.mark.parametrize("tail", [
    [_ev(EventKind.RESOLVED, 2)],  # resolved without a claim
    [_ev(EventKind.CLAIMED, 2), _ev(EventKind.CLAIMED, 3)],  # claimed twice
    [_ev(EventKind.CLOSED, 2)],  # closed from queued
    [_ev(EventKind.CLAIMED, 2), _ev(EventKind.RESUMED, 3)],  # resumed without waiting
    [_ev(EventKind.TRANSFERRED, 2, from_queue="billing", to_queue="sales")],  # from a queue it was not in
    [_ev(EventKind.ESCALATED, 2, from_tier="L2", to_tier="L3")],  # from a tier it was not at
    [_ev(EventKind.CREATED, 2, queue="technical")],  # created twice
    [_ev(EventKind.CLAIMED, 2, actor=Actor.system())],  # a claim naming nobody
], ids=["resolve-unclaimed", "double-claim", "close-queued", "resume-unpaused", "transfer-wrong-queue",
        "escalate-wrong-tier", "double-create", "claim-nobody"])
def test_an_impossible_timeline_is_refused(tail: list[Event]) -> None:
    with pytest.raises(ReplayError):
        replay([_created(_handoff()), *tail])


def test_a_timeline_must_start_with_created() -> None:
    with pytest.raises(ReplayError):
        replay([])
    with pytest.raises(ReplayError):
        replay([_ev(EventKind.NOTE_ADDED, 1, text="hi")])


def test_auto_assignment_names_the_agent_in_the_data() -> None:
    claimed = _ev(EventKind.CLAIMED, 2, actor=Actor.system(), assigned_to="emma")
    assert replay([_created(_handoff()), claimed]).claimed_by == "emma"
