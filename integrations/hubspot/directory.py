"""HubSpot as a :class:`~handoff.crm.CustomerDirectory`: contacts by email, their company and last tickets.

Up to 100 emails per search call (``email IN [...]``); companies and tickets come through v4 batch
association reads and batch object reads, so a batch of new handoffs costs five calls, not five per handoff.
The plan is the company's ``type`` and the account value its ``annualrevenue`` (documented mapping).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.companies import BatchReadInputSimplePublicObjectId as CompanyRead
from hubspot.crm.contacts import PublicObjectSearchRequest
from hubspot.crm.tickets import BatchReadInputSimplePublicObjectId as TicketRead

from handoff.crm import CaseSummary, CrmCustomer
from integrations.hubspot.client import HubSpotGateway

CHUNK = 100
RECENT = 5


class HubSpotDirectory:
    """Customer lookups in HubSpot."""

    system = "hubspot"

    def __init__(self, gateway: HubSpotGateway, closed_stages: frozenset[str] = frozenset({"4"}),
                 timeout: float | None = None) -> None:
        self.gateway = gateway
        self.closed_stages = closed_stages
        # Lookups run under the enrichment timeout: the HTTP call gives up then too, freeing the worker thread.
        self.kw = {"_request_timeout": timeout} if timeout else gateway.kw

    async def lookup_many(self, emails: Sequence[str]) -> Mapping[str, CrmCustomer]:
        return await asyncio.to_thread(self._lookup, [e.lower() for e in emails])

    def _lookup(self, emails: list[str]) -> dict[str, CrmCustomer]:
        contacts: dict[str, dict[str, Any]] = {}  # contact id → properties
        for i in range(0, len(emails), CHUNK):
            request = PublicObjectSearchRequest(
                filter_groups=[{"filters": [{"propertyName": "email", "operator": "IN",
                                             "values": emails[i:i + CHUNK]}]}],
                properties=["email", "firstname", "lastname", "company"], limit=CHUNK)
            page = self.gateway.call(lambda c, r=request: c.crm.contacts.search_api.do_search(
                public_object_search_request=r, **self.kw))
            for row in page.results:
                contacts[str(row.id)] = dict(row.properties or {})
        if not contacts:
            return {}
        company_of = {cid: ids[0] for cid, ids in self._associated("contacts", "companies", list(contacts)).items()
                      if ids}
        companies = self._read("companies", sorted(set(company_of.values())),
                               ["name", "annualrevenue", "type", "industry"])
        tickets_of = self._associated("contacts", "tickets", list(contacts))
        tickets = self._read("tickets", sorted({t for ids in tickets_of.values() for t in ids}),
                             ["subject", "hs_pipeline_stage", "createdate"])
        out: dict[str, CrmCustomer] = {}
        for cid, props in contacts.items():
            company = companies.get(company_of.get(cid, ""), {})
            revenue = company.get("annualrevenue")
            mine = sorted((tickets[t] | {"id": t} for t in tickets_of.get(cid, []) if t in tickets),
                          key=lambda t: str(t.get("createdate") or ""), reverse=True)[:RECENT]
            name = " ".join(x for x in (props.get("firstname"), props.get("lastname")) if x) or None
            email = str(props.get("email") or "").lower()
            out[email] = CrmCustomer(
                system="hubspot", contact_id=cid, email=email, name=name,
                company=company.get("name") or props.get("company"), account_id=company_of.get(cid),
                plan=company.get("type"), industry=company.get("industry"),
                account_value=float(revenue) if revenue not in (None, "") else None,
                recent_cases=tuple(CaseSummary(
                    id=str(t["id"]), subject=str(t.get("subject") or ""), status=str(t.get("hs_pipeline_stage")),
                    closed=str(t.get("hs_pipeline_stage")) in self.closed_stages,
                    created_at=t.get("createdate")) for t in mine))
        return out

    def _associated(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for i in range(0, len(ids), CHUNK):
            body = BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": x} for x in ids[i:i + CHUNK]])
            page = self.gateway.call(lambda c, b=body: c.crm.associations.v4.batch_api.get_page(
                from_type, to_type, batch_input_public_fetch_associations_batch_request=b, **self.kw))
            for row in page.results or []:
                out[str(row._from.id)] = list(dict.fromkeys(str(t.to_object_id) for t in row.to or []))
        return out

    def _read(self, object_type: str, ids: list[str], properties: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), CHUNK):
            kind = CompanyRead if object_type == "companies" else TicketRead
            body = kind(inputs=[{"id": x} for x in ids[i:i + CHUNK]], properties=properties,
                        properties_with_history=[])
            page = self.gateway.call(lambda c, b=body: _batch_api(c, object_type).read(
                batch_read_input_simple_public_object_id=b, **self.kw))
            for row in page.results:
                out[str(row.id)] = dict(row.properties or {})
        return out


def _batch_api(client: Any, object_type: str) -> Any:
    return client.crm.companies.batch_api if object_type == "companies" else client.crm.tickets.batch_api
