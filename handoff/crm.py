"""CRM ports and the pure logic of mirroring a handoff into a CRM.

Two ports, implemented by ``integrations/salesforce`` and ``integrations/hubspot``:

* :class:`CustomerDirectory` looks customers up by email (name, account, plan, value, owner, cases).
* :class:`CaseSink` writes a batch of :class:`CaseSync` plans: upsert each handoff's case/ticket by the
  handoff id, append the timeline entries not yet written, refresh the contact's escalation properties.

Everything else here is pure: which events become timeline entries, the case's mapped state, the contact
statistics, which CRM owner is which agent. No I/O, no vendor names beyond the system label.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from handoff.models import Agent, Customer, Event, EventKind, Handoff, Status

#: Events that change nothing a CRM user reads on the timeline (they still refresh the case fields).
#: SLA clock bookkeeping never leaves Baton (``handoff.outbox.TIMELINE_ONLY``); warnings and breaches do.
SILENT_KINDS = frozenset({EventKind.ENRICHED, EventKind.CUSTOMER_UPDATE_SENT, EventKind.SLA_CLOCK})

class CrmError(Exception):
    """Base of the typed errors adapters raise; the sync destination translates them once."""


class CrmRateLimited(CrmError):
    """Too many calls now (429 / daily allowance spent). Pause the whole CRM lane ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CrmUnavailable(CrmError):
    """5xx, timeouts, connection errors, expired credentials that could not be refreshed: retry later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CrmRejected(CrmError):
    """The CRM refused the request as malformed (400): retrying the same input cannot succeed."""


def outage_pause(base_seconds: float, cap_seconds: float, failures: int) -> float:
    """A CRM circuit breaker's pause after ``failures`` failed calls in a row: doubling from ``base`` to ``cap``.

    A CRM down for hours then gets a probe now and then instead of a call a second.
    """
    return float(min(cap_seconds, base_seconds * 2.0 ** max(0, failures - 1)))


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """One of the customer's cases/tickets, as shown on the card."""

    id: str
    subject: str
    status: str
    closed: bool
    number: str | None = None
    created_at: str | None = None


@dataclass(frozen=True, slots=True)
class CrmCustomer:
    """What a CRM knows about a customer. ``contact_id`` is the CRM's id; the rest is optional."""

    system: str
    contact_id: str
    email: str
    name: str | None = None
    company: str | None = None
    account_id: str | None = None
    plan: str | None = None
    industry: str | None = None
    account_value: float | None = None
    owner_email: str | None = None
    recent_cases: tuple[CaseSummary, ...] = ()

    @property
    def open_cases(self) -> int:
        return sum(1 for c in self.recent_cases if not c.closed)


class CustomerDirectory(Protocol):
    """Looks customers up in one CRM.

    Implementations may be slow; callers bound them with a timeout and never block intake on them.
    """

    system: str

    async def lookup_many(self, emails: Sequence[str]) -> Mapping[str, CrmCustomer]:
        """Known customers by lower-cased email (unknown emails are simply absent)."""
        ...


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of a case's timeline (a CaseComment, FeedItem or note), keyed by the event id."""

    event_id: int
    kind: str
    at: datetime
    actor: str
    source: str
    reason: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    score: float | None = None  # the CSAT score of a ``csat_received`` entry


@dataclass(frozen=True, slots=True)
class ContactStats:
    """The contact's escalation properties (HubSpot: ``total_escalations`` & co)."""

    total_escalations: int
    last_escalation_at: datetime
    avg_csat: float | None


@dataclass(frozen=True, slots=True)
class CaseSync:
    """Everything a sink needs to bring one handoff's case up to date, in one plan.

    Args:
        handoff: the handoff as it is now (delivery by id: stale retries still send the newest state).
        customer: its customer.
        case_id: the CRM case/ticket id if Baton already knows it.
        contact_id / account_id: CRM ids learned by enrichment (None: not known yet).
        entries: timeline entries to append, in event order, never written before.
        events: the handoff's whole timeline (for descriptions / stats), oldest first.
        stats: the contact's escalation properties to write, when they changed.
        linked: which associations the sink made earlier (``contact``, ``company``), so it skips them.
        reconcile: event ids whose write may have happened without Baton hearing back (check first).
        written: event ids already written (a sink may need to link them once the contact is known).
        entry_ids: CRM ids of written entries by event id (notes to link later without a lookup).
        fingerprint: the digest of the case fields last written (unchanged → the sink may skip the case write).
    """

    handoff: Handoff
    customer: Customer | None
    case_id: str | None
    contact_id: str | None
    account_id: str | None
    entries: tuple[TimelineEntry, ...]
    events: tuple[Event, ...] = ()
    stats: ContactStats | None = None
    linked: frozenset[str] = frozenset()
    reconcile: frozenset[int] = frozenset()
    written: frozenset[int] = frozenset()
    entry_ids: Mapping[int, str] = field(default_factory=dict)
    fingerprint: str | None = None


@dataclass
class CaseSyncResult:
    """What a sink did for one handoff: the case id, the entries now written, links made, or its error."""

    case_id: str | None = None
    written: list[int] = field(default_factory=list)
    linked: set[str] = field(default_factory=set)
    error: BaseException | None = None
    deferred: list[int] = field(default_factory=list)
    entry_ids: dict[int, str] = field(default_factory=dict)
    fingerprint: str | None = None


def fingerprint(fields: Mapping[str, Any]) -> str:
    """A stable digest of the fields a case write would send (to skip writes that change nothing)."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]


class CaseSink(Protocol):
    """Writes cases/tickets and their timelines into one CRM, many handoffs per call where it can."""

    system: str

    async def sync(self, plans: Sequence[CaseSync]) -> Mapping[str, CaseSyncResult]:
        """Apply the plans; one result per handoff id.

        Raises:
            CrmRateLimited, CrmUnavailable: the whole call failed in a way that passes.
            CrmRejected: the CRM refused the request itself.
        """
        ...


# ------------------------------------------------------------------------------------------- pure logic


def csat_score(event: Event) -> float | None:
    """The 1-5 score of a CSAT event (``score``, ``rating`` or ``csat`` key), else None."""
    if event.kind != EventKind.CSAT_RECEIVED:
        return None
    for key in ("score", "rating", "csat"):
        value = event.data.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value <= 5:
            return float(value)
    return None


def timeline_entries(events: Iterable[Event], wanted: Iterable[int], done: Iterable[int]) -> tuple[TimelineEntry, ...]:
    """Entries for the ``wanted`` event ids not ``done`` yet, in event order; silent kinds are skipped."""
    want, skip = set(wanted), set(done)
    out = []
    for e in events:
        if e.id is None or e.id not in want or e.id in skip or e.kind in SILENT_KINDS:
            continue
        out.append(TimelineEntry(event_id=e.id, kind=e.kind.value, at=e.at, actor=str(e.actor),
                                 source=e.source.value, reason=e.reason, data=dict(e.data), score=csat_score(e)))
    return tuple(out)


def contact_stats(handoff_times: Iterable[datetime], scores: Iterable[float]) -> ContactStats | None:
    """Escalation count, last escalation and mean CSAT over a customer's handoffs (None without handoffs)."""
    times = sorted(handoff_times)
    if not times:
        return None
    vals = list(scores)
    avg = round(sum(vals) / len(vals), 2) if vals else None
    return ContactStats(total_escalations=len(times), last_escalation_at=times[-1], avg_csat=avg)


STATS_KINDS = frozenset({EventKind.CREATED, EventKind.CSAT_RECEIVED, EventKind.ENRICHED})


def needs_stats(kinds: Iterable[str]) -> bool:
    """Whether events of these kinds change the contact's escalation properties."""
    return any(k in STATS_KINDS for k in kinds)


def map_value(mapping: Mapping[str, str], key: str, default: str) -> str:
    """A configured mapping with a fallback (status → CRM status, priority → CRM priority)."""
    return mapping.get(key, default)


def account_manager(owner_email: str | None, agents: Sequence[Agent], owner_map: Mapping[str, str]) -> str | None:
    """The Baton agent who owns the account in the CRM: configured map first, then an agent's ``email`` handle."""
    if not owner_email:
        return None
    email = owner_email.lower()
    mapped = {k.lower(): v for k, v in owner_map.items()}.get(email)
    if mapped and any(a.id == mapped for a in agents):
        return mapped
    return next((a.id for a in agents if str(a.handles.get("email", "")).lower() == email), None)


@dataclass(frozen=True, slots=True)
class InboundClose:
    """What to do when the CRM says a case is closed: resolve as ``agent_id``, or skip and say why."""

    agent_id: str | None
    why: str


def inbound_close(h: Handoff, system: str) -> InboundClose:
    """A case closed in the CRM resolves its handoff when someone holds it; otherwise nothing changes.

    Baton's own sync closes cases of resolved handoffs, so a closed case for a resolved handoff is an echo.
    """
    if h.status in (Status.RESOLVED, Status.CLOSED):
        return InboundClose(None, f"already {h.status.value}")
    if h.status in (Status.CLAIMED, Status.PENDING_CUSTOMER) and h.claimed_by:
        return InboundClose(h.claimed_by, f"case closed in {system}")
    return InboundClose(None, f"the handoff is {h.status.value} and nobody holds it; claim it to resolve")
