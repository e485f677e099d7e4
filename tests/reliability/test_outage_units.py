"""Regression tests for what the outage runs found: the dispatcher's pauses and the enrichment circuit breaker.

1. The dispatcher kept destination pauses on ``time.monotonic`` but schedules retries on ``deps.now``: under a
   clock that moves ahead, a Retry-After pause outlived the retry it delayed. Pauses now use ``deps.now``.
2. Enrichment answered a lookup timeout with a lane retry that spends attempts (minutes of a hanging CRM
   dead-lettered every new handoff's enrichment), and a 5xx with a retry ~1 s later, forever. Both now pause
   the destination, doubling like the case sync's circuit breaker, spending no attempts.
3. hubspot-api-client's default urllib3 ``Retry`` slept ``Retry-After`` in the worker thread on GETs (a minute
   per call with ``Retry-After: 30``); now the 429 comes back typed and the outbox pauses the lane.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from handoff.contract import HandoffIn
from handoff.crm import CrmCustomer, CrmRateLimited, CrmUnavailable
from handoff.outbox import OutboxItem, RetryLater
from handoff.services.dispatcher import Dispatcher
from handoff.services.enrichment import EnrichmentDestination
from integrations.hubspot.client import HubSpotGateway
from tests.fakes.hubspot_api import FakeHubSpot
from tests.support.clock import FakeClock
from tests.support.factories import intake_body


async def _items(rt: Any, n: int) -> list[OutboxItem]:
    for _ in range(n):
        await rt.intake.submit(HandoffIn.model_validate(intake_body()))
    async with rt.deps.uow(read_only=True) as uow:
        return list(await uow.outbox.list(status="pending", limit=100))


async def test_a_retry_after_pause_ends_when_the_dispatcher_clock_says_so(runtime: Any) -> None:
    rec = runtime.destinations[0]
    rec.failures.append(RetryLater("workspace rate limit", retry_after=120, scope="destination"))
    await _items(runtime, 1)
    clock = FakeClock(datetime.now(UTC))
    d = Dispatcher(replace(runtime.deps, clock=clock), runtime.destinations)
    assert await d.drain_once() == 1 and not rec.delivered  # 429: paused for 120 s
    clock.advance(119)
    assert await d.drain_once() == 0
    clock.advance(2)
    assert await d.drain_once() == 1 and len(rec.delivered) == 1
    async with runtime.deps.uow(read_only=True) as uow:
        (item,) = await uow.outbox.list(status="done", limit=10)
    assert item.attempts == 1  # the paused try spent nothing


class _Directory:
    system = "testcrm"

    def __init__(self) -> None:
        self.mode = "hang"
        self.calls = 0

    async def lookup_many(self, emails: Sequence[str]) -> dict[str, CrmCustomer]:
        self.calls += 1
        if self.mode == "hang":
            await asyncio.sleep(5)
        if self.mode == "down":
            raise CrmUnavailable("testcrm answered 503")
        return {}


async def test_enrichment_pauses_the_destination_on_timeouts_and_outages(runtime: Any) -> None:
    directory = _Directory()
    enrich = EnrichmentDestination(runtime.deps, directory, timeout_seconds=0.05, outage_pause_seconds=30)
    items = await _items(runtime, 2)
    pauses = []
    for mode in ("hang", "hang", "down", "down"):
        directory.mode = mode
        outcomes = await enrich.deliver_batch(items)
        assert all(isinstance(o, RetryLater) and o.scope == "destination" for o in outcomes), outcomes
        pauses.append(outcomes[0].retry_after)  # type: ignore[union-attr]
    assert pauses == [30, 60, 120, 240]
    directory.mode = "ok"
    assert await enrich.deliver_batch(items) == [None, None]
    directory.mode = "down"
    assert (await enrich.deliver_batch(items))[0].retry_after == 30  # type: ignore[union-attr]  # breaker reset


def test_hubspot_429_on_a_get_comes_back_typed_instead_of_sleeping_in_a_thread() -> None:
    """urllib3's default Retry slept Retry-After (up to three times) inside the worker thread on GETs."""
    with FakeHubSpot() as hs:
        gateway = HubSpotGateway(hs.access_token, hs.base_url, timeout=5)
        hs.fail_next("/crm/v3/properties/contacts", 429, retry_after=2, method="GET")
        with pytest.raises(CrmRateLimited) as raised:
            gateway.ensure_schema()
        assert raised.value.retry_after == 2
        assert hs.calls_count("GET", "/crm/v3/properties/contacts") == 1  # asked once, did not retry by itself
        gateway.ensure_schema()  # the next try (after the pause) goes through
        assert hs.calls_count("GET", "/crm/v3/properties/contacts") == 2


async def test_a_rate_limited_lane_never_spends_attempts(runtime: Any) -> None:
    """Per-channel Slack 429s were lane retries that counted: a long storm dead-lettered cards (8 attempts)."""
    rec = runtime.destinations[0]
    storm = runtime.config.outbox.max_attempts * 2
    rec.failures.extend(RetryLater("chat.postMessage: rate limited", retry_after=1, spend_attempt=False)
                        for _ in range(storm))
    await _items(runtime, 1)
    clock = FakeClock(datetime.now(UTC))
    d = Dispatcher(replace(runtime.deps, clock=clock), runtime.destinations)
    for _ in range(storm + 1):
        await d.drain_once()
        clock.advance(3)
    assert len(rec.delivered) == 1 and rec.received[next(iter(rec.delivered))] == storm + 1
    async with runtime.deps.uow(read_only=True) as uow:
        assert await uow.outbox.counts() == {"done": 1}
        (item,) = await uow.outbox.list(status="done", limit=10)
    assert item.attempts == 1
