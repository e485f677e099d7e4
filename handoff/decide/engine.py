"""The rule engine: one pure function from a conversation (plus context) to an explained :class:`Decision`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from handoff.contract import ConversationIn, TriggerIn
from handoff.decide.analysis import Evidence, analyse
from handoff.decide.context import DecisionContext
from handoff.decide.intent import IntentModel
from handoff.decide.priority import PrioritySignals, priority_for
from handoff.decide.routing import AgentScore, eligible, rank_agents, score_agent
from handoff.decide.rules import Rules
from handoff.decide.sentiment import Sentiment
from handoff.decide.topic import choose_topic
from handoff.decide.triggers import Assessment, ModelReading, Signal, assess, max_urgency, pct
from handoff.models import Decision, Priority, Reason, Tier, Urgency


class _Routing(NamedTuple):
    ranking: tuple[Mapping[str, Any], ...]
    suggested: str | None
    backup: str | None
    assign: bool
    flag_for_lead: bool


class RuleEngine:
    """Decides whether a human is needed, how urgently, in which queue, for whom, and why.

    Build one per rules version and share it: it holds the compiled rules and one VADER analyzer, and
    :meth:`evaluate` is pure (no I/O, no state changes), so it is safe to call from many requests.
    """

    def __init__(self, rules: Rules) -> None:
        """Prepare the engine.

        Args:
            rules: validated rules (see :meth:`Rules.load`).
        """
        self.rules = rules
        self.version = rules.version
        rules.compiled  # noqa: B018 - compile now, not on the first request
        self._sentiment = Sentiment(rules.frustration.neutral_terms, rules.frustration.sentiment_floor)
        path = rules.intent_model_path()
        self.model: IntentModel | None = IntentModel.load(path) if path is not None else None
        self.model_version = self.model.version if self.model is not None else ""
        self.model_data = self.model.data_sha[:12] if self.model is not None else ""

    def _read(self, ev: Evidence) -> ModelReading | None:
        if self.model is None:
            return None
        return ModelReading(self.model, tuple(self.model.score_turn(t.clean) for t in ev.customer))



    def evaluate(self, conv: ConversationIn, ctx: DecisionContext, trigger: TriggerIn | None = None) -> Decision:
        """Decide about one conversation.

        Args:
            conv: the conversation (the ``/v1/evaluate`` body, or a handoff's conversation part).
            ctx: time, the customer's recent escalations, agent snapshots, account manager.
            trigger: the widget's own reason, when it posted one: recorded as a reason, and it may raise
                urgency and priority, never lower them. ``escalate`` stays the rules' verdict.

        Returns:
            The decision, with every reason, the rules version and a one-line ``why``.
        """
        ev = analyse(self.rules, self._sentiment, conv)
        reading = self._read(ev)
        topic, topic_reason = choose_topic(self.rules, ev, conv, reading)
        queue = self.rules.queue_for(topic)
        found = self._assess(ev, conv, ctx, topic, reading)
        signals, widget_reason = self._signals(found, conv, ctx, trigger, queue)
        priority, priority_reasons = self.priority_for(signals)
        escalate = found.urgency is not Urgency.NONE
        routing, routing_reasons = self._route(
            conv, ctx, ev, queue, topic, found, priority, escalate or trigger is not None
        )
        reasons = [Reason(s.code, s.detail, s.weight) for s in sorted(found.signals, key=lambda s: -s.weight)]
        if widget_reason is not None:
            reasons.insert(0, widget_reason)
        reasons += [Reason(f"set_aside.{s.code}", f"{s.detail} (set aside: resolved)", 0.0) for s in found.set_aside]
        reasons += [Reason(f"set_aside.{s.code}", f"{s.detail}", 0.0) for s in found.questions]
        if found.resolved and found.resolution_quote:
            reasons.append(Reason("resolved", f"customer confirmed: '{found.resolution_quote}'", 0.0))
        reasons += [topic_reason, *priority_reasons, *routing_reasons]
        return Decision(
            escalate=escalate,
            urgency=signals.urgency,
            reasons=tuple(reasons),
            topic=topic,
            priority=priority,
            queue=queue,
            why=self._why(found, conv, ev, signals.flags, widget_reason),
            rules_version=self.version,
            model_version=self.model_version,
            model_data=self.model_data,
            suggested_agent_id=routing.suggested,
            backup_agent_id=routing.backup,
            assign=routing.assign,
            flag_for_lead=routing.flag_for_lead,
            routing=routing.ranking,
        )

    def priority_for(self, signals: PrioritySignals) -> tuple[Priority, list[Reason]]:
        """The one priority function (see :func:`handoff.decide.priority.priority_for`).

        The SLA policy re-runs it with bumps: ``engine.priority_for(signals.with_flags("long_wait"))``.
        """
        return priority_for(self.rules, signals)

    def priority_signals(
        self, conv: ConversationIn, ctx: DecisionContext, trigger: TriggerIn | None = None
    ) -> PrioritySignals:
        """The priority inputs :meth:`evaluate` uses, for callers that re-run :meth:`priority_for` later."""
        ev = analyse(self.rules, self._sentiment, conv)
        reading = self._read(ev)
        topic, _ = choose_topic(self.rules, ev, conv, reading)
        return self._signals(self._assess(ev, conv, ctx, topic, reading), conv, ctx, trigger,
                             self.rules.queue_for(topic))[0]

    def frustration(self, text: str, locale: str = "en") -> str | None:
        """Why one new customer message reads frustrated (the same sentiment and shouting rules as intake), or None.

        The SLA engine asks this for every customer message written while a handoff is open.
        """
        conv = ConversationIn.model_validate({"conversation_id": "sla", "customer": {"locale": locale},
                                              "transcript": [{"role": "customer", "text": text[:2000]}]})
        ev = analyse(self.rules, self._sentiment, conv)
        if not ev.customer:
            return None
        turn = ev.customer[-1]
        fr = self.rules.frustration
        if turn.shouting:
            return "the customer is writing in capitals"
        if turn.compound <= fr.sentiment_at_most:
            return f"the customer's new message scored {turn.compound:+.2f} for sentiment"
        return None

    def after_hours(self, now: datetime) -> bool:
        """Whether ``now`` is outside ``business_hours``."""
        c = self.rules.compiled
        local = now.astimezone(c.business_zone)
        inside = local.weekday() in c.business_days and c.business_start <= local.time() < c.business_end
        return not inside

    def _assess(
        self, ev: Evidence, conv: ConversationIn, ctx: DecisionContext, topic: str, reading: ModelReading | None
    ) -> Assessment:
        return assess(self.rules, ev, conv, topic, ctx.recent_escalations_30d, reading)

    def _signals(
        self, found: Assessment, conv: ConversationIn, ctx: DecisionContext, trigger: TriggerIn | None,
        queue: str,
    ) -> tuple[PrioritySignals, Reason | None]:
        urgency, flags, at_least, widget = found.urgency, set(found.flags), None, None
        if trigger is not None:
            wt = self.rules.widget_triggers
            spec = wt.codes.get(trigger.reason, wt.default)
            urgency = max_urgency(urgency, Urgency(spec.urgency))
            at_least = spec.at_least
            detail = trigger.reason.replace("_", " ") + (f": {trigger.detail}" if trigger.detail else "")
            widget = Reason(f"widget.{trigger.reason}", f"the widget escalated ({detail})", spec.weight)
        # After hours of the queue's own team (its business hours), else of the rules file's default hours.
        closed = not ctx.queue_open(queue, ctx.now) if ctx.queue_open is not None else self.after_hours(ctx.now)
        if closed:
            flags.add("after_hours")
        cust = conv.customer
        return PrioritySignals(
            urgency=urgency,
            plan=cust.plan,
            vip=cust.vip or "vip" in cust.flags,
            complexity=found.complexity,
            sentiment=found.sentiment,
            flags=frozenset(flags),
            at_least=at_least,
        ), widget

    def _route(
        self,
        conv: ConversationIn,
        ctx: DecisionContext,
        ev: Evidence,
        queue: str,
        topic: str,
        found: Assessment,
        priority: Priority,
        handoff_needed: bool,
    ) -> tuple[_Routing, list[Reason]]:
        rt = self.rules.routing
        terms = ev.terms(conv) if ctx.agents else frozenset()
        complex_case = found.complexity >= rt.complex_at or priority.rank <= Priority.HIGH.rank
        min_tier = rt.complex_min_tier if complex_case else None
        ranked = rank_agents(self.rules, queue, topic, conv, ctx, terms=terms, min_tier=min_tier)
        manager = self._account_manager(conv, ctx, queue, topic, terms, min_tier)
        if manager is not None:
            ranked = [manager, *(r for r in ranked if r.agent_id != manager.agent_id)]
        table = tuple(r.as_dict() for r in ranked)
        best = ranked[0] if ranked else None
        if best is not None and (manager is not None or best.score >= rt.threshold):
            assign = handoff_needed and rt.mode == "assign"
            backup = ranked[1].agent_id if len(ranked) > 1 else None
            why = "VIP customer → account manager" if manager is not None else f"best match scored {best.score:.2f}"
            detail = f"{'assign' if assign else 'suggest'} {best.agent_id}: {why} (threshold {rt.threshold:g})"
            return _Routing(table, best.agent_id, backup, assign, False), [Reason("routing.match", detail, best.score)]
        unassigned = _Routing(table, None, best.agent_id if best else None, False, handoff_needed)
        if best is None:
            return unassigned, [
                Reason("routing.unassigned", f"no available agent in queue {queue}; left for the lead", 0.0)
            ]
        detail = (
            f"best match {best.agent_id} scored {best.score:.2f} < {rt.threshold:g}; left to be claimed, lead flagged"
        )
        return unassigned, [Reason("routing.unassigned", detail, best.score)]

    def _account_manager(
        self,
        conv: ConversationIn,
        ctx: DecisionContext,
        queue: str,
        topic: str,
        terms: frozenset[str],
        min_tier: Tier | None,
    ) -> AgentScore | None:
        cust = conv.customer
        if not ctx.account_manager_id or not (cust.vip or "vip" in cust.flags):
            return None
        snap = next((s for s in ctx.agents if s.agent.id == ctx.account_manager_id), None)
        if snap is None or not eligible(snap):
            return None
        home = {queue.casefold(), topic.casefold()}
        scored = score_agent(self.rules, snap, conv, ctx, home=home, terms=terms, min_tier=min_tier)
        return AgentScore(scored.agent_id, scored.score, {**scored.parts, "account_manager": 1.0})

    def _why(
        self, found: Assessment, conv: ConversationIn, ev: Evidence, flags: frozenset[str], widget: Reason | None
    ) -> str:
        parts: list[str] = []
        if widget is not None:
            parts.append(widget.code.removeprefix("widget.").replace("_", " ") + " (widget)")
        ranked: list[Signal] = sorted(
            (s for s in found.signals if s.level is not Urgency.NONE), key=lambda s: -s.weight
        )
        codes = {s.code for s in ranked}
        if "confidence_drop" in codes and "low_confidence" in codes:  # "fell 71%→52%" says more than "52%"
            drop = next(s for s in ranked if s.code == "confidence_drop")
            ranked = [drop, *(s for s in ranked if s.code not in ("low_confidence", "confidence_drop"))]
        parts += [s.label for s in ranked[:3] if s.label not in parts]
        if not parts:
            if found.resolved:
                parts.append("customer confirmed it is solved")
            elif ev.latest_confidence is not None:
                parts.append(f"no escalation signal; AI confidence {pct(ev.latest_confidence)}")
            else:
                parts.append("no escalation signal")
        plan = conv.customer.plan
        if "vip" in flags and "vip" not in " ".join(parts).casefold():
            parts.append("VIP")
        if "enterprise" in flags and not any(plan in p.casefold() for p in parts):
            parts.append(f"{plan} plan")
        context = [s for s in found.signals if s.level is Urgency.NONE and s.quote]
        quoted = next((s.quote for s in [*context, *ranked] if s.quote), None)
        if quoted and ranked:
            parts.append(f"'{quoted}'")
        return "why: " + " · ".join(parts)
