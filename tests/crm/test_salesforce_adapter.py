"""Salesforce adapter behaviour against FakeSalesforce: escaping, limits, sessions, inbound, feed, dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from handoff.models import Status, Surface
from integrations.salesforce.client import SalesforceCredentials, SalesforceGateway
from integrations.salesforce.directory import SalesforceDirectory
from integrations.salesforce.integration import salesforce_integration
from tests.crm.conftest import EMAIL, sf_env
from tests.crm.lifecycle import RunningClock, create, dispatcher, drain, steps
from tests.fakes.salesforce_api import FakeSalesforce
from tests.support.timeline import lifecycle


def gateway(sf: FakeSalesforce) -> SalesforceGateway:
    return SalesforceGateway(SalesforceCredentials(instance_url=sf.instance_url, access_token=sf.session_id))


async def test_lookup_escapes_quotes_and_never_matches_injection(sf: FakeSalesforce) -> None:
    acct = sf.add_account("Quote & Co", AnnualRevenue=10)
    sf.add_contact("o'brien@x.com", last_name="O'Brien", account_id=acct)
    found = await SalesforceDirectory(gateway(sf)).lookup_many(["o'brien@x.com", "a' OR Email != '"])
    assert set(found) == {"o'brien@x.com"} and found["o'brien@x.com"].company == "Quote & Co"
    soql = [c.query["q"][0] for c in sf.calls if "q" in c.query]
    assert any("'o\\'brien@x.com'" in q and "'a\\' OR Email != \\''" in q for q in soql)
    assert await SalesforceDirectory(gateway(sf)).lookup_many(["a' OR Email != '"]) == {}


async def test_lookup_reads_account_owner_and_last_five_cases(sf: FakeSalesforce) -> None:
    contact = next(iter(sf.contacts))
    for i in range(7):
        sf.add_case(f"old problem {i}", ContactId=contact, Status="Closed" if i < 6 else "Working")
    hit = (await SalesforceDirectory(gateway(sf)).lookup_many([EMAIL]))[EMAIL]
    assert (hit.company, hit.plan, hit.industry, hit.account_value) == (
        "Acme Ltd", "Customer - Enterprise", "Software", 250000.0)
    assert hit.owner_email == "am@baton.example" and len(hit.recent_cases) == 5


async def test_enrichment_names_the_account_manager(make_rt: Callable[..., Any], sf: FakeSalesforce) -> None:
    rt = await make_rt({**sf_env(sf), "CRM_OWNER_AGENTS": '{"am@baton.example": "emma"}'}, [salesforce_integration])
    await rt.actions.update_agent("emma", {"display_name": "Emma"})
    hid = await create(rt)
    await drain(dispatcher(rt))
    view = await rt.queries.handoff(hid)
    enriched = [e for e in view.timeline if e.kind.value == "enriched"]
    assert len(enriched) == 1 and enriched[0].data["account_manager_id"] == "emma"
    assert enriched[0].source.value == "crm" and "account manager emma" in (enriched[0].reason or "")


async def test_daily_limit_pauses_the_salesforce_lane(make_rt: Callable[..., Any], sf: FakeSalesforce) -> None:
    rt = await make_rt(sf_env(sf), [salesforce_integration])
    d = dispatcher(rt, RunningClock())
    await create(rt)
    sf.exhaust_daily_limit()
    await drain(d)
    assert [c.status for c in sf.calls][-1] == 403
    before = len(sf.calls)
    assert await d.drain_once() == 0 and len(sf.calls) == before  # paused: no call at all
    async with rt.deps.uow(read_only=True) as uow:
        items = await uow.outbox.list(status="pending", limit=10)
    assert items and all("daily API limit" in (i.last_error or "") for i in items)


async def test_limit_info_header_stops_calls_before_the_allowance_runs_out(
        make_rt: Callable[..., Any], sf: FakeSalesforce) -> None:
    rt = await make_rt({**sf_env(sf), "SALESFORCE_LIMIT_THRESHOLD": "0.5"}, [salesforce_integration])
    sf.api_limit = 8
    d = dispatcher(rt, RunningClock())
    for _ in range(3):
        await create(rt)
        await drain(d)
    assert sf.api_usage < sf.api_limit  # Baton stopped itself; Salesforce never had to refuse
    assert all(c.status != 403 for c in sf.calls)


async def test_expired_session_logs_in_again(make_rt: Callable[..., Any], sf: FakeSalesforce) -> None:
    env = {"SALESFORCE_USERNAME": "integration@baton.example", "SALESFORCE_PASSWORD": "password123",
           "SALESFORCE_SECURITY_TOKEN": "SECURITYTOKEN"}
    rt = await make_rt(env, [salesforce_integration])
    d = dispatcher(rt)
    hid = await create(rt)
    await drain(d)
    sf.expire_session()
    await rt.actions.claim(hid, "emma", Surface.SLACK)
    await drain(d)
    assert len(sf.logins) >= 2 and sf.case_by_handoff(hid)["Status"] == "Working"  # type: ignore[index]


async def test_expired_token_without_credentials_waits(make_rt: Callable[..., Any], sf: FakeSalesforce) -> None:
    rt = await make_rt(sf_env(sf), [salesforce_integration])
    await create(rt)
    sf.expire_session()
    await drain(dispatcher(rt, RunningClock()))
    detail = (await rt.readiness())[1]["salesforce"]
    assert detail.startswith("degraded: access token expired") and sf.cases == {}
    async with rt.deps.uow(read_only=True) as uow:
        assert (await uow.outbox.counts()).get("dead", 0) == 0  # waiting for a new token, not given up


async def test_closed_case_resolves_the_handoff(make_rt: Callable[..., Any], sf: FakeSalesforce) -> None:
    rt = await make_rt({**sf_env(sf), "CRM_POLL_SECONDS": "60"}, [salesforce_integration])
    d = dispatcher(rt)
    hid = await create(rt)
    await steps(rt, hid)[0]()  # emma claims
    await drain(d)
    poller = rt.integrations[0].poller
    assert await poller.poll_once() == 0
    sf.update_record("Case", sf.case_by_handoff(hid)["Id"], Status="Closed")  # type: ignore[index]
    assert await poller.poll_once() == 1
    view = await rt.queries.handoff(hid)
    assert view.handoff.status is Status.RESOLVED and lifecycle(view.timeline)[-1].source.value == "crm"
    assert await poller.poll_once() == 0  # the echo of Baton's own close changes nothing


async def test_feed_items_instead_of_comments(make_rt: Callable[..., Any], sf: FakeSalesforce) -> None:
    rt = await make_rt({**sf_env(sf), "SALESFORCE_TIMELINE": "feed"}, [salesforce_integration])
    hid = await create(rt)
    await drain(dispatcher(rt))
    case = sf.case_by_handoff(hid)
    assert case and sf.case_comments == {}
    assert [f["ParentId"] for f in sf.feed_items.values()] == [case["Id"]]


async def test_rejected_case_is_dead_lettered_and_replayable(make_rt: Callable[..., Any], sf: FakeSalesforce) -> None:
    sf.set_picklist("Case", "Origin", ("Phone", "Email", "Web"))  # an org without "Chat"
    rt = await make_rt(sf_env(sf), [salesforce_integration])
    d = dispatcher(rt)
    hid = await create(rt)
    await drain(d)
    async with rt.deps.uow(read_only=True) as uow:
        dead = await uow.outbox.list(status="dead", limit=10)
    assert {i.destination for i in dead} == {"salesforce"} and "Origin" in (dead[0].last_error or "")
    assert {i.kind for i in dead} == {"created", "enriched"}
    sf.set_picklist("Case", "Origin", ("Phone", "Email", "Web", "Chat"))  # an admin fixes the org
    async with rt.deps.uow() as uow:
        for item in dead:
            assert await uow.outbox.retry(item.id, rt.deps.now())  # = python app.py outbox retry ID
        await uow.commit()
    await asyncio.sleep(0)
    await drain(d)
    assert sf.case_by_handoff(hid) is not None and len(sf.case_comments) == 1


def test_external_id_field_must_be_a_field_name() -> None:
    import pytest

    from integrations.salesforce.sink import SalesforceCaseConfig

    assert SalesforceCaseConfig(external_id_field="Other_Id__c").external_id_field == "Other_Id__c"
    with pytest.raises(ValueError, match="not a field name"):
        SalesforceCaseConfig(external_id_field="Id FROM Case WHERE Name != ''")
