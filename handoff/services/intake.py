"""The AI widget's use cases: evaluate a conversation, and hand it off (idempotently)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from handoff import lifecycle
from handoff.callbacks import CallbackPolicy, CallbackRefused
from handoff.contract import ConversationIn, HandoffIn, TriggerIn, check_limits
from handoff.decide import AgentSnapshot, DecisionContext
from handoff.errors import CallbackNotAllowed, ConversationExists
from handoff.ids import new_id, new_token
from handoff.models import Actor, Agent, Decision, Event, EventKind, Handoff, Reason, Status, Surface, Tier
from handoff.ports import AgentPerformance, UnitOfWork
from handoff.services.common import Deps
from handoff.sla.policy import SlaPolicy

_RECENT = timedelta(days=30)


class QueueCalendars(Protocol):
    """Business hours per queue (:class:`handoff.sla.calendar.Calendars`)."""

    def for_queue(self, queue: str) -> _OpenAt: ...


class _OpenAt(Protocol):
    def is_open(self, t: datetime) -> bool: ...


class Decider(Protocol):
    """The escalation rules (:class:`handoff.decide.RuleEngine`)."""

    @property
    def version(self) -> str: ...

    def evaluate(self, conv: ConversationIn, ctx: DecisionContext, trigger: TriggerIn | None = None) -> Decision: ...


Promise = Callable[[UnitOfWork, Handoff, int, "str | None"], Awaitable["float | None"]]
"""(uow, handoff, position, customer time zone) → the wait in seconds the intake answer promises
(:meth:`handoff.services.waits.WaitTimes.promise_in`)."""


@dataclass(frozen=True, slots=True)
class IntakeResult:
    handoff: Handoff
    created: bool
    position: int
    decision: Decision | None


class _AgentCache:
    """Agents, their load and their recent performance change slowly next to intake rates: reading them once
    a second (performance once a minute) is plenty for ranking."""

    def __init__(self, ttl: float = 1.0, perf_ttl: float = 60.0) -> None:
        self.ttl = ttl
        self.perf_ttl = perf_ttl
        self._at = -1e9
        self._perf_at = -1e9
        self._value: tuple[Sequence[Agent], Mapping[str, int]] = ((), {})
        self._perf: Mapping[str, AgentPerformance] = {}

    async def get(self, uow: UnitOfWork, now: datetime
                  ) -> tuple[Sequence[Agent], Mapping[str, int], Mapping[str, AgentPerformance]]:
        clock = time.monotonic()
        if clock - self._at > self.ttl:
            self._value = (await uow.agents.list(), await uow.agents.open_counts())
            self._at = clock
        if clock - self._perf_at > self.perf_ttl:
            self._perf = await uow.agents.performance(now - _RECENT)
            self._perf_at = clock
        return (*self._value, self._perf)


class Intake:
    """``POST /v1/handoffs`` and ``POST /v1/evaluate``.

    Args:
        deps: the shared use-case dependencies.
        decider: the escalation rules.
        callbacks: which non-public ``callback_url`` targets are allowed (default: none).
    """

    def __init__(self, deps: Deps, decider: Decider, callbacks: CallbackPolicy | None = None,
                 calendars: QueueCalendars | None = None, promise: Promise | None = None) -> None:
        self.deps = deps
        self.promise = promise
        self.sla = SlaPolicy(deps.config.sla)
        self.calendars = calendars
        self.decider = decider
        self.callbacks = callbacks or CallbackPolicy()
        self.agents = _AgentCache()

    def check(self, body: ConversationIn) -> None:
        """Size limits (413) and, for a handoff, the callback target (422), before anything is written."""
        limits = self.deps.config.limits
        check_limits(body, max_messages=limits.max_messages, max_message_chars=limits.max_message_chars)
        url = getattr(body, "callback_url", None)
        if url:
            try:
                self.callbacks.check_intake(url)
            except CallbackRefused as exc:
                raise CallbackNotAllowed(f"callback_url: {exc}", field="callback_url") from None

    async def _context(self, uow: UnitOfWork, body: ConversationIn, now: datetime,
                       customer_id: str | None) -> DecisionContext:
        agents, open_counts, perf = await self.agents.get(uow, now)
        recent = 0
        successes: Mapping[str, int] = {}
        if customer_id is not None:
            recent = await uow.handoffs.count_recent_for_customer(customer_id, now - _RECENT, None)
            if recent:
                successes = await uow.agents.successes_with(customer_id)
        email = body.customer.email
        manager = next((a.id for a in agents if email and email in a.manager_of), None)
        snapshots = tuple(
            AgentSnapshot(agent=a, open_count=open_counts.get(a.id, 0),
                          csat=perf[a.id].csat if a.id in perf else None,
                          median_first_response_s=perf[a.id].median_first_response_s if a.id in perf else None,
                          resolution_rate=perf[a.id].resolution_rate if a.id in perf else None,
                          past_successes_with_customer=successes.get(a.id, 0))
            for a in agents)
        return DecisionContext(now=now, recent_escalations_30d=recent, agents=snapshots, account_manager_id=manager,
                               queue_open=self._queue_open)

    async def evaluate(self, body: ConversationIn) -> Decision:
        """The decision for a conversation, creating nothing."""
        self.check(body)
        async with self.deps.uow(read_only=True) as uow:
            now = self.deps.now()
            known = await uow.customers.find_by_email(body.customer.email) if body.customer.email else None
            ctx = await self._context(uow, body, now, known.id if known else None)
        return self.decider.evaluate(body, ctx)

    async def submit(self, body: HandoffIn) -> IntakeResult:
        """Create the handoff for a conversation, or return the one that exists (same source + conversation).

        New conversations are the common case, so there is no look-up first: the insert's unique index decides,
        and a repeat rolls back and answers with the existing handoff.
        """
        self.check(body)
        async with self.deps.uow() as uow:
            now = self.deps.now()
            customer = await uow.customers.upsert(body.customer, now)
            # A customer seen for the first time has no history to count: skip those queries.
            first_seen = customer.created_at == now
            ctx = await self._context(uow, body, now, None if first_seen else customer.id)
            decision = self.decider.evaluate(body, ctx, body.trigger)
            handoff = self._new_handoff(body, decision, customer.id, customer.plan, now)
            assign = decision.suggested_agent_id if decision.assign else None
            # Counted before the insert (the same handoffs are ahead of a new one), so the promised wait is
            # written with the row: no second statement for it.
            position = 0 if assign else await uow.handoffs.position(handoff)
            promised = None
            if self.promise is not None and not assign:
                promised = await self.promise(uow, handoff, position, body.customer.timezone)
            # Staged: the handoff, its transcript, clocks, events and outbox items are written by the commit, in
            # one statement on PostgreSQL; a conversation that has a handoff already writes nothing.
            await uow.handoffs.add(handoff, body, decision.routing, promised_wait_seconds=promised)
            uow.record(Event(
                handoff_id=handoff.id, kind=EventKind.CREATED, actor=Actor.system(), source=Surface.API, at=now,
                reason=decision.why,
                data={"priority": decision.priority.value, "queue": handoff.queue, "topic": decision.topic,
                      "urgency": decision.urgency.value, "escalate": decision.escalate,
                      "reasons": [r.as_dict() for r in decision.reasons], "rules_version": decision.rules_version,
                      "model_version": decision.model_version, "model_data": decision.model_data,
                      "suggested_agent_id": decision.suggested_agent_id,
                      "backup_agent_id": decision.backup_agent_id, "flag_for_lead": decision.flag_for_lead,
                      "lead": self._lead(handoff.queue) if decision.flag_for_lead else None,
                      "source": body.source},
            ))
            if assign:
                handoff = await self._auto_assign(uow, handoff, assign, now)
            try:
                await uow.commit()
            except ConversationExists:
                pass
            else:
                return IntakeResult(handoff, True, position, decision)
        # A repeat (or a concurrent twin that committed first): answer with the existing handoff.
        async with self.deps.uow(read_only=True) as uow:
            found = await uow.handoffs.find_by_conversation(body.source, body.conversation_id)
            if found is None:  # pragma: no cover - the unique index makes this impossible
                raise RuntimeError("conversation conflict without a row")
            return IntakeResult(found, False, await uow.handoffs.position(found), None)

    def _queue_open(self, queue: str, now: datetime) -> bool:
        if self.calendars is None:
            return True
        return self.calendars.for_queue(queue).is_open(now)

    def _lead(self, queue: str) -> str | None:
        q = self.deps.config.queues.get(queue)
        return q.lead if q else None

    @staticmethod
    async def _auto_assign(uow: UnitOfWork, h: Handoff, agent_id: str, now: datetime) -> Handoff:
        """Routing is confident and the rules say assign: the best agent holds it from the start."""
        tr = lifecycle.claim(h, agent_id, Surface.SYSTEM, now)
        saved = await uow.handoffs.save(tr.after, h.version)
        uow.record(replace(tr.event, actor=Actor.system(), reason=f"auto-assigned to {agent_id} by routing",
                           data={**tr.event.data, "assigned_to": agent_id}))
        return saved

    def _new_handoff(self, body: HandoffIn, d: Decision, customer_id: str, plan: str, now: datetime) -> Handoff:
        queue = d.queue if d.queue in self.deps.config.queue_names else "general"
        on_call = self.deps.config.sla.after_hours_queue
        reasons = d.reasons
        if on_call and on_call != queue and self.calendars is not None and not self._queue_open(queue, now):
            reasons = (*reasons, Reason("sla.after_hours_queue",
                                        f"the {self.deps.config.label(queue)} team is off now: "
                                        f"routed to {self.deps.config.label(on_call)}", 0.5))
            queue = on_call
        trigger = body.trigger.reason if body.trigger else (d.reasons[0].code if d.reasons else "widget_request")
        return Handoff(
            id=new_id("ho"), source=body.source, conversation_id=body.conversation_id, customer_id=customer_id,
            status=Status.QUEUED, priority=d.priority, queue=queue, topic=d.topic, tier=Tier.L1,
            urgency=d.urgency, trigger_reason=trigger,
            trigger_detail=body.trigger.detail if body.trigger else None, why=d.why, reasons=reasons,
            rules_version=d.rules_version, summary=body.ai.summary, locale=body.customer.locale,
            callback_url=body.callback_url, customer_token=new_token(),
            suggested_agent_id=d.suggested_agent_id,
            # The first-response target of the SLA policy; the clocks themselves are rows (handoff.services.sla).
            sla_due_at=now + timedelta(seconds=self.sla.targets(d.priority, plan, queue).first_response),
            created_at=now, updated_at=now,
        )
