"""The one priority function of Baton: a weighted score, hard floors, then level bumps.

Intake calls it through :meth:`handoff.decide.RuleEngine.evaluate`; the SLA policy re-runs it on the
stored signals with extra flags (``long_wait``, ``repeat_escalation``, ``frustration``) to bump a waiting
handoff. It is monotone by construction: every factor has a non-negative weight, floors and bumps only
ever raise the level, so a stronger signal can never lower the priority.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from handoff.decide.rules import Rules
from handoff.models import Priority, Reason, Urgency

_LEVELS = (Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM, Priority.LOW)


@dataclass(frozen=True, slots=True)
class PrioritySignals:
    """The inputs of :func:`priority_for`.

    Attributes:
        urgency: the decision's urgency (after a widget trigger raised it).
        plan: the customer's plan, scored by ``priority.plan_scores``.
        vip: a VIP customer scores at least ``priority.vip_score`` for tier.
        complexity: 0..1, from technical markers and the steps the AI already tried.
        sentiment: 0..1, how negative the customer is (VADER, shouting, threats ...).
        flags: facts that trigger floors, bumps and boosts: ``security``, ``payment_failure``,
            ``service_affecting``, ``enterprise``, ``very_low_confidence``, ``after_hours``, and the SLA's
            ``long_wait``, ``repeat_escalation``, ``frustration``; the rules file says what each does.
        at_least: an explicit floor (a widget trigger's ``at_least``).
    """

    urgency: Urgency = Urgency.NONE
    plan: str = "free"
    vip: bool = False
    complexity: float = 0.0
    sentiment: float = 0.0
    flags: frozenset[str] = frozenset()
    at_least: Priority | None = None

    def with_flags(self, *flags: str) -> PrioritySignals:
        """A copy with more flags (for the SLA's dynamic bumps)."""
        return replace(self, flags=self.flags | frozenset(flags))


def tier_score(rules: Rules, plan: str, vip: bool) -> float:
    """How much the customer's plan weighs, 0..1 (``priority.plan_scores``; VIP at least ``vip_score``)."""
    pr = rules.priority
    score = pr.plan_scores.get(plan, pr.default_plan_score)
    return max(score, pr.vip_score) if vip else score


def priority_for(rules: Rules, signals: PrioritySignals) -> tuple[Priority, list[Reason]]:
    """Compute the priority of a handoff and explain it.

    1. Score = tier x 35% + urgency x 30% + complexity x 20% + sentiment x 15% (weights from the rules),
       plus ``priority.boosts`` for flags present; mapped to a level by ``priority.thresholds``.
    2. Floors: each ``priority.floors`` entry whose flags are all present raises the level to ``at_least``;
       so does ``signals.at_least``.
    3. Bumps: each flag in ``priority.bumps`` raises the level by its count (at most ``max_bump`` in all),
       e.g. ``after_hours`` by one.

    Args:
        rules: the validated rules.
        signals: the facts about the handoff.

    Returns:
        The priority and the reasons (``priority.score``, ``priority.floor``, ``priority.bump``).
    """
    pr = rules.priority
    w = pr.weights
    parts = {
        "tier": tier_score(rules, signals.plan, signals.vip),
        "urgency": pr.urgency_scores.of(signals.urgency),
        "complexity": _unit(signals.complexity),
        "sentiment": _unit(signals.sentiment),
    }
    score = sum(getattr(w, name) * value for name, value in parts.items())
    boosts = {f: pr.boosts[f] for f in sorted(signals.flags) if f in pr.boosts}
    score += sum(boosts.values())
    th = pr.thresholds
    level = (
        Priority.CRITICAL
        if score >= th.critical
        else Priority.HIGH
        if score >= th.high
        else Priority.MEDIUM
        if score >= th.medium
        else Priority.LOW
    )
    shown = " + ".join(f"{name} {getattr(w, name):g}x{value:.2f}" for name, value in parts.items())
    extra = "".join(f" + {f} {v:g}" for f, v in boosts.items())
    reasons = [Reason("priority.score", f"score {score:.2f} = {shown}{extra} → {level.value}", round(score, 3))]
    for floor in pr.floors:
        if all(f in signals.flags for f in floor.all) and floor.at_least.rank < level.rank:
            level = floor.at_least
            reasons.append(Reason("priority.floor", f"{floor.label} → at least {floor.at_least.value}", 1.0))
    if signals.at_least is not None and signals.at_least.rank < level.rank:
        level = signals.at_least
        reasons.append(Reason("priority.floor", f"widget trigger → at least {level.value}", 1.0))
    steps = 0
    for flag in sorted(signals.flags):
        n = min(pr.bumps.get(flag, 0), pr.max_bump - steps)
        bumped = level.bumped(n) if n > 0 else level
        if bumped != level:
            steps += n
            reasons.append(Reason("priority.bump", f"{flag.replace('_', ' ')}: {level.value} → {bumped.value}", 0.5))
            level = bumped
    return level, reasons


def _unit(value: float) -> float:
    return 0.0 if value <= 0 else 1.0 if value >= 1 else value


def within_one(a: Priority, b: Priority) -> bool:
    """Whether two priorities are at most one level apart."""
    return abs(a.rank - b.rank) <= 1


__all__ = ["PrioritySignals", "priority_for", "tier_score", "within_one"]
