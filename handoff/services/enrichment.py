"""Enrichment: after intake, ask each configured CRM who the customer is, and put the answer on the card.

It runs as an outbox destination subscribed to ``created`` — never inside the intake request — so a slow or
down CRM delays the account facts but never the handoff. Each lookup is bounded by a short timeout; a miss is
retried by the outbox with backoff. What the CRM knows better (account value, plan, company, name) is
written to the customer row together with an ``enriched`` event (the cards re-render from it) and the CRM
ids in ``external_refs`` (the case sync links the case to the contact/account with them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from handoff.checks import check_free_form, fit_text
from handoff.contract import CustomerIn, max_length
from handoff.crm import (
    CrmCustomer,
    CrmRateLimited,
    CrmUnavailable,
    CustomerDirectory,
    account_manager,
    outage_pause,
)
from handoff.models import Actor, Event, EventKind, Surface
from handoff.outbox import OutboxItem, RetryLater
from handoff.services.common import Deps

log = logging.getLogger("baton.enrichment")


def enrichment_data(found: CrmCustomer, manager_id: str | None) -> dict[str, Any]:
    """The ``enriched`` event's data: the facts a card shows, and where they came from (strings cleaned)."""
    data: dict[str, Any] = check_free_form({
        "system": found.system, "contact_id": found.contact_id, "industry": found.industry,
        "account_manager_id": manager_id, "owner_email": found.owner_email, "open_cases": found.open_cases,
        "recent_cases": [{"id": c.id, "number": c.number, "subject": c.subject, "status": c.status,
                          "closed": c.closed, "created_at": c.created_at} for c in found.recent_cases],
    }, max_keys=10_000)
    return {**data, **crm_facts(found)}


def crm_facts(found: CrmCustomer) -> dict[str, Any]:
    """What a CRM says about the customer, held to the intake contract's limits (a CRM is an edge too)."""
    value = found.account_value
    return {
        **{k: fit_text(getattr(found, k), max_length(CustomerIn, k) or 200) for k in ("name", "company", "plan")},
        "account_value": value if value is None or 0 <= value <= 1e12 else None,
    }


class EnrichmentDestination:
    """Looks the customers of new handoffs up in one CRM, many per call.

    Args:
        deps: use-case dependencies.
        directory: the CRM's :class:`~handoff.crm.CustomerDirectory`.
        timeout_seconds: the longest one lookup may take before the item is retried later.
        owner_agents: CRM owner email → Baton agent id (the account manager, for VIP routing).
        outage_pause_seconds: the first pause after a failed lookup (timeout, 5xx); doubles with each failure
            in a row up to ``outage_pause_cap_seconds``, like the case sync's circuit breaker.
    """

    def __init__(self, deps: Deps, directory: CustomerDirectory, *, timeout_seconds: float = 3.0,
                 owner_agents: Mapping[str, str] | None = None, outage_pause_seconds: float = 30.0,
                 outage_pause_cap_seconds: float = 3600.0) -> None:
        self.name = f"{directory.system}-enrich"
        self.deps = deps
        self.directory = directory
        self.timeout = timeout_seconds
        self.owner_agents = dict(owner_agents or {})
        self.outage_pause = (outage_pause_seconds, outage_pause_cap_seconds)
        self.failures = 0  # lookups in a row that failed as a whole (timeout, outage)

    def _down(self, message: str, retry_after: float | None) -> RetryLater:
        # A CRM that hangs or answers 5xx is down for every lookup: pause the destination (no attempts spent,
        # so minutes of outage never dead-letter the enrichment of new handoffs), longer each time in a row.
        self.failures += 1
        pause = outage_pause(*self.outage_pause, self.failures)
        return RetryLater(message, retry_after=max(retry_after or 0.0, pause), scope="destination")

    def subscribes(self, event: Event) -> bool:
        return event.kind == EventKind.CREATED

    async def deliver(self, item: OutboxItem) -> None:
        outcome = (await self.deliver_batch([item]))[0]
        if outcome is not None:
            raise outcome

    async def deliver_batch(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
        wanted: dict[str, str] = {}  # handoff id → email
        async with self.deps.uow(read_only=True) as uow:
            agents = await uow.agents.list()
            for item in items:
                h = await uow.handoffs.get(item.handoff_id or "")
                customer = await uow.customers.get(h.customer_id) if h else None
                if h and customer and customer.email:
                    wanted[h.id] = customer.email.lower()
        if not wanted:
            return [None] * len(items)
        try:
            found = await asyncio.wait_for(self.directory.lookup_many(sorted(set(wanted.values()))), self.timeout)
        except TimeoutError:
            log.warning("%s lookup took more than %.1fs; retrying later", self.directory.system, self.timeout)
            return [self._down(f"{self.directory.system} lookup timed out", None)] * len(items)
        except CrmRateLimited as exc:
            return [RetryLater(str(exc), retry_after=exc.retry_after, scope="destination")] * len(items)
        except CrmUnavailable as exc:
            return [self._down(str(exc), exc.retry_after)] * len(items)
        self.failures = 0
        await self._apply(wanted, found, agents)
        return [None] * len(items)

    async def _apply(self, wanted: Mapping[str, str], found: Mapping[str, CrmCustomer], agents: Sequence[Any]) -> None:
        now = self.deps.now()
        system = self.directory.system
        async with self.deps.uow() as uow:  # a few statements for the batch, not four per handoff
            known = await uow.refs.get_many(list(wanted), system, "contact")
            fresh = [hid for hid, email in wanted.items() if email in found and hid not in known]
            handoffs = await uow.handoffs.get_many(fresh)  # known ones: replayed items, enriched already
            refs: list[tuple[str, str, Mapping[str, Any]]] = []
            enriched: set[str] = set()
            for hid in fresh:
                h = handoffs.get(hid)
                if h is None:
                    continue
                email = wanted[hid]
                hit = found[email]
                if h.customer_id not in enriched:  # one customer's handoffs of a batch: one update
                    await uow.customers.enrich(h.customer_id, crm_facts(hit), now)
                    enriched.add(h.customer_id)
                manager = account_manager(hit.owner_email, agents, self.owner_agents)
                refs.append((hid, hit.contact_id, {"account_id": hit.account_id, "owner_email": hit.owner_email}))
                why = f"{system} knows {email}: " + ", ".join(
                    f"{k} {v}" for k, v in (("plan", hit.plan), ("account value", hit.account_value),
                                            ("account manager", manager)) if v is not None)
                uow.record(Event(handoff_id=hid, kind=EventKind.ENRICHED, actor=Actor.system(), source=Surface.CRM,
                                 at=now, reason=why, data=enrichment_data(hit, manager)))
            await uow.refs.put_many(refs, system, "contact", now)
            await uow.commit()
