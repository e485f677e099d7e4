"""HubSpot as a :class:`~handoff.crm.CaseSink`: tickets and notes upserted by Baton keys, then associated.

Per batch (100 inputs per call): tickets ``batch/upsert`` by ``baton_handoff_id``; notes ``batch/upsert`` by
``baton_event_key`` (``<handoff>:<event id>``), so a replay rewrites the same note instead of adding one;
v4 default associations note→ticket, note→contact, and ticket→contact/company once; the contacts'
escalation properties in one ``batch/update``. Every write is idempotent, so a lost answer needs no
reconciliation: the retry repeats it. Notes are the timeline because HubSpot's timeline-events API takes no
new public apps (app timeline events behind an event template id are not built yet).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hubspot.crm.associations.v4 import BatchInputPublicDefaultAssociationMultiPost
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInput as ContactUpdates
from hubspot.crm.objects.notes import BatchInputSimplePublicObjectBatchInputForCreate as NoteCreates
from hubspot.crm.objects.notes import BatchInputSimplePublicObjectBatchInputUpsert as NoteUpserts
from hubspot.crm.objects.notes import BatchReadInputSimplePublicObjectId as NoteRead
from hubspot.crm.tickets import BatchInputSimplePublicObjectBatchInputUpsert as TicketUpserts
from hubspot.crm.tickets import PublicObjectSearchRequest as TicketSearch

from handoff.crm import CaseSync, CaseSyncResult, fingerprint, map_value
from integrations.hubspot.client import NOTE_KEY, TICKET_KEY, HubSpotConflict, HubSpotGateway
from templates import Renderer

STAGES: Mapping[str, str] = {"queued": "1", "claimed": "3", "pending_customer": "2", "resolved": "4", "closed": "4"}
PRIORITY: Mapping[str, str] = {"critical": "URGENT", "high": "HIGH", "medium": "MEDIUM", "low": "LOW"}
CHUNK = 100
NOTE_TO_TICKET, NOTE_TO_CONTACT = 228, 202  # HUBSPOT_DEFINED association type ids


@dataclass(frozen=True)
class HubSpotTicketConfig:
    """Pipeline, stage and priority mapping (see ``HUBSPOT_*`` settings)."""

    pipeline: str = "0"
    stage_map: Mapping[str, str] = field(default_factory=dict)
    priority_map: Mapping[str, str] = field(default_factory=dict)
    closed_stages: frozenset[str] = frozenset({"4"})


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]


class HubSpotCaseSink:
    """Writes ticket batches into HubSpot (blocking calls in a worker thread)."""

    system = "hubspot"

    def __init__(self, gateway: HubSpotGateway, config: HubSpotTicketConfig | None = None,
                 renderer: Renderer | None = None) -> None:
        self.gateway = gateway
        self.config = config or HubSpotTicketConfig()
        self.renderer = renderer or Renderer()

    async def sync(self, plans: Sequence[CaseSync]) -> Mapping[str, CaseSyncResult]:
        return await asyncio.to_thread(self._sync, list(plans))

    def ticket_properties(self, plan: CaseSync) -> dict[str, str]:
        h, cfg = plan.handoff, self.config
        return {
            "subject": self.renderer.text("crm/case_subject.txt.j2", handoff=h),
            "content": self.renderer.text("crm/case_description.txt.j2", handoff=h, customer=plan.customer),
            "hs_pipeline": cfg.pipeline,
            "hs_pipeline_stage": map_value(cfg.stage_map, h.status.value, STAGES.get(h.status.value, "1")),
            "hs_ticket_priority": map_value(cfg.priority_map, h.priority.value, PRIORITY.get(h.priority.value, "")),
        }

    def _sync(self, plans: list[CaseSync]) -> dict[str, CaseSyncResult]:
        self.gateway.ensure_schema()
        results = {p.handoff.id: CaseSyncResult(case_id=p.case_id) for p in plans}
        self._tickets(plans, results)
        links: dict[tuple[str, str], list[tuple[str, str]]] = {}
        note_ids = self._notes(plans, results, links)
        missing: dict[str, str] = {}  # note key → contact id, for notes written before the contact was known
        for p in plans:
            res = results[p.handoff.id]
            res.entry_ids.update({e.event_id: note_ids[f"{p.handoff.id}:{e.event_id}"] for e in p.entries
                                  if f"{p.handoff.id}:{e.event_id}" in note_ids})
            res.written = sorted(res.entry_ids)
            if not (p.contact_id and "contact" not in p.linked):
                continue
            for event_id in p.written:
                if event_id in p.entry_ids:
                    links.setdefault(("notes", "contacts"), []).append((p.entry_ids[event_id], p.contact_id))
                else:
                    missing[f"{p.handoff.id}:{event_id}"] = p.contact_id
        for note_id, key in self._note_ids(list(missing)).items():
            links.setdefault(("notes", "contacts"), []).append((note_id, missing[key]))
        for p in plans:
            res = results[p.handoff.id]
            if res.case_id and p.contact_id and "contact" not in p.linked:
                links.setdefault(("tickets", "contacts"), []).append((res.case_id, p.contact_id))
            if res.case_id and p.account_id and "company" not in p.linked:
                links.setdefault(("tickets", "companies"), []).append((res.case_id, p.account_id))
        for (from_type, to_type), pairs in links.items():
            self._associate(from_type, to_type, pairs)
        for p in plans:
            res = results[p.handoff.id]
            if res.case_id and p.contact_id:
                res.linked.add("contact")
            if res.case_id and p.account_id:
                res.linked.add("company")
        self._contact_stats(plans)
        return results

    def _tickets(self, plans: list[CaseSync], results: dict[str, CaseSyncResult]) -> None:
        """Upsert the tickets whose fields changed (or that Baton has no id for yet)."""
        gw = self.gateway
        inputs = []
        for p in plans:
            props = self.ticket_properties(p)
            results[p.handoff.id].fingerprint = fp = fingerprint(props)
            if p.case_id and fp == p.fingerprint:
                continue  # only a message or a note: the ticket itself is unchanged
            inputs.append({"id": p.handoff.id, "idProperty": TICKET_KEY, "properties": props})
        for chunk in _chunks(inputs):
            body = TicketUpserts(inputs=list(chunk))
            answer = gw.call(lambda c, b=body: c.crm.tickets.batch_api.upsert(
                batch_input_simple_public_object_batch_input_upsert=b, **gw.kw))
            for row in answer.results:
                results[str(row.properties[TICKET_KEY])].case_id = str(row.id)

    def _notes(self, plans: list[CaseSync], results: dict[str, CaseSyncResult],
               links: dict[tuple[str, str], list[tuple[str, str]]]) -> dict[str, str]:
        """Create the notes with their associations in one call per 100; a 409 means some exist (a replay):
        then the chunk goes the idempotent way (upsert by key, then associate). Returns note key → note id."""
        gw = self.gateway
        notes: list[tuple[str, str | None, dict[str, Any]]] = []  # key, contact id, properties
        ticket_of: dict[str, str] = {}
        for p in plans:
            ticket = results[p.handoff.id].case_id or ""
            for e in p.entries:
                key = f"{p.handoff.id}:{e.event_id}"
                ticket_of[key] = ticket
                notes.append((key, p.contact_id, {
                    "hs_note_body": self.renderer.text("crm/timeline_note.html.j2", entry=e)[:65000],
                    "hs_timestamp": _iso(e.at), NOTE_KEY: key}))
        ids: dict[str, str] = {}
        for chunk in _chunks(notes):
            inputs = [{"properties": props, "associations": [
                {"to": {"id": ticket_of[key]}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                          "associationTypeId": NOTE_TO_TICKET}]},
                *([{"to": {"id": contact}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                      "associationTypeId": NOTE_TO_CONTACT}]}] if contact else []),
            ]} for key, contact, props in chunk]
            create = NoteCreates(inputs=inputs)
            try:
                answer = gw.call(lambda c, b=create: c.crm.objects.notes.batch_api.create(
                    batch_input_simple_public_object_batch_input_for_create=b, **gw.kw))
            except HubSpotConflict:
                upsert = NoteUpserts(inputs=[{"id": key, "idProperty": NOTE_KEY, "properties": props}
                                             for key, _, props in chunk])
                answer = gw.call(lambda c, b=upsert: c.crm.objects.notes.batch_api.upsert(
                    batch_input_simple_public_object_batch_input_upsert=b, **gw.kw))
                for row in answer.results:
                    key = str(row.properties[NOTE_KEY])
                    links.setdefault(("notes", "tickets"), []).append((str(row.id), ticket_of[key]))
                    contact = next(c for k, c, _ in chunk if k == key)
                    if contact:
                        links.setdefault(("notes", "contacts"), []).append((str(row.id), contact))
            for row in answer.results:
                ids[str(row.properties[NOTE_KEY])] = str(row.id)
        return ids

    def _note_ids(self, keys: list[str]) -> dict[str, str]:
        """Note id → Baton key, for notes looked up by their key."""
        out: dict[str, str] = {}
        gw = self.gateway
        for chunk in _chunks(keys):
            body = NoteRead(inputs=[{"id": k} for k in chunk], id_property=NOTE_KEY, properties=[NOTE_KEY],
                            properties_with_history=[])
            answer = gw.call(lambda c, b=body: c.crm.objects.notes.batch_api.read(
                batch_read_input_simple_public_object_id=b, **gw.kw))
            for row in answer.results:
                out[str(row.id)] = str(row.properties[NOTE_KEY])
        return out

    def _associate(self, from_type: str, to_type: str, pairs: list[tuple[str, str]]) -> None:
        gw = self.gateway
        for chunk in _chunks(pairs):
            body = BatchInputPublicDefaultAssociationMultiPost(
                inputs=[{"from": {"id": a}, "to": {"id": b}} for a, b in chunk])
            gw.call(lambda c, b=body: c.crm.associations.v4.batch_api.create_default(
                from_type, to_type, batch_input_public_default_association_multi_post=b, **gw.kw))

    def _contact_stats(self, plans: list[CaseSync]) -> None:
        updates: dict[str, dict[str, str]] = {}
        for p in plans:
            if p.stats is None or not p.contact_id:
                continue
            updates[p.contact_id] = {  # same customer twice in a batch: same numbers, one input (ids must be unique)
                "total_escalations": str(p.stats.total_escalations),
                "last_escalation_date": _iso(p.stats.last_escalation_at),
                "avg_escalation_csat": "" if p.stats.avg_csat is None else str(p.stats.avg_csat),
            }
        gw = self.gateway
        for chunk in _chunks(sorted(updates.items())):
            body = ContactUpdates(inputs=[{"id": cid, "properties": props} for cid, props in chunk])
            gw.call(lambda c, b=body: c.crm.contacts.batch_api.update(
                batch_input_simple_public_object_batch_input=b, **gw.kw))

    async def closed_since(self, since: datetime) -> list[tuple[str, datetime]]:
        """(handoff id, last modified) of Baton tickets in a closed stage modified after ``since``."""
        return await asyncio.to_thread(self._closed_since, since)

    def _closed_since(self, since: datetime) -> list[tuple[str, datetime]]:
        out: list[tuple[str, datetime]] = []
        after: str | None = None
        stages = sorted(self.config.closed_stages)
        while True:
            request = TicketSearch(
                filter_groups=[{"filters": [
                    {"propertyName": "hs_pipeline_stage", "operator": "IN", "values": stages},
                    {"propertyName": "hs_lastmodifieddate", "operator": "GT",
                     "value": str(int(since.timestamp() * 1000))},
                    {"propertyName": TICKET_KEY, "operator": "HAS_PROPERTY"}]}],
                sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
                properties=[TICKET_KEY, "hs_lastmodifieddate"], limit=100, after=after)
            page = self.gateway.call(lambda c, r=request: c.crm.tickets.search_api.do_search(
                public_object_search_request=r, **self.gateway.kw))
            for row in page.results:
                stamp = datetime.fromisoformat(str(row.properties["hs_lastmodifieddate"]).replace("Z", "+00:00"))
                out.append((str(row.properties[TICKET_KEY]), stamp))
            if page.paging is None or page.paging.next is None:
                return out
            after = page.paging.next.after
