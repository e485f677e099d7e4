"""The process's one scheduler: registered ticks run, a failing tick is counted and retried and stops no other,
``wake`` runs one at once, and failures are reported without SQL or parameters."""

from __future__ import annotations

import asyncio

import pytest

from scheduler import Ticks


async def test_ticks_run_a_failing_one_does_not_stop_the_others_and_wake_runs_at_once() -> None:
    ticks = Ticks()
    runs: dict[str, int] = {"ok": 0, "bad": 0, "slow": 0}

    async def ok() -> None:
        runs["ok"] += 1

    async def bad() -> None:
        runs["bad"] += 1
        raise RuntimeError('(psycopg) boom\n[SQL: SELECT secret FROM t WHERE email = %s]\n[parameters: ("a@b.c",)]')

    async def slow() -> None:
        runs["slow"] += 1

    ticks.add("ok", 0.05, ok)
    ticks.add("bad", 0.05, bad)
    ticks.add("slow", 3600, slow)
    with pytest.raises(ValueError, match="registered twice"):
        ticks.add("ok", 1, ok)
    ticks.start()
    try:
        await asyncio.sleep(0.4)
        assert runs["ok"] >= 3 and runs["bad"] >= 3  # the failing tick keeps its schedule, and so do the others
        assert runs["slow"] == 1  # the first run is at start; the next in an hour...
        ticks.wake("slow")  # ...unless woken
        await asyncio.sleep(0.2)
        assert runs["slow"] == 2
        status = ticks.status()
        assert status["running"] and status["ticks"]["bad"]["failures"] >= 3
        error = status["ticks"]["bad"]["last_error"]
        assert error.startswith("RuntimeError") and "SQL" not in error and "a@b.c" not in error
        assert status["ticks"]["ok"]["last_error"] is None
    finally:
        ticks.shutdown()
    assert not ticks.running
