"""The stream loop without HTTP: a busy queue is throttled, the customer's own changes are not."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from bot.web.sse import Broadcaster, StreamSettings, customer_stream
from templates import Renderer


class NoEvents:
    async def events_after(self, handoff_id: str, after_id: int) -> list[Any]:
        return []


async def run_stream(b: Broadcaster, calls: list[float], poke: Any) -> None:
    loop = asyncio.get_running_loop()

    async def status(_: str) -> dict[str, Any]:
        calls.append(loop.time())
        return {"queue": "billing", "n": len(calls)}

    async def connected() -> bool:
        return False

    cfg = StreamSettings(poll_seconds=0.5, status_every_seconds=60, queue_status_gap_seconds=0.3, max_seconds=1.2)
    gen = customer_stream(NoEvents(), b, Renderer(), {}, "ho_1", "billing", 0, status, connected,  # type: ignore[arg-type]
                          cfg)
    poker = asyncio.create_task(poke())
    async for _ in gen:
        pass
    await poker


async def test_queue_wakes_are_throttled() -> None:
    b, calls = Broadcaster(), []

    async def poke() -> None:
        for _ in range(40):  # 40 queue changes in 0.8 s
            b.wake_queue("billing")
            await asyncio.sleep(0.02)

    await run_stream(b, calls, poke)
    assert 2 <= len(calls) <= 5  # the first status, then at most one per 0.3 s gap
    assert all(later - earlier >= 0.25 for earlier, later in itertools.pairwise(calls))


async def test_own_changes_are_immediate() -> None:
    b, calls = Broadcaster(), []

    async def poke() -> None:
        for _ in range(5):
            await asyncio.sleep(0.1)
            b.wake_handoff("ho_1")

    await run_stream(b, calls, poke)
    assert len(calls) == 6  # the first status plus one per change, none throttled
    assert b.count == 0  # unsubscribed when the stream ended
