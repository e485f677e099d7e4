"""The expected lifecycle, written out independently of ``handoff.lifecycle``: what each action should do.

The state machine test predicts every outcome from this table and checks the real services agree. It is
deliberately a second, plain statement of the rules (per action: the states it applies in, whether the
holder is required, which error otherwise), so a change in ``handoff.lifecycle`` that lets an illegal move
through, or refuses a legal one, shows up as a disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from handoff.errors import AlreadyClaimed, DomainError, IllegalTransition, InvalidCommand, NotHolder
from handoff.models import EventKind, Status, Tier

Q, C, P, R, X = Status.QUEUED, Status.CLAIMED, Status.PENDING_CUSTOMER, Status.RESOLVED, Status.CLOSED
OPEN = frozenset({Q, C, P})
HELD = frozenset({C, P})
TIERS = list(Tier)
QUEUES = ("technical", "billing", "accounts", "sales", "general")
AGENTS = ("emma", "liam", "omar")


@dataclass
class Expected:
    """What the test believes one handoff looks like."""

    id: str
    status: Status
    queue: str
    claimed_by: str | None
    tier: Tier = Tier.L1
    version: int = 1
    events: list[EventKind] = field(default_factory=list)
    reopen_count: int = 0
    transfer_count: int = 0
    escalation_count: int = 0
    outcome: str | None = None
    rated: bool = False


@dataclass(frozen=True)
class Outcome:
    """A predicted result: an error type (nothing changes), or the new state and the events written."""

    error: type[DomainError] | None = None
    status: Status | None = None
    kinds: tuple[EventKind, ...] = ()
    saves: int = 0  # how many times the row is written (version steps)


def refuse(error: type[DomainError]) -> Outcome:
    return Outcome(error=error)


def move(status: Status, kind: EventKind) -> Outcome:
    return Outcome(status=status, kinds=(kind,), saves=1)


def predict_claim(m: Expected, agent: str) -> Outcome:
    if m.status in HELD:
        return refuse(AlreadyClaimed)
    return move(C, EventKind.CLAIMED) if m.status is Q else refuse(IllegalTransition)


def _holder_action(m: Expected, agent: str, allowed: frozenset[Status], to: Status, kind: EventKind) -> Outcome:
    if m.status not in allowed:
        return refuse(IllegalTransition)
    if m.claimed_by != agent:
        return refuse(NotHolder)
    return move(to, kind)


def predict_release(m: Expected, agent: str) -> Outcome:
    return _holder_action(m, agent, HELD, Q, EventKind.RELEASED)


def predict_pending(m: Expected, agent: str) -> Outcome:
    return _holder_action(m, agent, frozenset({C}), P, EventKind.PENDING_CUSTOMER)


def predict_resume(m: Expected, agent: str) -> Outcome:
    return _holder_action(m, agent, frozenset({P}), C, EventKind.RESUMED)


def predict_resolve(m: Expected, agent: str) -> Outcome:
    return _holder_action(m, agent, HELD, R, EventKind.RESOLVED)


def predict_transfer(m: Expected, to_queue: str) -> Outcome:
    if m.status not in OPEN:
        return refuse(IllegalTransition)
    if to_queue not in QUEUES:
        return refuse(InvalidCommand)
    if to_queue == m.queue:
        return refuse(IllegalTransition)
    return move(Q, EventKind.TRANSFERRED)


def predict_escalate(m: Expected, to_tier: Tier | None) -> Outcome:
    if m.status not in OPEN:
        return refuse(IllegalTransition)
    if m.tier is TIERS[-1]:
        return refuse(IllegalTransition)
    if to_tier is not None and TIERS.index(to_tier) <= TIERS.index(m.tier):
        return refuse(InvalidCommand)
    return move(Q, EventKind.ESCALATED)


def predict_reopen(m: Expected) -> Outcome:
    return move(Q, EventKind.REOPENED) if m.status is R else refuse(IllegalTransition)


def predict_close(m: Expected) -> Outcome:
    return move(X, EventKind.CLOSED) if m.status is R else refuse(IllegalTransition)


def predict_note(m: Expected) -> Outcome:
    return Outcome(status=m.status, kinds=(EventKind.NOTE_ADDED,))


def predict_customer_message(m: Expected) -> Outcome:
    if m.status is X:
        return refuse(IllegalTransition)
    if m.status is P:  # the customer answered: back to the holder
        return Outcome(status=C, kinds=(EventKind.CUSTOMER_MESSAGE, EventKind.RESUMED), saves=1)
    return Outcome(status=m.status, kinds=(EventKind.CUSTOMER_MESSAGE,))


def predict_csat(m: Expected) -> Outcome:
    if m.status not in (R, X) or m.rated:
        return refuse(IllegalTransition)
    return Outcome(status=m.status, kinds=(EventKind.CSAT_RECEIVED,))
