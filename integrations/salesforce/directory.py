"""Salesforce as a :class:`~handoff.crm.CustomerDirectory`: Contact by email, its Account, its last 5 Cases.

Every value in SOQL goes through ``format_soql`` (quoted and escaped); raw input is never concatenated.
Many emails are looked up in one query (``Email IN (...)``), their cases in a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from simple_salesforce import format_soql

from handoff.crm import CaseSummary, CrmCustomer
from integrations.salesforce.client import SalesforceGateway

CONTACT_SOQL = ("SELECT Id, Name, Email, AccountId, Account.Name, Account.Type, Account.Industry, "
                "Account.AnnualRevenue, Owner.Email FROM Contact WHERE Email IN {} ORDER BY CreatedDate DESC")
CASES_SOQL = ("SELECT Id, CaseNumber, Subject, Status, IsClosed, CreatedDate, ContactId FROM Case "
              "WHERE ContactId IN {} ORDER BY CreatedDate DESC LIMIT 2000")
RECENT = 5


def contact_query(emails: Sequence[str]) -> str:
    return format_soql(CONTACT_SOQL, list(emails))


def to_customer(row: Mapping[str, Any], cases: Sequence[Mapping[str, Any]]) -> CrmCustomer:
    """A Contact row (with its Account) and its cases → the domain's view."""
    account = row.get("Account") or {}
    owner = row.get("Owner") or {}
    revenue = account.get("AnnualRevenue")
    return CrmCustomer(
        system="salesforce", contact_id=str(row["Id"]), email=str(row.get("Email") or "").lower(),
        name=row.get("Name"), company=account.get("Name"), account_id=row.get("AccountId"),
        plan=account.get("Type"), industry=account.get("Industry"),
        account_value=float(revenue) if revenue is not None else None, owner_email=owner.get("Email"),
        recent_cases=tuple(CaseSummary(id=str(c["Id"]), number=c.get("CaseNumber"), subject=c.get("Subject") or "",
                                       status=c.get("Status") or "", closed=bool(c.get("IsClosed")),
                                       created_at=c.get("CreatedDate")) for c in cases[:RECENT]),
    )


class SalesforceDirectory:
    """Customer lookups in Salesforce (two queries for any number of emails)."""

    system = "salesforce"

    def __init__(self, gateway: SalesforceGateway, timeout: float | None = None) -> None:
        self.gateway = gateway
        self.timeout = timeout  # the enrichment timeout: the HTTP call gives up then too, freeing the thread

    async def lookup_many(self, emails: Sequence[str]) -> Mapping[str, CrmCustomer]:
        return await asyncio.to_thread(self._lookup, list(emails))

    def _lookup(self, emails: list[str]) -> dict[str, CrmCustomer]:
        if not emails:
            return {}
        self.gateway.check_budget()
        rows = self.gateway.query_all(contact_query(emails), self.timeout)
        first: dict[str, Mapping[str, Any]] = {}
        for row in rows:  # the newest contact wins when an email is on several
            first.setdefault(str(row.get("Email") or "").lower(), row)
        by_contact: dict[str, list[Mapping[str, Any]]] = {}
        if first:
            ids = [str(r["Id"]) for r in first.values()]
            for case in self.gateway.query_all(format_soql(CASES_SOQL, ids), self.timeout):
                by_contact.setdefault(str(case.get("ContactId")), []).append(case)
        return {email: to_customer(row, by_contact.get(str(row["Id"]), [])) for email, row in first.items()}
