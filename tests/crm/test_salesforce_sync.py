"""Salesforce end to end: the real simple-salesforce client against FakeSalesforce, the real dispatcher, both DBs."""

from __future__ import annotations

import re
from typing import Any

from tests.crm.lifecycle import create, dispatcher, drain, live, timeline_kinds
from tests.fakes.salesforce_api import FakeSalesforce


def markers(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"\[baton:(\d+)\]", text)]


async def test_one_lifecycle_makes_one_case_with_every_entry_in_order(sf_rt: Any, sf: FakeSalesforce) -> None:
    rt = sf_rt
    d = dispatcher(rt)
    hid = await create(rt)
    await drain(d)
    await live(rt, hid, drain_between=d)
    await drain(d)
    case = sf.case_by_handoff(hid)
    assert case is not None and len([c for c in sf.cases.values() if c.get("Baton_Handoff_Id__c") == hid]) == 1
    assert case["Status"] == "Closed" and case["Origin"] == "Chat" and case["ContactId"]
    assert case["AccountId"] and case["Priority"] in ("High", "Medium", "Low")
    comments = sf.comments_for(case["Id"])
    expected = await timeline_kinds(rt, hid)
    assert [markers(c["CommentBody"])[0] for c in comments] == [i for i, _ in expected]
    assert "it's <broken> & \"odd\"" in comments[4]["CommentBody"]
    view = await rt.queries.handoff(hid)
    assert view.customer.company == "Acme Ltd" and view.customer.account_value == 250000
    assert view.customer.plan == "Customer - Enterprise"
    assert any(e.kind.value == "enriched" for e in view.timeline)
