"""PostgreSQL LISTEN/NOTIFY between processes: another process's commit wakes this dispatcher at once (its own
polling is set to 30 s here), and the listener comes back after its connection is killed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from handoff.contract import HandoffIn
from tests.conftest import make_settings
from tests.support.destinations import RecordingDestination
from tests.support.factories import intake_body


def _config(tmp: Path) -> Path:
    p = tmp / "baton.yaml"
    p.write_text("outbox:\n  poll_seconds: 30\n  linger_seconds: 0\n  log_destination: false\n")
    return p


async def _until(pred: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_a_commit_in_one_process_wakes_the_dispatcher_of_another(pg_url: str, tmp_path: Path) -> None:
    from app import build

    settings = make_settings(pg_url, BATON_CONFIG=str(_config(tmp_path)))
    writer = build(settings, extra_destinations=[RecordingDestination()], with_log=False, integrations=[])
    rec = RecordingDestination()
    reader = build(settings, extra_destinations=[rec], with_log=False, integrations=[])
    stop = asyncio.Event()
    reader.listener.start()
    task = asyncio.create_task(reader.dispatcher.run(stop))
    try:
        await _until(lambda: reader.listener.connected, 10, "the listener to connect")
        await asyncio.sleep(0.3)  # the dispatcher's first drain has run and now sleeps for 30 s
        t0 = time.monotonic()
        h = (await writer.intake.submit(HandoffIn.model_validate(intake_body()))).handoff
        await _until(lambda: rec.kinds_for(h.id), 5, "the other process's dispatcher to deliver")
        assert time.monotonic() - t0 < 5  # woken, not polled (the poll interval is 30 s)
        assert reader.listener.received >= 1
        # Kill the listening connection: it reconnects, and the next commit is again delivered at once.
        import asyncpg

        conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            killed = await conn.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                         "WHERE application_name = 'baton-listen' AND datname = current_database()")
            assert killed == 1
        finally:
            await conn.close()
        await _until(lambda: not reader.listener.connected, 10, "the listener to notice")
        await _until(lambda: reader.listener.connected, 20, "the listener to reconnect")
        second = (await writer.intake.submit(HandoffIn.model_validate(intake_body()))).handoff
        await _until(lambda: rec.kinds_for(second.id), 5, "delivery after the reconnect")
    finally:
        reader.dispatcher.stop_soon()
        stop.set()
        await task
        await reader.listener.stop()
        await reader.engine.dispose()
        await writer.engine.dispose()


@pytest.mark.parametrize("dialect", ["sqlite"])
async def test_sqlite_has_no_listener(sqlite_url: str, dialect: str) -> None:
    from app import build

    rt = build(make_settings(sqlite_url), with_log=False, integrations=[])
    try:
        assert not rt.listener.enabled
        rt.listener.start()  # a no-op
        assert rt.listener._task is None
    finally:
        await rt.engine.dispose()


async def test_the_outbox_itself_announces_every_insert_that_commits(pg_url: str) -> None:
    """The NOTIFY comes from a statement trigger on the outbox (migration 0008): any writer's committed insert
    is heard — no code path has to remember it — and a rolled-back one never is."""
    import asyncpg

    from handoff.store.wakeups import OUTBOX

    heard: list[str] = []
    listener = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    writer = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    insert = ("INSERT INTO outbox (destination, kind, payload, idempotency_key, status, attempts, next_attempt_at, "
              "created_at) VALUES ('recorder', 'created', '{}', $1, 'pending', 0, now(), now())")
    try:
        await listener.add_listener(OUTBOX, lambda *_: heard.append("outbox"))
        tx = writer.transaction()
        await tx.start()
        await writer.execute(insert, "rolled-back")
        await tx.rollback()
        await writer.execute(insert, "committed")  # autocommit: a writer that knows nothing of Baton's code
        await _until(lambda: heard, 10, "the trigger's notification")
        await asyncio.sleep(0.3)  # had the rolled-back insert notified, a second one would be here by now
        assert heard == ["outbox"]
    finally:
        await listener.close()
        await writer.close()
