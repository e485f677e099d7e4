"""Past the exact place in line (``POSITION_LIMIT`` ahead), the wait estimate counts how many wait from the
queue-depth aggregate of the snapshot: 5,000 ahead is a longer wait than 1,200 ahead, though both read "more
than 1,000"."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import cast

from handoff.eta import AgentLoad, HandleTimeHistory
from handoff.models import POSITION_LIMIT, AgentStatus, Handoff, Priority
from handoff.services.waits import WaitTimes, _Snapshot

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def snapshot(depth: int) -> _Snapshot:
    agents = tuple(AgentLoad(id=f"a{i}", queues=frozenset({"technical"}), status=AgentStatus.AVAILABLE, capacity=3)
                   for i in range(40))
    return _Snapshot(waiting=(), agents=agents, people=(), history=HandleTimeHistory(), arrivals={},
                     depth={"technical": {Priority.MEDIUM.rank: depth, Priority.LOW.rank: 9_999}})


def test_a_deep_queue_is_estimated_from_its_depth_not_the_capped_place() -> None:
    # The estimate reads a handoff's id, queue, priority and age only.
    h = cast(Handoff, SimpleNamespace(id="ho_me", queue="technical", priority=Priority.MEDIUM, created_at=NOW))
    capped = POSITION_LIMIT + 1
    shallow = WaitTimes._estimate(snapshot(1_200), h, capped, NOW)
    deep = WaitTimes._estimate(snapshot(5_000), h, capped, NOW)
    exact = WaitTimes._estimate(snapshot(1_200), h, 400, NOW)  # an exact place: the depth is not read
    assert deep.seconds > shallow.seconds > exact.seconds
    assert "1199 ahead" in shallow.basis and "4999 ahead" in deep.basis and "399 ahead" in exact.basis
    # Lower priorities behind it do not count: the 9,999 low-priority handoffs are not ahead of a medium one.
    assert "9999" not in deep.basis and "14999" not in deep.basis
