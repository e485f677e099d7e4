"""HubSpot adapter behaviour against FakeHubSpot: rate limits, slow lookups, inbound closes, contact properties."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from handoff.models import Status, Surface
from integrations.hubspot.integration import hubspot_integration
from integrations.salesforce.integration import salesforce_integration
from tests.conftest import make_settings
from tests.crm.conftest import EMAIL, hs_env
from tests.crm.lifecycle import RunningClock, create, dispatcher, drain
from tests.fakes.hubspot_api import FakeHubSpot
from tests.support.timeline import lifecycle


async def test_429_on_a_batch_post_pauses_the_lane_then_delivers(hs_rt: Any, hs: FakeHubSpot) -> None:
    d = dispatcher(hs_rt, clock := RunningClock())
    await create(hs_rt)
    hs.fail_next("/crm/v3/objects/tickets/batch/upsert", 429, retry_after=1, method="POST")
    await drain(d)
    assert [c.status for c in hs.iter_calls("POST", "/crm/v3/objects/tickets/batch/upsert")] == [429]
    before = len(hs.calls)
    await drain(d)
    assert len(hs.calls) == before  # the HubSpot lane waits out Retry-After; no call is made
    await asyncio.sleep(1.1)
    clock.advance(5)
    await drain(d)
    upserts = [c.status for c in hs.iter_calls("POST", "/crm/v3/objects/tickets/batch")]
    assert len(hs.tickets) == 1 and upserts[-1] == 200


async def test_daily_limit_pauses_for_long(hs_rt: Any, hs: FakeHubSpot) -> None:
    d = dispatcher(hs_rt, RunningClock())
    await create(hs_rt)
    hs.exhaust_daily_limit()
    await drain(d)
    async with hs_rt.deps.uow(read_only=True) as uow:
        pending = await uow.outbox.list(status="pending", limit=10)
    assert pending and all("daily limit" in (i.last_error or "") for i in pending)
    assert all(i.next_attempt_at and (i.next_attempt_at - i.created_at).total_seconds() > 3000 for i in pending)


async def test_slow_crm_never_slows_intake_and_enrichment_catches_up(
        make_rt: Callable[..., Any], hs: FakeHubSpot) -> None:
    rt = await make_rt({**hs_env(hs), "CRM_LOOKUP_TIMEOUT_SECONDS": "0.2"}, [hubspot_integration])
    hs.slow_next("/crm/v3/objects/contacts/search", 3.0)
    before = hs.calls_count()
    hid = await create(rt)
    assert hs.calls_count() == before  # intake never calls a CRM (the dispatcher does, later)
    d = dispatcher(rt, clock := RunningClock())
    t0 = time.perf_counter()
    await d.drain_once()
    assert time.perf_counter() - t0 < 2.5  # gave up on the 3 s lookup after its 0.2 s timeout, not waited it out
    view = await rt.queries.handoff(hid)
    assert not any(e.kind.value == "enriched" for e in view.timeline)
    await asyncio.sleep(3.0)  # the slow lookup has finished on the fake
    clock.advance(60)
    await drain(d)
    view = await rt.queries.handoff(hid)
    assert [e.data["company"] for e in view.timeline if e.kind.value == "enriched"] == ["Acme Ltd"]
    assert view.customer.account_value == 250000 and view.customer.plan == "CUSTOMER"


async def test_closed_ticket_resolves_the_handoff(make_rt: Callable[..., Any], hs: FakeHubSpot) -> None:
    rt = await make_rt({**hs_env(hs), "CRM_POLL_SECONDS": "60"}, [hubspot_integration])
    d = dispatcher(rt)
    hid = await create(rt)
    await rt.actions.claim(hid, "emma", Surface.SLACK)
    await drain(d)
    poller = rt.integrations[0].poller
    assert await poller.poll_once() == 0
    hs.advance(1)
    hs.close_ticket(next(iter(hs.tickets)))
    assert await poller.poll_once() == 1
    view = await rt.queries.handoff(hid)
    assert view.handoff.status is Status.RESOLVED and lifecycle(view.timeline)[-1].source is Surface.CRM
    await drain(d)
    assert await poller.poll_once() == 0


async def test_contact_properties_created_and_counted_across_handoffs(hs_rt: Any, hs: FakeHubSpot) -> None:
    for _ in range(2):
        await create(hs_rt)
    await drain(dispatcher(hs_rt))
    names = {p.name for p in hs.store.properties["contacts"].values()}
    assert {"last_escalation_date", "total_escalations", "avg_escalation_csat"} <= names
    assert hs.store.properties["tickets"]["baton_handoff_id"].has_unique_value
    contact = next(c for c in hs.contacts.values() if c.properties["email"] == EMAIL)
    assert contact.properties["total_escalations"] == "2" and len(hs.tickets) == 2
    assert hs.calls_count("POST", "/crm/v3/objects/tickets/batch/upsert") <= 2


async def test_unconfigured_crms_are_no_ops(db_url: str) -> None:
    settings = make_settings(db_url)
    assert salesforce_integration(settings, None) is None and hubspot_integration(settings, None) is None
    lines = {name: ok for name, ok, _ in settings.integrations()}
    assert lines["Salesforce"] is False and lines["HubSpot"] is False
