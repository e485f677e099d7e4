"""Analytics use cases: the API's report, the dashboard's data, today's KPIs for chat, the daily and weekly
reports, and the escalation rate's denominators (widget conversation counts, ``/v1/evaluate`` calls).

Every figure comes from :class:`handoff.store.analytics.SqlAnalytics` (one statement per cohort) and means what
:mod:`handoff.analytics` says. Each use case runs a fixed number of statements, whatever the data size.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handoff.analytics import (
    CONFIDENCE_BANDS,
    DIMENSIONS,
    LOWER_IS_BETTER,
    NO_KEY,
    WEEKDAYS,
    Period,
    Sums,
    Tuning,
    agent_score,
    change,
    local_day,
    metrics,
    parse_period,
)
from handoff.ports import QueueDepth
from handoff.services.common import Deps

EVALUATION_FLUSH_SECONDS = 10.0
DASHBOARD_GROUPS = ("hour", "weekday", "reason", "day", "agent", "confidence")
#: The AI hand-off quality columns, per trigger reason and per confidence band.
AI_QUALITY_KEYS = ("handoffs", "resolved", "resolution_rate", "avoidable", "avoidable_rate", "reescalated",
                   "reescalation_rate", "confidence_mean", "resolution_p50_s", "csat_mean")


def _waiting(depths: Sequence[QueueDepth], now: datetime) -> list[tuple[str, str, int, float]]:
    """(queue, priority, waiting, oldest wait in seconds) from the live queue depth."""
    return [(d.queue, d.priority, d.count,
             max(0.0, (now - d.oldest_created_at).total_seconds()) if d.oldest_created_at else 0.0) for d in depths]


def _totals(live: Sequence[tuple[str, str, int, float]]) -> tuple[int, float]:
    """How many wait in all, and the longest wait (seconds)."""
    return sum(n for _, _, n, _ in live), round(max((w for *_, w in live), default=0.0), 1)


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class Analytics:
    def __init__(self, deps: Deps, default_zone: str = "UTC") -> None:
        self.deps = deps
        cfg = deps.config.analytics
        self.cfg = cfg
        self.timezone = cfg.timezone or default_zone
        self.tune = Tuning(timezone=self.timezone, quick_resolve_seconds=cfg.quick_resolve_minutes * 60,
                           reescalation_days=cfg.reescalation_days)
        self._evaluations: dict[tuple[str, datetime], int] = defaultdict(int)
        self._flushed = time.monotonic()

    # ---- periods ------------------------------------------------------------------------------------------

    def period(self, start: str | None = None, end: str | None = None, default_days: int = 7) -> Period:
        """See :func:`handoff.analytics.parse_period` (ValueError on bad input)."""
        return parse_period(start, end, self.deps.now(), self.timezone, default_days)

    def day(self, offset: int = 0) -> Period:
        """A whole local day: 0 today, -1 yesterday."""
        today = self.deps.now().astimezone(ZoneInfo(self.timezone)).date()
        start, end = local_day(today + timedelta(days=offset), self.timezone)
        return Period(start, end, self.timezone)

    # ---- the report ---------------------------------------------------------------------------------------

    async def report(self, period: Period, group_by: Sequence[str] = ()) -> dict[str, Any]:
        """The metric set of ``period`` and of the one before it, their change, and each grouping's rows."""
        unknown = [g for g in group_by if g not in DIMENSIONS]
        if unknown:
            raise ValueError(f"group_by: unknown {unknown[0]!r}; one of {', '.join(DIMENSIONS)}")
        prev = period.previous

        async def current() -> tuple[Any, Any, dict[str, str]]:
            async with self.deps.uow(read_only=True) as uow:
                a = uow.analytics
                names = {ag.id: ag.display_name for ag in await uow.agents.list()} if "agent" in group_by else {}
                return (await a.cohort(period.start, period.end, group_by, self.tune),
                        await a.conversations(period.start, period.end), names)

        async def previous() -> tuple[Any, Any]:
            async with self.deps.uow(read_only=True) as uow:
                return (await uow.analytics.cohort(prev.start, prev.end, (), self.tune),
                        await uow.analytics.conversations(prev.start, prev.end))

        # Two connections at once: the period and the one before it are independent scans (on PostgreSQL they
        # run on two cores; on SQLite, WAL readers do not block each other).
        (cur, conv, names), (before, prev_conv) = await asyncio.gather(current(), previous())
        now_m = self._metrics(cur[""][None], conv.total)
        prev_m = self._metrics(before[""][None], prev_conv.total)
        return {
            "period": period.as_json(), "previous": prev.as_json(), "timezone": period.timezone,
            "currency": self.cfg.currency, "hourly_cost": self.cfg.hourly_cost,
            "conversations_source": ("widget" if conv.reported else "evaluations" if conv.evaluations else None),
            "metrics": now_m, "previous_metrics": prev_m, "change": change(now_m, prev_m),
            "lower_is_better": sorted(LOWER_IS_BETTER),
            "groups": {g: self._rows(g, cur[g], period, names) for g in dict.fromkeys(group_by)},
        }

    def _metrics(self, s: Sums, conversations: int | None = None) -> dict[str, Any]:
        return metrics(s, conversations=conversations or None, hourly_cost=self.cfg.hourly_cost)

    def _rows(self, dim: str, groups: Mapping[str | None, Sums], period: Period,
              names: Mapping[str, str]) -> list[dict[str, Any]]:
        if dim == "hour":
            keys: list[str | None] = [str(h) for h in range(24)]
        elif dim == "weekday":
            keys = [str(d) for d in range(7)]
        elif dim == "day":
            keys = list(period.days())
        elif dim == "confidence":
            keys = [*CONFIDENCE_BANDS, *([None] if None in groups else [])]
        else:
            keys = sorted(groups, key=lambda k: (-groups[k].handoffs, k or ""))
        rows = []
        for key in keys:
            s = groups.get(key, Sums())
            label = WEEKDAYS[int(key)] if dim == "weekday" and key is not None else (key if key is not None
                                                                                     else NO_KEY)
            row: dict[str, Any] = {"key": label, **self._metrics(s)}
            if dim == "agent":
                row["display_name"] = names.get(key or "", key or "unclaimed")
                row.update(agent_score(s, self.cfg.response_target_seconds).as_json())
            rows.append(row)
        return rows

    # ---- the dashboard ------------------------------------------------------------------------------------

    async def dashboard(self, period: Period | None = None) -> dict[str, Any]:
        """Everything the dashboard draws, in a fixed number of statements whatever the data size, on three
        connections at once (the period, the period before, the SLA clocks and the live queue)."""
        period = period or self.period()
        now = self.deps.now()

        async def side() -> tuple[Mapping[str, tuple[int, int]], list[tuple[str, str, int, float]]]:
            async with self.deps.uow(read_only=True) as uow:
                return (await uow.analytics.clocks(period.start, period.end),
                        _waiting(await uow.gauges.queue_depth(), now))

        report, (clocks, live) = await asyncio.gather(self.report(period, DASHBOARD_GROUPS), side())
        g = report.pop("groups")
        waiting, oldest = _totals(live)
        agents = [{"agent": r["key"], "display_name": r["display_name"], "handled": r["handoffs"],
                   "score": r["score"], "components": r["components"], "inputs": r["inputs"],
                   "missing": r["missing"]} for r in g["agent"] if r["key"] != NO_KEY]
        return {
            **report, "generated_at": now.isoformat(),
            "by_hour": g["hour"], "by_weekday": g["weekday"], "by_reason": g["reason"], "trend": g["day"],
            "sla": [{"clock": kind, "met": met, "breached": breached,
                     "compliance": round(met / (met + breached), 4) if met + breached else None}
                    for kind, (met, breached) in sorted(clocks.items())],
            "agents": sorted(agents, key=lambda a: (-(a["score"] or -1), a["agent"])),
            "queue": {"waiting": waiting, "oldest_wait_seconds": oldest,
                      "by_queue": [{"queue": q, "priority": p, "waiting": n, "oldest_wait_seconds": round(w, 1)}
                                   for q, p, n, w in sorted(live, key=lambda r: (-r[3], r[0]))]},
            "ai_quality": [{k: r[k] for k in ("key", *AI_QUALITY_KEYS)} for r in g["reason"]],
            "confidence": [{k: r[k] for k in ("key", *AI_QUALITY_KEYS)} for r in g["confidence"]],
        }

    # ---- chat: today's numbers ----------------------------------------------------------------------------

    async def today(self) -> dict[str, Any]:
        """Today's KPIs (local day so far) for ``/handoff stats`` and the Teams ``stats`` command."""
        day = self.day(0)
        now = self.deps.now()
        so_far = Period(day.start, max(now, day.start + timedelta(seconds=1)), day.timezone)
        async with self.deps.uow(read_only=True) as uow:
            cur = await uow.analytics.cohort(so_far.start, so_far.end, (), self.tune)
            live = _waiting(await uow.gauges.queue_depth(), now)
            conv = await uow.analytics.conversations(so_far.start, so_far.end)
        m = self._metrics(cur[""][None], conv.total)
        m["queued"], m["oldest_wait_seconds"] = _totals(live)
        return m

    # ---- escalation-rate denominators ---------------------------------------------------------------------

    async def report_conversations(self, source: str, hour: datetime, conversations: int) -> datetime:
        """A widget's count of AI conversations in one hour (re-reporting the hour replaces the count)."""
        bucket = hour_of(hour)
        async with self.deps.uow() as uow:
            await uow.analytics.report_conversations(source, bucket, conversations, self.deps.now())
            await uow.commit()
        return bucket

    async def count_evaluation(self, source: str) -> None:
        """Count one ``/v1/evaluate`` call; written in batches (at most every 10 s per process, and at stop)."""
        self._evaluations[(source, hour_of(self.deps.now()))] += 1
        if time.monotonic() - self._flushed >= EVALUATION_FLUSH_SECONDS:
            await self.flush()

    async def flush(self) -> None:
        counts, self._evaluations = dict(self._evaluations), defaultdict(int)
        self._flushed = time.monotonic()
        if not counts:
            return
        try:
            async with self.deps.uow() as uow:
                await uow.analytics.add_evaluations(counts, self.deps.now())
                await uow.commit()
        except Exception:
            for key, n in counts.items():  # kept for the next flush: a database hiccup loses no count
                self._evaluations[key] += n
            raise
