"""A Hypothesis state machine over the handoff lifecycle, driving the real services on a real database.

Each rule picks a handoff and an action, predicts the outcome from :mod:`tests.reliability.model`, runs the
real use case (``Intake``, ``AgentActions``, ``Conversation``, ``CustomerSide``) and checks the two agree:
a refused action raises exactly the predicted domain error and changes nothing (version, events, outbox);
an allowed one writes exactly the predicted events. After every step the invariants re-read everything from
the store: only lifecycle-allowed shapes exist, the stored row equals the model, replaying the event log
(:func:`handoff.replay.replay`) reproduces the row, and every event has exactly its outbox items.

Hypothesis drives a synchronous machine; the coroutines run on an event loop the machine owns.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from handoff.checks import clean_text
from handoff.contract import HandoffIn
from handoff.errors import AlreadyClaimed, DomainError
from handoff.lifecycle import EscalationForm
from handoff.models import Actor, ActorType, Event, EventKind, Handoff, Status, Surface, Tier
from handoff.replay import Replayed, replay
from handoff.updates import CUSTOMER_KINDS
from tests.reliability import model as mdl
from tests.reliability.model import AGENTS, QUEUES, Expected, Outcome
from tests.support.destinations import RecordingDestination
from tests.support.factories import intake_body

SURFACES = (Surface.SLACK, Surface.TEAMS, Surface.API, Surface.CLI)
MAX_HANDOFFS = 4


@dataclass
class CustomerFacing(RecordingDestination):
    """A second destination that only takes what the customer sees, so "exactly its items" is not trivial."""

    name: str = "customer-facing"

    def subscribes(self, event: Event) -> bool:
        return event.kind in CUSTOMER_KINDS


@dataclass
class Tally:
    """What the runs tried, for the printed figures."""

    steps: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    applied: Counter[str] = field(default_factory=Counter)
    races: int = 0

    def reset(self) -> None:
        self.steps, self.races = 0, 0
        self.refused.clear()
        self.applied.clear()


TALLY = Tally()


class LifecycleMachine(RuleBasedStateMachine):
    """Subclassed per database by :func:`machine_for` (which supplies ``open_runtime``)."""

    open_runtime: Callable[[], Awaitable[Any]]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.rt = self.run(self.open_runtime())
        from handoff.services.customer import CustomerSide
        from handoff.services.waits import WaitTimes

        self.customer = CustomerSide(self.rt.deps, WaitTimes(self.rt.deps), self.rt.conversation)
        self.model: list[Expected] = []
        self.bodies: dict[str, dict[str, Any]] = {}

    def run(self, coro: Awaitable[Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        try:
            self.run(self.rt.engine.dispose())
        finally:
            self.loop.close()

    # ------------------------------------------------------------------------------------------ reading
    async def _read(self, hid: str) -> tuple[Handoff, list[Event], list[Any]]:
        async with self.rt.deps.uow(read_only=True) as uow:
            h = await uow.handoffs.get(hid)
            events = list(await uow.events.for_handoff(hid))
            items = [i for i in await uow.outbox.list(status=None, limit=1_000_000) if i.handoff_id == hid]
        assert h is not None
        return h, events, items

    def snapshot(self, hid: str) -> tuple[int, int, int]:
        h, events, items = self.run(self._read(hid))
        return h.version, len(events), len(items)

    def pick(self, i: int) -> Expected:
        return self.model[i % len(self.model)]

    # ------------------------------------------------------------------------------------------ applying
    def attempt(self, m: Expected, action: str, predicted: Outcome, call: Callable[[], Awaitable[Any]]) -> bool:
        """Run ``call``; check it did what ``predicted`` says. True when it was applied."""
        TALLY.steps += 1
        before = self.snapshot(m.id)
        try:
            self.run(call())
        except DomainError as exc:
            assert predicted.error is not None, f"{action} on {m.status.value} was refused: {exc.code} {exc}"
            assert type(exc) is predicted.error, f"{action} on {m.status.value}: {type(exc).__name__}, " \
                                                 f"expected {predicted.error.__name__}"
            assert self.snapshot(m.id) == before, f"refused {action} changed something"
            TALLY.refused[f"{action}:{exc.code}"] += 1
            return False
        assert predicted.error is None, f"{action} on {m.status.value} was allowed, expected {predicted.error}"
        version, n_events, _ = self.snapshot(m.id)
        assert version == before[0] + predicted.saves, f"{action}: version {before[0]} → {version}"
        assert n_events == before[1] + len(predicted.kinds)
        assert predicted.status is not None
        m.status = predicted.status
        m.version += predicted.saves
        m.events.extend(predicted.kinds)
        TALLY.applied[action] += 1
        return True

    # ------------------------------------------------------------------------------------------ rules
    @precondition(lambda self: len(self.model) < MAX_HANDOFFS)
    @rule(priority_hint=st.sampled_from(["billing", "technical", "general"]))
    def intake(self, priority_hint: str) -> None:
        body = intake_body(ai={"intent": priority_hint, "summary": f"{priority_hint} trouble"})
        body["conversation_id"] = f"conv_{uuid.uuid4().hex[:12]}"
        result = self.run(self.rt.intake.submit(HandoffIn.model_validate(body)))
        h = result.handoff
        assert result.created and h.status in (Status.QUEUED, Status.CLAIMED) and h.tier is Tier.L1
        kinds = [EventKind.CREATED] + ([EventKind.CLAIMED] if h.status is Status.CLAIMED else [])
        self.model.append(Expected(id=h.id, status=h.status, queue=h.queue, claimed_by=h.claimed_by,
                                   version=h.version, events=kinds))
        self.bodies[h.id] = body

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 99))
    def repeat_intake(self, i: int) -> None:
        """The widget posts the same conversation again: the same handoff comes back, nothing is written."""
        m = self.pick(i)
        before = self.snapshot(m.id)
        result = self.run(self.rt.intake.submit(HandoffIn.model_validate(self.bodies[m.id])))
        assert not result.created and result.handoff.id == m.id
        assert self.snapshot(m.id) == before
        TALLY.applied["repeat_intake"] += 1

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 99), agent=st.sampled_from(AGENTS), source=st.sampled_from(SURFACES))
    def claim(self, i: int, agent: str, source: Surface) -> None:
        m = self.pick(i)
        if self.attempt(m, "claim", mdl.predict_claim(m, agent), lambda: self.rt.actions.claim(m.id, agent, source)):
            m.claimed_by = agent

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 99))
    def claim_race(self, i: int) -> None:
        """Every agent presses Claim at once: one wins if it was queued, the others hear who has it."""
        m = self.pick(i)
        TALLY.races += 1
        before = self.snapshot(m.id)

        async def race() -> list[Any]:
            return await asyncio.gather(*(self.rt.actions.claim(m.id, a, Surface.SLACK) for a in AGENTS),
                                        return_exceptions=True)

        results = self.run(race())
        winners = [r for r in results if isinstance(r, Handoff)]
        losers = [r for r in results if not isinstance(r, Handoff)]
        assert all(isinstance(r, DomainError) for r in losers), losers
        if m.status is Status.QUEUED:
            assert len(winners) == 1 and all(type(r) is AlreadyClaimed for r in losers), results
            m.status, m.claimed_by = Status.CLAIMED, winners[0].claimed_by
            m.version += 1
            m.events.append(EventKind.CLAIMED)
        else:
            assert not winners and self.snapshot(m.id) == before

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 99), agent=st.sampled_from(AGENTS), holder=st.booleans())
    def release(self, i: int, agent: str, holder: bool) -> None:
        m = self.pick(i)
        who = m.claimed_by if holder and m.claimed_by else agent
        if self.attempt(m, "release", mdl.predict_release(m, who),
                        lambda: self.rt.actions.release(m.id, who, Surface.SLACK, "back to the queue")):
            m.claimed_by = None

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 99), agent=st.sampled_from(AGENTS), to_queue=st.sampled_from((*QUEUES, "nowhere")))
    def transfer(self, i: int, agent: str, to_queue: str) -> None:
        m = self.pick(i)
        if self.attempt(m, "transfer", mdl.predict_transfer(m, to_queue), lambda: self.rt.actions.transfer(
                m.id, agent, Surface.TEAMS, to_queue=to_queue, note="better there")):
            m.queue, m.claimed_by, m.transfer_count = to_queue, None, m.transfer_count + 1

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 99), agent=st.sampled_from(AGENTS), to_tier=st.none() | st.sampled_from(list(Tier)))
    def escalate(self, i: int, agent: str, to_tier: Tier | None) -> None:
        m = self.pick(i)
        if self.attempt(m, "escalate", mdl.predict_escalate(m, to_tier), lambda: self.rt.actions.escalate(
                m.id, agent, Surface.SLACK, to_tier=to_tier,
                form=EscalationForm(summary="needs L2", customer_impact="high"))):
            nxt = m.tier.next()
            assert nxt is not None
            m.tier, m.claimed_by, m.escalation_count = to_tier or nxt, None, m.escalation_count + 1

    def _holder_rule(self, i: int, agent: str, holder: bool, action: str,
                     call: Callable[[str, str], Awaitable[Any]]) -> tuple[Expected, bool]:
        m = self.pick(i)
        who = m.claimed_by if holder and m.claimed_by else agent
        predicted = getattr(mdl, f"predict_{action}")(m, who)
        return m, self.attempt(m, action, predicted, lambda: call(m.id, who))

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 99), agent=st.sampled_from(AGENTS), holder=st.booleans())
    def pending(self, i: int, agent: str, holder: bool) -> None:
        self._holder_rule(i, agent, holder, "pending",
                          lambda hid, who: self.rt.actions.pending_customer(hid, who, Surface.SLACK, "asked for logs"))

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 99), agent=st.sampled_from(AGENTS), holder=st.booleans())
    def resume(self, i: int, agent: str, holder: bool) -> None:
        self._holder_rule(i, agent, holder, "resume",
                          lambda hid, who: self.rt.actions.resume(hid, who, Surface.SLACK))

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 99), agent=st.sampled_from(AGENTS), holder=st.booleans(),
          outcome=st.sampled_from(["resolved", "workaround", "not_reproducible"]))
    def resolve(self, i: int, agent: str, holder: bool, outcome: str) -> None:
        m, applied = self._holder_rule(i, agent, holder, "resolve", lambda hid, who: self.rt.actions.resolve(
            hid, who, Surface.TEAMS, note="fixed", outcome=outcome))
        if applied:
            m.outcome = outcome

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 99), by_customer=st.booleans())
    def reopen(self, i: int, by_customer: bool) -> None:
        m = self.pick(i)
        actor = Actor(ActorType.CUSTOMER) if by_customer else Actor.agent("omar")
        if self.attempt(m, "reopen", mdl.predict_reopen(m),
                        lambda: self.rt.actions.reopen(m.id, actor, Surface.WIDGET, "still broken")):
            m.claimed_by, m.outcome, m.reopen_count = None, None, m.reopen_count + 1

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 99))
    def close(self, i: int) -> None:
        m = self.pick(i)
        self.attempt(m, "close", mdl.predict_close(m),
                     lambda: self.rt.actions.close(m.id, Actor.system(), Surface.SYSTEM, "grace period over"))

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 99), agent=st.sampled_from(AGENTS), text=st.text(min_size=1, max_size=40).filter(str.strip))
    def note(self, i: int, agent: str, text: str) -> None:
        m = self.pick(i)
        self.attempt(m, "note", mdl.predict_note(m),
                     lambda: self.rt.actions.add_note(m.id, Actor.agent(agent), Surface.SLACK, text))

    @precondition(lambda self: self.model)
    # Texts that still say something once control characters are removed (a message of only those is refused).
    @rule(i=st.integers(0, 99), text=st.text(min_size=1, max_size=40).filter(lambda s: clean_text(s).strip()))
    def customer_message(self, i: int, text: str) -> None:
        m = self.pick(i)
        self.attempt(m, "customer_message", mdl.predict_customer_message(m),
                     lambda: self.customer.send_message(m.id, text))

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 99), score=st.integers(1, 5))
    def csat(self, i: int, score: int) -> None:
        m = self.pick(i)
        if self.attempt(m, "csat", mdl.predict_csat(m), lambda: self.customer.rate(m.id, score, "thanks")):
            m.rated = True

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 99), agent=st.sampled_from(AGENTS), score=st.integers(1, 5))
    def advance(self, i: int, agent: str, score: int) -> None:
        """The usual next step for the handoff's state, so that runs reach resolved, closed and rated often."""
        m = self.pick(i)
        holder = m.claimed_by or agent
        if m.status is Status.QUEUED:
            self.claim(i, agent, Surface.SLACK)
        elif m.status is Status.PENDING_CUSTOMER:
            self.customer_message(i, "here are the logs")
        elif m.status is Status.CLAIMED:
            self.resolve(i, holder, True, "resolved")
        elif m.status is Status.RESOLVED and not m.rated:
            self.csat(i, score)
        elif m.status is Status.RESOLVED:
            self.close(i)
        else:
            self.csat(i, score)  # closed (rated or not): a rating is taken once

    # ------------------------------------------------------------------------------------------ invariants
    @invariant()
    def store_agrees_with_model_log_and_outbox(self) -> None:
        for m in self.model:
            h, events, items = self.run(self._read(m.id))
            check_shape(h)
            assert (h.status, h.claimed_by, h.queue, h.tier, h.version) == \
                   (m.status, m.claimed_by, m.queue, m.tier, m.version), (h, m)
            assert (h.reopen_count, h.transfer_count, h.escalation_count, h.outcome) == \
                   (m.reopen_count, m.transfer_count, m.escalation_count, m.outcome)
            assert [e.kind for e in events] == m.events
            assert replay(events) == Replayed.of(h)
            check_outbox(self.rt.destinations, events, items)


def check_shape(h: Handoff) -> None:
    """Only the combinations the lifecycle can produce."""
    assert h.status in set(Status)
    if h.status is Status.QUEUED:
        assert h.claimed_by is None and h.claimed_at is None and h.resolved_at is None and h.outcome is None
    else:
        assert h.claimed_by is not None and h.first_response_at is not None
    if h.status in (Status.CLAIMED, Status.PENDING_CUSTOMER):
        assert h.claimed_at is not None and h.resolved_at is None and h.closed_at is None
    if h.status is Status.RESOLVED:
        assert h.resolved_at is not None and h.outcome is not None and h.closed_at is None
    if h.status is Status.CLOSED:
        assert h.resolved_at is not None and h.closed_at is not None


def check_outbox(destinations: list[Any], events: list[Event], items: list[Any]) -> None:
    """Every committed event has one item per subscribing destination, and nothing else is in the outbox."""
    got = Counter((int(i.payload["event_id"]), i.destination) for i in items)
    want = Counter((int(e.id or 0), d.name) for e in events for d in destinations if d.subscribes(e))
    assert got == want, (got - want, want - got)
    keys = [i.idempotency_key for i in items]
    assert len(keys) == len(set(keys))
    assert all(i.kind == next(e.kind.value for e in events if e.id == i.payload["event_id"]) for i in items)


def machine_for(open_runtime: Callable[[], Awaitable[Any]]) -> type[LifecycleMachine]:
    """A machine class whose instances (one per Hypothesis example) start on a fresh runtime."""
    return type("LifecycleOnDb", (LifecycleMachine,), {"open_runtime": staticmethod(open_runtime)})


def destinations() -> list[Any]:
    return [RecordingDestination(), CustomerFacing()]
