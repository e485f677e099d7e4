"""Customer ↔ agent messages on both databases."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from handoff.contract import HandoffIn
from handoff.errors import IllegalTransition, InvalidCommand
from handoff.models import Actor, Status, Surface
from tests.support.factories import intake_body
from tests.support.timeline import lifecycle


async def _handoff(rt: Any) -> str:
    return (await rt.intake.submit(HandoffIn.model_validate(intake_body()))).handoff.id


async def test_customer_answer_wakes_a_pending_handoff(runtime: Any) -> None:
    hid = await _handoff(runtime)
    await runtime.actions.claim(hid, "emma", Surface.SLACK)
    await runtime.actions.pending_customer(hid, "emma", Surface.SLACK, "asked for the site URL")
    await runtime.conversation.customer_message(hid, "It's https://techcompany.com")
    view = await runtime.queries.handoff(hid)
    assert view.handoff.status is Status.CLAIMED
    assert [e.kind.value for e in lifecycle(view.timeline)][-2:] == ["customer_message", "resumed"]
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


async def test_control_characters_from_any_surface_never_reach_the_store(runtime: Any) -> None:
    """Found by the lifecycle state machine on PostgreSQL: a NUL in a note or message from a chat surface (not
    the HTTP edge, which cleans bodies itself) made PostgreSQL refuse the write. The domain cleans every text."""
    hid = await _handoff(runtime)
    await runtime.actions.add_note(hid, Actor.agent("emma"), Surface.TEAMS, "ç\x16\x00 note\x00")
    await runtime.conversation.customer_message(hid, "hi\x00 there \U000e84f6")
    await runtime.actions.claim(hid, "emma", Surface.SLACK)
    await runtime.conversation.agent_reply(hid, "emma", "on\x00 it", Surface.SLACK)
    await runtime.actions.release(hid, "emma", Surface.SLACK, "shift\x00 over")
    view = await runtime.queries.handoff(hid)
    texts = [str(e.data.get("text") or "") + str(e.reason or "") for e in view.timeline]
    texts += [m.text for m in view.transcript]
    assert not any("\x00" in t or "\x16" in t for t in texts), texts
    assert "ç note" in texts and "on it" in texts and "shift over" in texts
