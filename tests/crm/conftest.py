"""Fixtures for the CRM tests: a seeded FakeSalesforce, a seeded FakeHubSpot, runtimes wired to them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from integrations.hubspot.integration import hubspot_integration
from integrations.salesforce.integration import salesforce_integration
from tests.conftest import make_settings
from tests.fakes.hubspot_api import FakeHubSpot
from tests.fakes.salesforce_api import FakeSalesforce

EMAIL = "pat.obrien@x.com"


@pytest.fixture
def sf() -> Iterator[FakeSalesforce]:
    with FakeSalesforce() as fake:
        fake.set_picklist("Case", "Origin", ("Phone", "Email", "Web", "Chat"))
        owner = fake.add_user("am@baton.example", "pw-am-0001")
        acct = fake.add_account("Acme Ltd", Type="Customer - Enterprise", Industry="Software", AnnualRevenue=250000)
        contact = fake.add_contact(EMAIL, last_name="O'Brien", first_name="Pat", account_id=acct)
        fake.update_record("Contact", contact, OwnerId=owner)
        yield fake
        assert fake.contract_violations == []


@pytest.fixture
def hs() -> Iterator[FakeHubSpot]:
    with FakeHubSpot() as fake:
        fake.add_company("Acme Ltd", "acme.example", properties={"annualrevenue": "250000", "type": "CUSTOMER"})
        fake.add_contact(EMAIL, "Pat", "O'Brien", company="Acme Ltd")
        yield fake
        assert fake.contract_violations == [] and fake.server_errors == []


def sf_env(sf: FakeSalesforce) -> dict[str, str]:
    return {"SALESFORCE_INSTANCE_URL": sf.instance_url, "SALESFORCE_ACCESS_TOKEN": sf.session_id}


def hs_env(hs: FakeHubSpot) -> dict[str, str]:
    return {"HUBSPOT_ACCESS_TOKEN": hs.access_token, "HUBSPOT_API_URL": hs.base_url}


@pytest.fixture
async def make_rt(db_url: str) -> AsyncIterator[Callable[..., Any]]:
    """``await make_rt(env, factories)`` → a runtime on this test's database (disposed at the end)."""
    from app import build, sync_agents

    built: list[Any] = []

    async def make(env: dict[str, str], factories: list[Any]) -> Any:
        rt = build(make_settings(db_url, CRM_OUTAGE_PAUSE_SECONDS="0", **env), integrations=factories,
                   with_log=False)
        await sync_agents(rt)
        built.append(rt)
        return rt

    yield make
    for rt in built:
        await rt.engine.dispose()


@pytest.fixture
async def sf_rt(make_rt: Callable[..., Any], sf: FakeSalesforce) -> AsyncIterator[Any]:
    yield await make_rt(sf_env(sf), [salesforce_integration])


@pytest.fixture
async def hs_rt(make_rt: Callable[..., Any], hs: FakeHubSpot) -> AsyncIterator[Any]:
    yield await make_rt(hs_env(hs), [hubspot_integration])
