"""The CRM sync destination both adapters share: outbox items in, one :class:`CaseSink` batch call out.

Delivery is by id: for every handoff with items in the batch it loads the current state, the timeline and
what Baton already wrote (``external_refs``: the case id, the event ids written, the links made), hands the
sink one :class:`~handoff.crm.CaseSync` per handoff, and records the outcome. Idempotency comes from two
places: cases are upserted by the handoff id, and an entry is sent only if its event id is not recorded as
written. A write whose answer was lost (timeout after the CRM committed) is covered by marking the entries
*pending* before the call: the next delivery asks the sink to reconcile them before writing anything.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from handoff.crm import (
    CaseSink,
    CaseSync,
    CaseSyncResult,
    CrmRateLimited,
    CrmRejected,
    CrmUnavailable,
    contact_stats,
    csat_score,
    needs_stats,
    outage_pause,
    timeline_entries,
)
from handoff.models import Event, EventKind
from handoff.outbox import NotAttempted, OutboxItem, PermanentFailure, RetryLater
from handoff.services.common import Deps

log = logging.getLogger("baton.crm")

CASE, CONTACT = "case", "contact"


@dataclass(frozen=True)
class SyncTuning:
    """How a CRM's lane behaves: pauses after an outage, reconciliation of lost writes, contact statistics."""

    outage_pause_seconds: float = 30.0
    outage_pause_cap_seconds: float = 3600.0
    reconcile: bool = True
    contact_stats: bool = True  # whether the sink writes the contact's escalation properties


def translate(exc: BaseException, tuning: SyncTuning, failures: int = 1) -> BaseException:
    """Typed CRM errors → the outbox's retry vocabulary (done once, here).

    An outage pauses the CRM's lane for ``outage_pause_seconds``, doubling with each consecutive failed call
    up to ``outage_pause_cap_seconds`` (a circuit breaker: a CRM down for hours gets a probe now and then).
    """
    if isinstance(exc, CrmRateLimited):
        return RetryLater(str(exc), retry_after=exc.retry_after, scope="destination")
    if isinstance(exc, CrmUnavailable):
        backoff = outage_pause(tuning.outage_pause_seconds, tuning.outage_pause_cap_seconds, failures)
        return RetryLater(str(exc), retry_after=max(exc.retry_after or 0.0, backoff), scope="destination")
    if isinstance(exc, CrmRejected):
        return PermanentFailure(str(exc))
    return exc


class CaseSyncDestination:
    """A batch outbox destination mirroring handoffs into one CRM (see the module docstring).

    Args:
        name: the destination (and lane) name, e.g. ``salesforce``.
        deps: the use-case dependencies (unit of work, clock).
        sink: the CRM adapter.
        tuning: pauses and whether lost writes must be reconciled (sinks with natural keys do not need it).
    """

    def __init__(self, name: str, deps: Deps, sink: CaseSink, tuning: SyncTuning | None = None) -> None:
        self.name = name
        self.system = sink.system
        self.deps = deps
        self.sink = sink
        self.tuning = tuning or SyncTuning()
        self.failures = 0  # consecutive calls that failed as a whole (outage, rate limit)

    def subscribes(self, event: Event) -> bool:
        return True  # every event changes the case (status, priority, owner) or its timeline

    async def deliver(self, item: OutboxItem) -> None:
        outcome = (await self.deliver_batch([item]))[0]
        if outcome is not None:
            raise outcome

    async def deliver_batch(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
        groups: dict[str, list[int]] = {}
        for i, item in enumerate(items):
            groups.setdefault(item.handoff_id or "", []).append(i)
        plans = await self._plans(items, groups)
        if not plans:
            return [None] * len(items)
        if self.tuning.reconcile:
            await self._mark_pending(plans)
        try:
            results = dict(await self.sink.sync(plans))
        except CrmRejected as exc:
            if len(plans) == 1:
                return [translate(exc, self.tuning)] * len(items)
            log.warning("%s rejected a batch of %d handoffs; retrying them one by one: %s", self.system,
                        len(plans), exc)
            results = {}
            for plan in plans:  # isolate the bad handoff instead of dead-lettering the whole batch
                try:
                    results.update(await self.sink.sync([plan]))
                except CrmRejected as one:
                    results[plan.handoff.id] = CaseSyncResult(error=one)
        except (CrmRateLimited, CrmUnavailable) as exc:
            self.failures += 1
            log.warning("%s sync paused (%d failed calls in a row): %s", self.system, self.failures, exc)
            # Only the first item spends an attempt; the others are given back untouched and wait out the pause:
            # an outage is not their fault, and a CRM down for hours must not dead-letter the whole backlog.
            return [translate(exc, self.tuning, self.failures)] + [NotAttempted()] * (len(items) - 1)
        self.failures = 0
        await self._record(plans, results)
        return self._outcomes(items, groups, results)

    async def _plans(self, items: Sequence[OutboxItem], groups: Mapping[str, list[int]]) -> list[CaseSync]:
        plans: list[CaseSync] = []
        async with self.deps.uow(read_only=True) as uow:
            for hid, idx in groups.items():
                handoff = await uow.handoffs.get(hid) if hid else None
                if handoff is None:
                    continue
                customer = await uow.customers.get(handoff.customer_id)
                events = tuple(await uow.events.for_handoff(hid))
                case = await uow.refs.get(hid, self.system, CASE)
                contact = await uow.refs.get(hid, self.system, CONTACT)
                data: Mapping[str, Any] = case.data if case else {}
                wanted = [int(items[i].payload["event_id"]) for i in idx if items[i].payload.get("event_id")]
                entries = timeline_entries(events, wanted, data.get("written", ()))
                stats = None
                if self.tuning.contact_stats and contact and customer and needs_stats(items[i].kind for i in idx):
                    history = await uow.events.for_customer(
                        customer.id, [EventKind.CREATED.value, EventKind.CSAT_RECEIVED.value])
                    stats = contact_stats([e.at for e in history if e.kind == EventKind.CREATED],
                                          [s for e in history if (s := csat_score(e)) is not None])
                plans.append(CaseSync(
                    handoff=handoff, customer=customer, case_id=(case.external_id or None) if case else None,
                    contact_id=contact.external_id if contact else None,
                    account_id=(contact.data.get("account_id") if contact else None), entries=entries,
                    events=events, stats=stats, linked=frozenset(data.get("linked", ())),
                    reconcile=frozenset(int(x) for x in data.get("pending", ())),
                    written=frozenset(int(x) for x in data.get("written", ())),
                    entry_ids={int(k): str(v) for k, v in (data.get("ids") or {}).items()},
                    fingerprint=data.get("fp"),
                ))
        return plans

    async def _mark_pending(self, plans: Sequence[CaseSync]) -> None:
        now = self.deps.now()
        marked = [p for p in plans if p.entries]
        async with self.deps.uow() as uow:  # one read and one write for the batch: a short transaction
            refs = await uow.refs.get_many([p.handoff.id for p in marked], self.system, CASE)
            rows: list[tuple[str, str, Mapping[str, Any]]] = []
            for plan in marked:
                ref = refs.get(plan.handoff.id)
                data = dict(ref.data) if ref else {}
                data["pending"] = sorted({*data.get("pending", ()), *(e.event_id for e in plan.entries)})
                rows.append((plan.handoff.id, plan.case_id or "", data))
            await uow.refs.put_many(rows, self.system, CASE, now)
            await uow.commit()

    async def _record(self, plans: Sequence[CaseSync], results: Mapping[str, CaseSyncResult]) -> None:
        now = self.deps.now()
        done = [(p, r) for p in plans if (r := results.get(p.handoff.id)) is not None]
        async with self.deps.uow() as uow:  # one read and one write for the batch: a short transaction
            refs = await uow.refs.get_many([p.handoff.id for p, _ in done], self.system, CASE)
            rows: list[tuple[str, str, Mapping[str, Any]]] = []
            for plan, res in done:
                ref = refs.get(plan.handoff.id)
                data = dict(ref.data) if ref else {}
                written = {*data.get("written", ()), *res.written}
                data["written"] = sorted(written)
                data["pending"] = sorted(set(data.get("pending", ())) - written) if res.error is None else \
                    data.get("pending", [])
                data["linked"] = sorted({*data.get("linked", ()), *res.linked})
                if res.entry_ids:
                    data["ids"] = {**(data.get("ids") or {}), **{str(k): v for k, v in res.entry_ids.items()}}
                if res.fingerprint and res.error is None:
                    data["fp"] = res.fingerprint
                case_id = res.case_id or plan.case_id or (ref.external_id if ref else "")
                rows.append((plan.handoff.id, case_id or "", data))
            await uow.refs.put_many(rows, self.system, CASE, now)
            await uow.commit()

    def _outcomes(self, items: Sequence[OutboxItem], groups: Mapping[str, list[int]],
                  results: Mapping[str, CaseSyncResult]) -> list[BaseException | None]:
        out: list[BaseException | None] = [None] * len(items)
        for hid, idx in groups.items():
            res = results.get(hid)
            if res is None:
                continue  # the handoff is gone: nothing to mirror
            if res.error is not None:
                out[idx[0]] = translate(res.error, self.tuning)
                for i in idx[1:]:
                    out[i] = NotAttempted()
                continue
            deferred = set(res.deferred)
            stop = False
            for i in idx:  # entries that did not fit this call: their item and its followers wait
                stop = stop or items[i].payload.get("event_id") in deferred
                out[i] = NotAttempted() if stop else None
        return out
