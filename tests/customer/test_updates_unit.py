"""Pure decisions and wording: which message for which event, the update cadence, templates in en/es."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handoff.eta import CustomerWait
from handoff.models import Actor, ActorType, Event, EventKind, Handoff, Priority, Status, Surface, Tier
from handoff.ports import UpdateSchedule
from handoff.updates import (
    CALLBACK_OFFER,
    CUSTOMER_KINDS,
    WAIT_UPDATE,
    MessageContext,
    UpdatePolicy,
    message_for,
    next_update,
)
from templates import Renderer
from templates.customer import QueueLabels, text_for

T0 = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)


def handoff(**kw: object) -> Handoff:
    base = dict(id="ho_1", source="widget", conversation_id="c1", customer_id="cu_1", status=Status.QUEUED,
                priority=Priority.MEDIUM, queue="billing", topic="billing", tier=Tier.L1, trigger_reason="x",
                created_at=T0, updated_at=T0, sla_due_at=T0 + timedelta(hours=1), customer_token="t" * 43,
                why="VIP churn risk (internal)", locale="en")
    base.update(kw)
    return Handoff(**base)  # type: ignore[arg-type]


def ev(kind: EventKind, actor: Actor | None = None, reason: str | None = None, **data: object) -> Event:
    return Event("ho_1", kind, actor or Actor.agent("emma@corp"), Surface.API, T0, reason, data, id=7)


def wait(seconds: int, low: int, high: int, confidence: str = "medium") -> CustomerWait:
    return CustomerWait("estimate", seconds, low, high, confidence, T0)  # type: ignore[arg-type]


EST = wait(150, 90, 240)
CTX = MessageContext(handoff(), "Maria Lopez", {"emma@corp": "Emma"}, "double charge on my card", 2, EST)
LABELS = QueueLabels()  # the built-in names of the default queues


def test_internal_events_are_never_shown() -> None:
    for kind in (EventKind.NOTE_ADDED, EventKind.PENDING_CUSTOMER, EventKind.RESUMED):
        assert kind not in CUSTOMER_KINDS
        assert message_for(ev(kind, text="SECRET"), CTX) is None


@pytest.mark.parametrize("event", [
    ev(EventKind.CREATED, Actor.system(), "VIP churn risk", queue="billing", reasons=[{"code": "vip"}]),
    ev(EventKind.CLAIMED, queue="billing", waited_seconds=30),
    ev(EventKind.TRANSFERRED, reason="customer is rude, SECRET", from_queue="billing", to_queue="accounts"),
    ev(EventKind.RESOLVED, reason="refunded by hand, SECRET", outcome="resolved", handle_seconds=100),
    ev(EventKind.RELEASED, reason="going to lunch SECRET"),
    ev(EventKind.ESCALATED, reason="SECRET summary", summary="SECRET", hypothesis="SECRET"),
])
def test_messages_carry_only_customer_safe_facts(event: Event) -> None:
    msg = message_for(event, CTX)
    assert msg is not None
    blob = repr(msg)
    assert "SECRET" not in blob and "churn" not in blob and "emma@corp" not in blob and "internal" not in blob
    text = text_for(Renderer(), msg, "en", LABELS)
    assert "SECRET" not in text and text.strip()


def test_agent_intro_names_agent_customer_and_topic_in_both_languages() -> None:
    msg = message_for(ev(EventKind.CLAIMED, queue="billing"), CTX)
    assert msg is not None and msg.type == "agent_joined"
    en = text_for(Renderer(), msg, "en", LABELS)
    assert en.startswith("Hi Maria, I'm Emma from Billing") and "double charge on my card" in en
    es = text_for(Renderer(), msg, "es-MX", LABELS)
    assert es.startswith("Hola Maria, soy Emma del equipo de Facturación")
    fr = text_for(Renderer(), msg, "fr", LABELS)
    assert fr == en  # unknown locale: English


@pytest.mark.parametrize("locale", ["en", "es"])
def test_every_customer_message_renders_in_each_locale(locale: str) -> None:
    events = [ev(k, Actor(ActorType.CUSTOMER) if k in (EventKind.CUSTOMER_MESSAGE,) else None, text="hi", score=5,
                 channel="email", update=u, queue="billing", position=3, wait_seconds=200, longer_than_usual=False)
              for k in CUSTOMER_KINDS for u in (WAIT_UPDATE, CALLBACK_OFFER)]
    r = Renderer()
    for e in events:
        msg = message_for(e, CTX)
        assert msg is not None, e.kind
        assert text_for(r, msg, locale, LABELS).strip()


def test_wait_update_wording_matches_the_issue() -> None:
    msg = message_for(ev(EventKind.CUSTOMER_UPDATE_SENT, Actor.system(), update="wait_update", queue="billing",
                         position=1, wait_seconds=110, longer_than_usual=False), CTX)
    assert msg is not None
    assert text_for(Renderer(), msg, "en", LABELS).startswith(
        "You're next in line for our Billing team, about 2 minutes.")
    longer = message_for(ev(EventKind.CUSTOMER_UPDATE_SENT, Actor.system(), update="wait_update", queue="billing",
                            position=4, wait_seconds=14400, longer_than_usual=True), CTX)
    assert longer is not None
    assert "number 4 in line" in text_for(Renderer(), longer, "en", LABELS) and "longer than usual" in text_for(
        Renderer(), longer, "en", LABELS)


ROW = UpdateSchedule("ho_1", T0, 0, None)
POLICY = UpdatePolicy(min_interval_seconds=60, max_interval_seconds=90, long_wait_seconds=600)


def test_cadence_is_shorter_near_the_front() -> None:
    now = T0 + timedelta(minutes=2)
    near = next_update(handoff(), ROW, 1, wait(100, 50, 150, "high"), now, POLICY)
    far = next_update(handoff(), ROW, 6, wait(900, 600, 1300), now, POLICY)
    assert near is not None and far is not None
    assert near.next_due_at == now + timedelta(seconds=60) and far.next_due_at == now + timedelta(seconds=90)
    assert near.update == far.update == WAIT_UPDATE


def test_callback_offer_once_past_the_threshold_unless_close() -> None:
    long_est = wait(1200, 900, 2000)
    early = next_update(handoff(), ROW, 5, long_est, T0 + timedelta(seconds=599), POLICY)
    late = next_update(handoff(), ROW, 5, long_est, T0 + timedelta(seconds=600), POLICY)
    assert early is not None and early.update == WAIT_UPDATE
    assert late is not None and late.update == CALLBACK_OFFER and late.callback_offered
    offered = UpdateSchedule("ho_1", T0, 3, T0 + timedelta(seconds=600))
    again = next_update(handoff(), offered, 5, long_est, T0 + timedelta(seconds=900), POLICY)
    assert again is not None and again.update == WAIT_UPDATE
    nearly_done = next_update(handoff(), ROW, 1, wait(30, 0, 60, "high"),
                              T0 + timedelta(seconds=900), POLICY)
    assert nearly_done is not None and nearly_done.update == WAIT_UPDATE  # about to be picked: no offer


def test_no_update_when_not_waiting() -> None:
    for status in (Status.CLAIMED, Status.PENDING_CUSTOMER, Status.RESOLVED, Status.CLOSED):
        assert next_update(handoff(status=status), ROW, 0, None, T0 + timedelta(minutes=5), POLICY) is None
