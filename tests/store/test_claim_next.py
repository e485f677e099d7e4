""""Claim next" is one use case for every surface: the most urgent waiting handoff, skipping ones just taken."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from handoff.contract import HandoffIn
from handoff.errors import InvalidCommand
from handoff.models import Status, Surface
from tests.support.factories import intake_body
from tests.support.timeline import lifecycle


async def _intake(rt: Any, **overrides: Any) -> str:
    return (await rt.intake.submit(HandoffIn.model_validate(intake_body(**overrides)))).handoff.id


async def test_claim_next_takes_the_most_urgent_and_concurrent_claimers_get_distinct_ones(runtime: Any) -> None:
    calm = await _intake(runtime, transcript=[{"role": "customer", "text": "How do I change the widget colour?"}],
                         ai={"confidence": 0.9, "intent": "technical", "kb_hits": 2, "summary": "colour"})
    urgent = await _intake(runtime, customer={"plan": "enterprise", "account_value": 90000},
                           transcript=[{"role": "customer", "text": "Production API outage, all customers down!"}])
    first = await runtime.actions.claim_next("technical", "emma", Surface.TEAMS)
    assert first.id == urgent and first.claimed_by == "emma"
    view = await runtime.queries.handoff(urgent)
    assert lifecycle(view.timeline)[-1].source == Surface.TEAMS
    others = [await _intake(runtime) for _ in range(3)]
    got = await asyncio.gather(*(runtime.actions.claim_next("technical", f"agent{i}", Surface.SLACK)
                                 for i in range(4)))
    assert sorted(h.id for h in got) == sorted([calm, *others])
    assert all(h.status is Status.CLAIMED for h in got)
    with pytest.raises(InvalidCommand, match="nothing is waiting in Technical"):
        await runtime.actions.claim_next("technical", "emma", Surface.SLACK)
    with pytest.raises(InvalidCommand, match="unknown queue"):
        await runtime.actions.claim_next("nope", "emma", Surface.SLACK)
