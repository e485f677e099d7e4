"""``/v1/analytics`` (JSON and CSV), ``/v1/stats/conversations`` and reviews: the HTTP face of
:class:`handoff.services.analytics.Analytics`."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from bot.web import errors
from bot.web.schemas import AnalyticsOut, ConversationCountBody, ConversationCountOut
from handoff import analytics as definitions
from handoff.analytics import DIMENSIONS
from handoff.services.analytics import Analytics

DESCRIPTION = f"""A period's escalation figures, the same figures for the period just before it, their change,
and one row per key of each `group_by` dimension.

`from` / `to`: local dates (`2026-11-01`, `to` inclusive) in the report time zone (`analytics.timezone`) or
ISO 8601 instants; default the last 7 days. At most 400 days. `group_by`: comma-separated, any of
{", ".join(f"`{d}`" for d in DIMENSIONS)}. Grouping by `agent` adds each agent's quality score (100 points:
response 25, first-contact resolution 25, CSAT 25, accuracy 25) with its inputs.

What the figures mean (the cohort is the handoffs created in the period):

{definitions.__doc__.split("Definitions (a *cohort* is the handoffs created in the period):", 1)[1].strip()
 if definitions.__doc__ else ""}
"""


From = Annotated[str | None, Query(alias="from", max_length=40, description="local date or ISO instant")]
To = Annotated[str | None, Query(alias="to", max_length=40, description="local date (inclusive) or instant")]
GroupBy = Annotated[str | None, Query(max_length=200, description=", ".join(DIMENSIONS))]


def _group_by(text: str | None) -> list[str]:
    names = [g.strip().lower() for g in (text or "").split(",") if g.strip()]
    unknown = [g for g in names if g not in DIMENSIONS]
    if unknown:
        raise ValueError(f"group_by: unknown {unknown[0]!r}; use any of {', '.join(DIMENSIONS)}")
    return list(dict.fromkeys(names))


def _cell(value: Any) -> Any:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if isinstance(value, dict | list):
        return ""
    return "" if value is None else value


def to_csv(report: dict[str, Any]) -> str:
    """One row for the period's total, one per group key; the metric columns in a fixed order."""
    columns = list(report["metrics"])
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["period_from", "period_to", "dimension", "key", *columns])
    head = [report["period"]["from"], report["period"]["to"]]
    w.writerow([*head, "total", "", *(_cell(report["metrics"][c]) for c in columns)])
    for dim, rows in report["groups"].items():
        for row in rows:
            w.writerow([*head, dim, _cell(row["key"]), *(_cell(row.get(c)) for c in columns)])
    return out.getvalue()


def analytics_routers(analytics: Analytics, reader: Sequence[Any], writer: Sequence[Any]) -> list[APIRouter]:
    """Routers: reads behind ``reader`` dependencies (agent keys), the conversation counts behind ``writer``
    (the widget's intake key)."""
    reads = APIRouter(prefix="/v1", dependencies=list(reader), tags=["analytics"])
    writes = APIRouter(prefix="/v1", dependencies=list(writer), tags=["analytics"])

    async def build(start: str | None, end: str | None, group_by: str | None) -> dict[str, Any] | JSONResponse:
        try:
            return await analytics.report(analytics.period(start, end), _group_by(group_by))
        except ValueError as exc:
            return JSONResponse(errors.error_body("invalid_query", str(exc)), status_code=422)

    bad: dict[int | str, dict[str, Any]] = {
        422: {"description": "an unreadable or too long period, or an unknown group_by"}}

    @reads.get("/analytics", response_model=AnalyticsOut, description=DESCRIPTION, responses=bad)
    async def get_analytics(start: From = None, end: To = None, group_by: GroupBy = None) -> Any:
        return await build(start, end, group_by)

    @reads.get("/analytics.csv", response_class=Response, responses={
        200: {"content": {"text/csv": {}}, "description": "the same figures as /v1/analytics, one row per group"},
        **bad})
    async def get_analytics_csv(start: From = None, end: To = None, group_by: GroupBy = None) -> Response:
        report = await build(start, end, group_by)
        if isinstance(report, JSONResponse):
            return report
        day = report["period"]["from"][:10]
        return Response(to_csv(report), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="baton-analytics-{day}.csv"'})

    @writes.post("/stats/conversations", response_model=ConversationCountOut)
    async def conversations(body: ConversationCountBody) -> Any:
        """The widget's count of AI conversations in one hour (all of them, escalated or not). Reporting an
        hour again replaces its count. Without counts, ``/v1/evaluate`` calls are the denominator."""
        if body.hour.tzinfo is None:
            return JSONResponse(errors.error_body("validation_error", "hour: give an offset (e.g. Z)"),
                                status_code=422)
        if not 1970 <= body.hour.year <= 2999:
            return JSONResponse(errors.error_body("validation_error", "hour: give a time between 1970 and 2999"),
                                status_code=422)
        if body.hour - analytics.deps.now() > timedelta(hours=1):
            return JSONResponse(errors.error_body("validation_error", "hour: that hour has not begun"),
                                status_code=422)
        bucket = await analytics.report_conversations(body.source, body.hour, body.conversations)
        return ConversationCountOut(source=body.source, hour=bucket, conversations=body.conversations)

    return [reads, writes]
