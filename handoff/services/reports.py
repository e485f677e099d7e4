"""The daily operations report and the weekly trend: their facts (from :class:`Analytics`), and the scheduler
tick that posts them to the configured Slack and/or Teams channel once a day / once a week.

Facts, not words: the edges draw them from ``templates/reports/`` (and ``python app.py report`` prints them).
Posting goes through the outbox (``kind="report"``, no handoff): at-least-once like every chat message. The tick
holds the watermark ``report:<name>`` (a lease) while it builds a report, and moves it to the day it posted in
the same transaction as the outbox items, so several processes post each report once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handoff.analytics import WEEKDAYS, Period
from handoff.outbox import REPORT, OutboxMessage
from handoff.services.analytics import Analytics
from handoff.services.common import Deps

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
HISTORY_WEEKS = 4
LEASE_SECONDS = 300.0
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Reports:
    """Args:
        targets: (chat destination name, channel id) pairs to post to, e.g. ``[("slack", "C0OPS")]``.
    """

    def __init__(self, deps: Deps, analytics: Analytics, targets: Sequence[tuple[str, str]] = ()) -> None:
        self.deps = deps
        self.analytics = analytics
        self.targets = list(targets)
        self.cfg = deps.config.analytics.reports
        self.zone = ZoneInfo(analytics.timezone)
        self.owner = f"reports-{uuid.uuid4().hex[:8]}"

    # ---- facts --------------------------------------------------------------------------------------------

    async def daily(self, day_offset: int = -1) -> dict[str, Any]:
        """Yesterday (by default) against the day before: volume, speed, SLA, CSAT, breaches, notable handoffs,
        and tomorrow's expected volume (the mean of the same weekday over the last four weeks)."""
        day = self.analytics.day(day_offset)
        report = await self.analytics.report(day, ["reason", "queue"])
        history_start = day.end - timedelta(days=7 * HISTORY_WEEKS)
        history = await self.analytics.report(Period(history_start, day.end, day.timezone), ["day"])
        async with self.deps.uow(read_only=True) as uow:
            notable = await uow.analytics.notable(day.start, day.end)
        local = day.start.astimezone(self.zone)
        tomorrow = local.date() + timedelta(days=1)
        same = [r["handoffs"] for r in history["groups"]["day"]
                if datetime.fromisoformat(r["key"]).weekday() == tomorrow.weekday()]
        return {
            "report": "daily", "day": local.date().isoformat(), "weekday": WEEKDAY_NAMES[local.weekday()],
            "timezone": day.timezone, "currency": report["currency"],
            "metrics": report["metrics"], "previous_metrics": report["previous_metrics"], "change": report["change"],
            "reasons": report["groups"]["reason"][:5], "queues": report["groups"]["queue"],
            "notable": list(notable),
            "tomorrow": {"day": tomorrow.isoformat(), "weekday": WEEKDAY_NAMES[tomorrow.weekday()],
                         "expected_handoffs": round(sum(same) / len(same), 1) if same else None,
                         "weeks": len(same)},
        }

    async def weekly(self, end_offset: int = 0) -> dict[str, Any]:
        """The seven whole days before today (by default) against the seven before them: the trend per day,
        the reasons with their AI hand-off quality, and every agent's score."""
        last = self.analytics.day(end_offset - 1)
        period = Period(last.end - timedelta(days=7), last.end, last.timezone)
        report = await self.analytics.report(period, ["day", "reason", "agent"])
        g = report["groups"]
        return {
            "report": "weekly", "from": period.start.astimezone(self.zone).date().isoformat(),
            "to": last.start.astimezone(self.zone).date().isoformat(), "timezone": period.timezone,
            "currency": report["currency"], "metrics": report["metrics"],
            "previous_metrics": report["previous_metrics"], "change": report["change"],
            "days": [{"day": r["key"], "weekday": WEEKDAYS[datetime.fromisoformat(r["key"]).weekday()],
                      "handoffs": r["handoffs"], "first_response_p50_s": r["first_response_p50_s"],
                      "sla_compliance": r["sla_compliance"], "csat_mean": r["csat_mean"]} for r in g["day"]],
            "reasons": g["reason"][:8],
            "agents": [{"agent": r["key"], "display_name": r["display_name"], "handled": r["handoffs"],
                        "score": r["score"], "missing": r["missing"]}
                       for r in sorted(g["agent"], key=lambda r: -(r["score"] or -1)) if r["key"] != "(none)"],
        }

    # ---- posting ------------------------------------------------------------------------------------------

    def due(self, now: datetime) -> list[str]:
        """The reports due at ``now`` (local time past ``daily_at``; the weekly one on ``weekly_on``)."""
        local = now.astimezone(self.zone)
        hh, mm = (int(x) for x in self.cfg.daily_at.split(":"))
        if local.time() < time(hh, mm):
            return []
        return ["daily", *(["weekly"] if self.cfg.weekly and local.weekday() == self.cfg.weekly_on else [])]

    async def post(self, facts: dict[str, Any], key: str) -> int:
        """Queue ``facts`` for every target (idempotency ``key`` + destination); returns how many were queued."""
        messages = self._messages(facts, key)
        async with self.deps.uow() as uow:
            await uow.outbox.enqueue(messages, self.deps.now())
            await uow.commit()
        return len(messages)

    def _messages(self, facts: dict[str, Any], key: str) -> list[OutboxMessage]:
        return [OutboxMessage(destination=dest, kind=REPORT, handoff_id=None,
                              payload={"channel": channel, "facts": facts}, idempotency_key=f"{key}:{dest}")
                for dest, channel in self.targets]

    async def tick(self) -> int:
        """Post what is due and not yet posted today (by any process); returns the number of items queued."""
        if not self.targets:
            return 0
        now = self.deps.now()
        queued = 0
        for name in self.due(now):
            local_day = now.astimezone(self.zone).date()
            marker = datetime.combine(local_day, time(), self.zone).astimezone(UTC)
            mark = f"report:{name}"
            async with self.deps.uow() as uow:
                last = await uow.watermarks.claim(mark, self.owner, now, initial=EPOCH, lease_seconds=LEASE_SECONDS)
                await uow.commit()
            if last is None:
                continue  # another process is on it
            if last >= marker:  # posted today already: give the lease back
                async with self.deps.uow() as uow:
                    await uow.watermarks.advance(mark, self.owner, last, now)
                    await uow.commit()
                continue
            facts = await (self.daily() if name == "daily" else self.weekly())
            async with self.deps.uow() as uow:
                messages = self._messages(facts, f"{mark}:{local_day.isoformat()}")
                await uow.outbox.enqueue(messages, now)
                await uow.watermarks.advance(mark, self.owner, marker, now)
                await uow.commit()
            queued += len(messages)
        return queued
