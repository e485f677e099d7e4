"""Salesforce as a :class:`~handoff.crm.CaseSink`: Cases upserted by the handoff id, timeline as CaseComments.

One Composite request per batch: an sObject Collections upsert of up to 200 Cases (by the external-id
field), then up to four Collections inserts of 200 CaseComments (or FeedItems) each, which point at new
Cases through Composite references (``@{cases[3].id}``). Entries that do not fit wait for the next call.
Every comment ends with a ``[baton:<event id>]`` marker so a write whose answer was lost can be found again
(:meth:`SalesforceCaseSink._reconcile`) instead of written twice.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simple_salesforce import format_soql

from handoff.crm import CaseSync, CaseSyncResult, CrmRejected, CrmUnavailable, map_value
from integrations.salesforce.client import SalesforceGateway
from templates import Renderer

STATUS: Mapping[str, str] = {"queued": "New", "claimed": "Working", "pending_customer": "Working",
                             "resolved": "Closed", "closed": "Closed"}
PRIORITY: Mapping[str, str] = {"critical": "High", "high": "High", "medium": "Medium", "low": "Low"}
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
MARKER = re.compile(r"\[baton:(\d+)\]")
MAX_RECORDS = 200
MAX_TIMELINE_COLLECTIONS = 4  # Composite allows 5 Collections subrequests; one is the Case upsert


@dataclass(frozen=True)
class SalesforceCaseConfig:
    """Where and how cases are written (see ``SALESFORCE_*`` settings)."""

    external_id_field: str = "Baton_Handoff_Id__c"
    timeline: str = "comments"  # or "feed" (FeedItem TextPosts)
    origin: str = "Chat"
    status_map: Mapping[str, str] = field(default_factory=dict)
    priority_map: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Field names go into SOQL and URLs (values never do; they go through format_soql): allow names only.
        if not FIELD_NAME.match(self.external_id_field):
            raise ValueError(f"SALESFORCE_EXTERNAL_ID_FIELD {self.external_id_field!r} is not a field name")

    @property
    def entry_object(self) -> tuple[str, str]:
        return ("FeedItem", "Body") if self.timeline == "feed" else ("CaseComment", "CommentBody")


class SalesforceCaseSink:
    """Writes case batches into Salesforce (blocking calls in a worker thread)."""

    system = "salesforce"

    def __init__(self, gateway: SalesforceGateway, config: SalesforceCaseConfig | None = None,
                 renderer: Renderer | None = None) -> None:
        self.gateway = gateway
        self.config = config or SalesforceCaseConfig()
        self.renderer = renderer or Renderer()

    async def sync(self, plans: Sequence[CaseSync]) -> Mapping[str, CaseSyncResult]:
        return await asyncio.to_thread(self._sync, list(plans))

    # ------------------------------------------------------------------------------------------ records
    def case_record(self, plan: CaseSync) -> dict[str, Any]:
        h, c = plan.handoff, plan.customer
        cfg = self.config
        record: dict[str, Any] = {
            "attributes": {"type": "Case"}, cfg.external_id_field: h.id,
            "Subject": self.renderer.text("crm/case_subject.txt.j2", handoff=h)[:255],
            "Description": self.renderer.text("crm/case_description.txt.j2", handoff=h, customer=c)[:32000],
            "Status": map_value(cfg.status_map, h.status.value, STATUS.get(h.status.value, "New")),
            "Priority": map_value(cfg.priority_map, h.priority.value, PRIORITY.get(h.priority.value, "Medium")),
            "Origin": cfg.origin, "IsEscalated": h.escalation_count > 0,
        }
        if c is not None:
            if c.email:
                record["SuppliedEmail"] = c.email
            if c.name:
                record["SuppliedName"] = c.name[:80]
        if plan.contact_id:
            record["ContactId"] = plan.contact_id
        if plan.account_id:
            record["AccountId"] = plan.account_id
        return record

    def entry_record(self, parent: str, text: str) -> dict[str, Any]:
        sobject, body_field = self.config.entry_object
        limit = 10000 if sobject == "FeedItem" else 4000
        record: dict[str, Any] = {"attributes": {"type": sobject}, "ParentId": parent, body_field: _fit(text, limit)}
        if sobject == "FeedItem":
            record["Type"] = "TextPost"
        return record

    # ------------------------------------------------------------------------------------------- calls
    def _sync(self, plans: list[CaseSync]) -> dict[str, CaseSyncResult]:
        self.gateway.check_budget()
        results = {p.handoff.id: CaseSyncResult(case_id=p.case_id) for p in plans}
        present = self._reconcile([p for p in plans if p.reconcile])
        for start in range(0, len(plans), MAX_RECORDS):
            self._round(plans[start:start + MAX_RECORDS], results, present)
        return results

    def _round(self, plans: list[CaseSync], results: dict[str, CaseSyncResult],
               present: Mapping[str, set[int]]) -> None:
        v = self.gateway.version
        entries: list[tuple[str, int, dict[str, Any]]] = []  # handoff id, event id, record
        room = MAX_RECORDS * MAX_TIMELINE_COLLECTIONS
        for i, plan in enumerate(plans):
            hid = plan.handoff.id
            done = present.get(hid, set())
            results[hid].written.extend(sorted(done & {e.event_id for e in plan.entries}))
            parent = plan.case_id or f"@{{cases[{i}].id}}"
            for entry in plan.entries:
                if entry.event_id in done:
                    continue
                if len(entries) >= room:
                    results[hid].deferred.append(entry.event_id)
                    continue
                text = self.renderer.text("crm/timeline_entry.txt.j2", entry=entry)
                entries.append((hid, entry.event_id, self.entry_record(parent, text)))
        subrequests: list[dict[str, Any]] = [{
            "method": "PATCH", "referenceId": "cases",
            "url": f"/services/data/v{v}/composite/sobjects/Case/{self.config.external_id_field}",
            "body": {"allOrNone": False, "records": [self.case_record(p) for p in plans]},
        }]
        chunks = [entries[i:i + MAX_RECORDS] for i in range(0, len(entries), MAX_RECORDS)]
        for n, chunk in enumerate(chunks):
            subrequests.append({"method": "POST", "referenceId": f"timeline{n}",
                                "url": f"/services/data/v{v}/composite/sobjects",
                                "body": {"allOrNone": False, "records": [r for _, _, r in chunk]}})
        answer = self.gateway.restful("composite", "POST", {"allOrNone": False, "compositeRequest": subrequests})
        by_ref = {r["referenceId"]: r for r in answer["compositeResponse"]}
        self._read_cases(plans, by_ref["cases"], results)
        for n, chunk in enumerate(chunks):
            self._read_entries(chunk, by_ref[f"timeline{n}"], results)

    @staticmethod
    def _read_cases(plans: list[CaseSync], reply: Mapping[str, Any], results: dict[str, CaseSyncResult]) -> None:
        if reply["httpStatusCode"] >= 300:
            err = _sub_error(reply)
            for p in plans:
                results[p.handoff.id].error = err
            return
        for plan, row in zip(plans, reply["body"], strict=True):
            res = results[plan.handoff.id]
            if row.get("success"):
                res.case_id = str(row["id"])
                if plan.contact_id:
                    res.linked.add("contact")
            else:
                res.error = CrmRejected(f"Case upsert failed: {_messages(row)}")

    @staticmethod
    def _read_entries(chunk: list[tuple[str, int, dict[str, Any]]], reply: Mapping[str, Any],
                      results: dict[str, CaseSyncResult]) -> None:
        if reply["httpStatusCode"] >= 300:
            err = _sub_error(reply)
            for hid, _, _ in chunk:
                results[hid].error = results[hid].error or err
            return
        for (hid, event_id, _), row in zip(chunk, reply["body"], strict=True):
            if row.get("success"):
                results[hid].written.append(event_id)
            elif results[hid].error is None:  # a failed case upsert already explains a failed reference
                results[hid].error = CrmRejected(f"timeline entry {event_id} failed: {_messages(row)}")

    def _reconcile(self, plans: list[CaseSync]) -> dict[str, set[int]]:
        """Entries already in Salesforce although Baton never heard back (a lost answer): found by marker."""
        if not plans:
            return {}
        sobject, body_field = self.config.entry_object
        ext = self.config.external_id_field
        cases = self.gateway.query_all(format_soql(f"SELECT Id, {ext} FROM Case WHERE {ext} IN {{}}",  # noqa: S608
                                                   [p.handoff.id for p in plans]))
        case_to_hid = {str(r["Id"]): str(r[ext]) for r in cases}
        present: dict[str, set[int]] = {}
        if not case_to_hid:
            return present
        soql = format_soql(f"SELECT ParentId, {body_field} FROM {sobject} WHERE ParentId IN {{}}",  # noqa: S608
                           list(case_to_hid))
        for row in self.gateway.query_all(soql):
            hid = case_to_hid.get(str(row["ParentId"]))
            found = MARKER.search(str(row.get(body_field) or ""))
            if hid and found:
                present.setdefault(hid, set()).add(int(found.group(1)))
        return present

    async def closed_since(self, since: datetime) -> list[tuple[str, datetime]]:
        """(handoff id, SystemModstamp) of Baton cases closed after ``since``, oldest first."""
        ext = self.config.external_id_field
        soql = format_soql(f"SELECT Id, {ext}, SystemModstamp FROM Case WHERE IsClosed = true AND "  # noqa: S608
                           f"{ext} != null AND SystemModstamp > {{}} ORDER BY SystemModstamp ASC", since)
        rows = await asyncio.to_thread(self.gateway.query_all, soql)
        return [(str(r[ext]), _parse_time(str(r["SystemModstamp"]))) for r in rows]


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", value.replace("Z", "+00:00")))


def _fit(text: str, limit: int) -> str:
    """Keep the marker line when a long text must be cut."""
    if len(text) <= limit:
        return text
    marker = text[text.rfind("\n[baton:"):]
    return text[: limit - len(marker) - 1] + "…" + marker


def _messages(row: Mapping[str, Any]) -> str:
    return "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in row.get("errors") or [])[:300]


def _sub_error(reply: Mapping[str, Any]) -> Exception:
    body = reply.get("body")
    detail = body[0].get("message") if isinstance(body, list) and body and isinstance(body[0], dict) else body
    if reply["httpStatusCode"] >= 500:
        return CrmUnavailable(f"Salesforce subrequest failed ({reply['httpStatusCode']}): {detail}")
    return CrmRejected(f"Salesforce subrequest failed ({reply['httpStatusCode']}): {detail}")

