"""Customer ↔ agent messages on both databases."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from handoff.contract import HandoffIn
from handoff.errors import IllegalTransition, InvalidCommand
from handoff.models import Actor, Status, Surface
from tests.support.factories import intake_body


async def _handoff(rt: Any) -> str:
    return (await rt.intake.submit(HandoffIn.model_validate(intake_body()))).handoff.id


async def test_customer_answer_wakes_a_pending_handoff(runtime: Any) -> None:
    hid = await _handoff(runtime)
    await runtime.actions.claim(hid, "emma", Surface.SLACK)
    await runtime.actions.pending_customer(hid, "emma", Surface.SLACK, "asked for the site URL")
    await runtime.conversation.customer_message(hid, "It's https://techcompany.com")
    view = await runtime.queries.handoff(hid)
    assert view.handoff.status is Status.CLAIMED
    assert [e.kind.value for e in view.timeline][-2:] == ["customer_message", "resumed"]
    assert view.transcript[-1].role == "customer" and view.transcript[-1].seq == 3


async def test_concurrent_messages_get_distinct_ordered_seqs(runtime: Any) -> None:
    hid = await _handoff(runtime)
    await runtime.actions.claim(hid, "emma", Surface.SLACK)
    await asyncio.gather(*(runtime.conversation.customer_message(hid, f"c{i}") for i in range(10)),
                         *(runtime.conversation.agent_reply(hid, "emma", f"a{i}", Surface.SLACK) for i in range(10)))
    lines = await runtime.conversation.messages_after(hid, 2)
    assert [m.seq for m in lines] == list(range(3, 23))
    assert sorted(m.text for m in lines) == sorted([f"c{i}" for i in range(10)] + [f"a{i}" for i in range(10)])


async def test_closed_conversations_refuse_messages_and_empty_text_is_refused(runtime: Any) -> None:
    hid = await _handoff(runtime)
    with pytest.raises(InvalidCommand):
        await runtime.conversation.customer_message(hid, "   ")
    await runtime.actions.claim(hid, "emma", Surface.API)
    await runtime.actions.resolve(hid, "emma", Surface.API)
    await runtime.actions.close(hid, Actor.system(), Surface.SYSTEM)
    with pytest.raises(IllegalTransition):
        await runtime.conversation.customer_message(hid, "one more thing")
