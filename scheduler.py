"""The one scheduler of a Baton process, owned by the composition root (``app.py``).

Parts register short *ticks* (``rt.ticks.add(name, seconds, fn)``): the customer-update cadence, the SLA engine,
CRM polling, reports. A tick only claims due rows from the database and acts on them; the database remembers what
is due, so a missed or failed tick loses nothing and several processes share the work (row locks decide who acts).
APScheduler runs the ticks (``max_instances=1``, ``coalesce``); ``wake(name)`` runs one at once (e.g. when another
process announced new work through PostgreSQL ``NOTIFY``). A failing tick is logged without SQL or parameters and
retried at its next run; the others keep running.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("baton.scheduler")

TickFn = Callable[[], Awaitable[Any]]


@dataclass
class Tick:
    name: str
    seconds: float
    fn: TickFn
    runs: int = 0
    failures: int = 0
    last_run: float | None = None  # monotonic
    last_error: str | None = None


class Ticks:
    """The registry and its APScheduler (started by the app's lifespan or the worker command)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.ticks: dict[str, Tick] = {}
        self._scheduler: Any = None

    def add(self, name: str, seconds: float, fn: TickFn) -> None:
        """Register a tick; a name can be registered once."""
        if name in self.ticks:
            raise ValueError(f"tick {name!r} is registered twice")
        self.ticks[name] = Tick(name, seconds, fn)
        if self._scheduler is not None:
            self._schedule(self.ticks[name])

    async def run(self, name: str) -> None:
        """One run of a tick (what the scheduler calls); errors are logged, counted and swallowed."""
        tick = self.ticks[name]
        try:
            await tick.fn()
        except Exception as exc:  # one failing tick must not stop the others; its rows stay due
            tick.failures += 1
            tick.last_error = f"{type(exc).__name__}: {_short(exc)}"
            log.warning("tick %s failed (%s); the next run retries", name, type(exc).__name__)
        else:
            tick.last_error = None
        finally:
            tick.runs += 1
            tick.last_run = time.monotonic()

    def start(self) -> None:
        if not self.enabled or self._scheduler is not None:
            return
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        # "skipped: maximum number of running instances reached" is a tick running long, coalesced on purpose;
        # ``status()`` shows each tick's runs and failures instead of a log line per second.
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        for tick in self.ticks.values():
            self._schedule(tick)
        self._scheduler.start()

    def _schedule(self, tick: Tick) -> None:
        self._scheduler.add_job(self.run, "interval", args=[tick.name], seconds=tick.seconds, max_instances=1,
                                coalesce=True, next_run_time=datetime.now(UTC), id=tick.name,
                                misfire_grace_time=None)

    def wake(self, name: str) -> None:
        """Run ``name`` as soon as possible (no-op when not scheduled or already running)."""
        if self._scheduler is not None and name in self.ticks:
            job = self._scheduler.get_job(name)
            if job is not None:
                job.modify(next_run_time=datetime.now(UTC))

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    @property
    def running(self) -> bool:
        return self._scheduler is not None and bool(self._scheduler.running)

    def status(self) -> dict[str, Any]:
        """For ``/readyz``: every tick, its interval, runs, failures, seconds since its last run, its last error."""
        now = time.monotonic()
        return {"running": self.running, "ticks": {
            t.name: {"every_seconds": t.seconds, "runs": t.runs, "failures": t.failures,
                     "last_run_seconds_ago": round(now - t.last_run, 1) if t.last_run is not None else None,
                     "last_error": t.last_error} for t in self.ticks.values()}}


def _short(exc: BaseException) -> str:
    """An exception's message without SQL or bound parameters (SQLAlchemy puts both into ``str()``)."""
    text = str(getattr(exc, "orig", None) or exc).split("\n")[0]
    return text.split("[SQL:")[0].strip()[:200]
