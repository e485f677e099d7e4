"""Analytics queries: the one home of every figure a support lead reads (API, CSV, dashboard, reports, chat).

The unit is a *cohort*: the handoffs created in ``[since, until)``. The handoff rows are the event log's
projection, written in the same transaction as each event, so one pass over the cohort's rows (with its SLA
clocks, rating and reviews joined) gives every measure; the event log itself is read for reviews. A period's
whole metric set — the total and every grouping asked for — is **one statement**: a CTE of per-handoff facts,
aggregated once per grouping and glued with ``UNION ALL``. The number of statements never depends on the data.

The same SQL runs on SQLite and PostgreSQL. Where they differ (seconds between two instants, local hour and
weekday, percentiles) :class:`_Dialect` picks the expression; SQLite gets ``baton_percentile`` (the same linear
interpolation as PostgreSQL's ``percentile_cont``) and ``baton_local`` from :func:`register_sqlite_functions`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Float, Integer, String, and_, case, cast, exists, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from handoff.analytics import CONFIDENCE_BANDS, DIMENSIONS, SUM_FIELDS, Conversations, Sums, Tuning
from handoff.models import EventKind
from handoff.sla.clocks import ClockOutcome
from handoff.sla.timing import WATCHES
from handoff.store import tables as t


class _Dialect:
    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def seconds(self, later: Any, earlier: Any) -> ColumnElement[Any]:
        if self.pg:
            return cast(func.extract("epoch", later - earlier), Float)
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0

    def percentile(self, expr: Any, q: float) -> ColumnElement[Any]:
        if self.pg:
            return cast(func.percentile_cont(q).within_group(expr), Float)
        return func.baton_percentile(expr, q)

    def localize(self, col: Any, tz: str) -> ColumnElement[Any]:
        """The instant as a local wall-clock time (PostgreSQL); SQLite keeps the stored UTC text for
        ``baton_local``."""
        return func.timezone(tz, col) if self.pg else col

    def local(self, localized: Any, tz: str, part: str) -> ColumnElement[Any]:
        """Hour (0-23), weekday (0 = Monday) or day (YYYY-MM-DD) of a :meth:`localize` d instant, as text."""
        if not self.pg:
            return cast(func.baton_local(localized, tz, part), String)
        if part == "day":
            return cast(cast(localized, Date), String)  # ISO: YYYY-MM-DD
        value = cast(func.extract("hour" if part == "hour" else "isodow", localized), Integer)
        return cast(value if part == "hour" else value - 1, String)

    def within_days(self, later: Any, earlier: Any, days: float) -> ColumnElement[bool]:
        if self.pg:
            limit: ColumnElement[bool] = later <= earlier + func.make_interval(0, 0, 0, 0, 0, 0, days * 86400.0)
            return limit
        return func.julianday(later) - func.julianday(earlier) <= days


def _facts(d: _Dialect, since: datetime, until: datetime, tune: Tuning) -> Any:
    """One row per handoff of the cohort with its measures, evaluated once each (the re-escalation probe, the
    JSON confidence, the time-zone conversion, the joins); every grouping reads these rows and computes only its
    own key (:func:`_key`). PostgreSQL is told to materialize it, else it would inline it and repeat the work."""
    h, c, k, r, e = t.handoffs.c, t.customers.c, t.sla_clocks.c, t.csat_responses.c, t.events.c
    promises = [x.value for x in WATCHES]
    clocks = (select(k.handoff_id,
                     func.sum(case((k.outcome == ClockOutcome.MET.value, 1), else_=0)).label("met"),
                     func.sum(case((k.outcome == ClockOutcome.BREACHED.value, 1), else_=0)).label("breached"))
              .where(k.started_at >= since, k.stopped_at.is_not(None), k.kind.not_in(promises))
              .group_by(k.handoff_id).subquery("clk"))
    accurate = e.data["accurate"].as_boolean()
    reviews = (select(e.handoff_id, func.count().label("reviewed"),
                      func.sum(case((accurate, 1), else_=0)).label("accurate"))
               .where(e.kind == EventKind.REVIEWED.value, e.at >= since)
               .group_by(e.handoff_id).subquery("rev"))
    later = t.handoffs.alias("later")
    back = exists().where(later.c.customer_id == h.customer_id, later.c.created_at > h.resolved_at,
                          d.within_days(later.c.created_at, h.resolved_at, tune.reescalation_days))
    resolved = h.resolved_at.is_not(None)
    frt = d.seconds(h.first_response_at, h.created_at)
    raw = (select(
        h.trigger_reason.label("reason"), h.topic.label("topic"), h.priority.label("priority"),
        h.queue.label("queue"), h.claimed_by.label("agent"), c.plan.label("plan"),
        d.localize(h.created_at, tune.timezone).label("local"),
        frt.label("frt"),
        case((resolved, d.seconds(h.resolved_at, h.created_at)), else_=None).label("ttr"),
        case((resolved, 1), else_=0).label("is_resolved"),
        case((or_(h.reopen_count > 0, and_(resolved, back)), 1), else_=0).label("is_reesc"),
        case((h.transfer_count > 0, 1), else_=0).label("is_transferred"),
        case((h.escalation_count > 0, 1), else_=0).label("is_tier"),
        func.coalesce(clocks.c.met, 0).label("met"), func.coalesce(clocks.c.breached, 0).label("breached"),
        r.score.label("csat"),
        case((and_(resolved, h.claimed_at.is_not(None)), d.seconds(h.resolved_at, h.claimed_at)),
             else_=None).label("handle"),
        (frt - h.promised_wait_seconds).label("wait_error"),  # NULL unless both are known
        h.kb_gap.label("kb_gap"),
        h.ai["confidence"].as_float().label("conf"),
        func.coalesce(reviews.c.reviewed, 0).label("reviewed"), func.coalesce(reviews.c.accurate, 0).label("accurate"),
    ).select_from(t.handoffs)
        .join(t.customers, c.id == h.customer_id)
        .outerjoin(clocks, clocks.c.handoff_id == h.id)
        .outerjoin(t.csat_responses, r.handoff_id == h.id)
        .outerjoin(reviews, reviews.c.handoff_id == h.id)
        .where(h.created_at >= since, h.created_at < until)
        .cte("raw"))
    return raw.prefix_with("MATERIALIZED") if d.pg else raw  # PostgreSQL would inline it and repeat the work


def _key(d: _Dialect, f: Any, dim: str, tune: Tuning) -> ColumnElement[Any]:
    """The group key of ``dim``, computed only in its own grouping (a key nobody asked for costs nothing)."""
    x = f.c
    if dim in ("hour", "weekday", "day"):
        return d.local(x.local, tune.timezone, dim)
    if dim == "confidence":
        return case(*((and_(x.conf >= i / 5, x.conf < (i + 1) / 5), CONFIDENCE_BANDS[i]) for i in range(4)),
                    (x.conf >= 0.8, CONFIDENCE_BANDS[4]), else_=literal(None, String))
    return cast(x[dim], String)


def _aggregates(d: _Dialect, f: Any, tune: Tuning) -> list[ColumnElement[Any]]:
    def n(flag: Any) -> ColumnElement[Any]:
        return func.coalesce(func.sum(flag), 0)

    def total(x: Any) -> ColumnElement[Any]:
        return func.coalesce(func.sum(x), 0.0)

    col = f.c
    return [
        func.count().label("handoffs"), func.count(col.frt).label("responded"),
        total(col.frt).label("first_response_sum"),
        d.percentile(col.frt, 0.5).label("first_response_p50"), d.percentile(col.frt, 0.9).label("first_response_p90"),
        n(col.is_resolved).label("resolved"), total(col.ttr).label("resolution_sum"),
        d.percentile(col.ttr, 0.5).label("resolution_p50"), d.percentile(col.ttr, 0.9).label("resolution_p90"),
        n(col.is_reesc).label("reescalated"), n(col.is_transferred).label("transferred"),
        n(col.is_tier).label("tier_escalated"),
        n(case((and_(col.is_resolved == 1, col.is_transferred == 0, col.is_tier == 0, col.is_reesc == 0), 1),
               else_=0)).label("first_contact"),
        n(col.met).label("sla_met"), n(col.breached).label("sla_breached"),
        func.count(col.csat).label("csat_responses"), total(col.csat).label("csat_sum"),
        *(n(case((col.csat == s, 1), else_=0)).label(f"csat_{s}") for s in range(1, 6)),
        total(col.handle).label("handle_seconds"),
        func.count(col.wait_error).label("wait_promised"), total(col.wait_error).label("wait_error_sum"),
        total(func.abs(col.wait_error)).label("wait_error_abs_sum"),
        n(case((and_(col.is_resolved == 1, col.kb_gap, col.handle <= tune.quick_resolve_seconds), 1),
               else_=0)).label("avoidable"),
        func.count(col.conf).label("confidence_count"), total(col.conf).label("confidence_sum"),
        n(col.reviewed).label("reviewed"), n(col.accurate).label("accurate"),
    ]


@lru_cache(maxsize=64)
def _metrics_statement(dialect: str, groups: tuple[str, ...], tune: Tuning) -> Any:
    """The one statement for a cohort: the total (dimension '') and each grouping, as bound-parameter SQL."""
    from sqlalchemy import bindparam

    d = _Dialect(dialect)
    since = bindparam("since", type_=t.handoffs.c.created_at.type)
    until = bindparam("until", type_=t.handoffs.c.created_at.type)
    f = _facts(d, since, until, tune)  # type: ignore[arg-type]
    parts = [select(literal("", String).label("dimension"), literal(None, String).label("key"),
                    *_aggregates(d, f, tune))]
    for g in groups:
        key = _key(d, f, g, tune)
        parts.append(select(literal(g, String).label("dimension"), key.label("key"), *_aggregates(d, f, tune))
                     .group_by(key))
    return union_all(*parts) if len(parts) > 1 else parts[0]


DEFAULT_TUNING = Tuning()


class SqlAnalytics:
    """Analytics reads (``uow.analytics``); every method is a bounded number of statements."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def cohort(self, since: datetime, until: datetime, groups: Sequence[str] = (),
                     tune: Tuning = DEFAULT_TUNING) -> dict[str, dict[str | None, Sums]]:
        """The cohort's figures: ``{"": {None: total}, "reason": {"low_confidence": …}, …}`` in one statement.

        Raises:
            ValueError: an unknown grouping.
        """
        unknown = [g for g in groups if g not in DIMENSIONS]
        if unknown:
            raise ValueError(f"unknown grouping {unknown[0]!r}; one of {', '.join(DIMENSIONS)}")
        stmt = _metrics_statement(self.conn.dialect.name, tuple(dict.fromkeys(groups)), tune)
        await self._tune()
        out: dict[str, dict[str | None, Sums]] = {"": {}, **{g: {} for g in groups}}
        for row in (await self.conn.execute(stmt, {"since": since, "until": until})).mappings():
            out[row["dimension"]][row["key"]] = _sums(row)
        out[""].setdefault(None, Sums())
        return out

    async def _tune(self) -> None:
        """PostgreSQL: no JIT for these one-off aggregates (compiling them costs more than running them) and
        room to sort a month of handoffs in memory; for this transaction only."""
        if self.conn.dialect.name == "postgresql":
            await self.conn.execute(select(func.set_config("jit", "off", True),
                                           func.set_config("work_mem", "64MB", True)))

    async def clocks(self, since: datetime, until: datetime) -> Mapping[str, tuple[int, int]]:
        """Promise clocks of the cohort that have stopped, per kind: (met, breached)."""
        h, k = t.handoffs.c, t.sla_clocks.c
        q = (select(k.kind, func.sum(case((k.outcome == ClockOutcome.MET.value, 1), else_=0)),
                    func.sum(case((k.outcome == ClockOutcome.BREACHED.value, 1), else_=0)))
             .join(t.handoffs, h.id == k.handoff_id)
             .where(h.created_at >= since, h.created_at < until, k.stopped_at.is_not(None),
                    k.kind.not_in([x.value for x in WATCHES]))
             .group_by(k.kind))
        return {kind: (int(met or 0), int(breached or 0)) for kind, met, breached in await self.conn.execute(q)}

    async def conversations(self, since: datetime, until: datetime) -> Conversations:
        """The escalation rate's denominator: per hour, the widget's count if it reported one, else evaluations."""
        s = t.conversation_stats.c
        q = select(func.coalesce(func.sum(func.coalesce(s.conversations, s.evaluations)), 0),
                   func.count(s.conversations), func.coalesce(func.sum(s.evaluations), 0)
                   ).where(s.hour >= since, s.hour < until)
        total, reported, evaluations = (await self.conn.execute(q)).one()
        return Conversations(int(total), int(reported), int(evaluations))

    async def notable(self, since: datetime, until: datetime, limit: int = 5) -> Sequence[Mapping[str, Any]]:
        """The period's SLA breaches and its lowest ratings (≤ 2), newest first, ``limit`` of each."""
        h, e, r = t.handoffs.c, t.events.c, t.csat_responses.c
        cols = (h.id, h.priority, h.queue, h.trigger_reason, h.claimed_by)
        breaches = (select(*cols, e.at, e.data).join(t.handoffs, h.id == e.handoff_id)
                    .where(e.kind == EventKind.SLA_BREACHED.value, e.at >= since, e.at < until)
                    .order_by(e.at.desc(), e.id.desc()).limit(limit))
        low = (select(*cols, r.at, r.score).join(t.handoffs, h.id == r.handoff_id)
               .where(r.score <= 2, r.at >= since, r.at < until).order_by(r.at.desc()).limit(limit))
        out: list[dict[str, Any]] = []
        for row in await self.conn.execute(breaches):
            out.append({"kind": "sla_breached", "handoff_id": row.id, "priority": row.priority, "queue": row.queue,
                        "reason": row.trigger_reason, "agent": row.claimed_by, "at": row.at.isoformat(),
                        "clock": (row.data or {}).get("clock")})
        for row in await self.conn.execute(low):
            out.append({"kind": "low_csat", "handoff_id": row.id, "priority": row.priority, "queue": row.queue,
                        "reason": row.trigger_reason, "agent": row.claimed_by, "at": row.at.isoformat(),
                        "score": row.score})
        return out

    async def report_conversations(self, source: str, hour: datetime, conversations: int, now: datetime) -> None:
        """A widget's count of AI conversations in one hour (the latest report for the hour wins)."""
        await self._upsert_hour(source, hour, now, conversations=conversations)

    async def add_evaluations(self, counts: Mapping[tuple[str, datetime], int], now: datetime) -> None:
        """Add ``/v1/evaluate`` calls per (source, hour)."""
        for (source, hour), n in counts.items():
            await self._upsert_hour(source, hour, now, evaluations=n)

    async def _upsert_hour(self, source: str, hour: datetime, now: datetime, *, conversations: int | None = None,
                           evaluations: int = 0) -> None:
        from sqlalchemy.dialects import postgresql, sqlite

        ins = (postgresql.insert if self.conn.dialect.name == "postgresql" else sqlite.insert)(t.conversation_stats)
        stmt = ins.values(source=source, hour=hour, conversations=conversations, evaluations=evaluations,
                          updated_at=now)
        s = t.conversation_stats.c
        changes: dict[str, Any] = {"updated_at": now, "evaluations": s.evaluations + stmt.excluded.evaluations}
        if conversations is not None:
            changes["conversations"] = stmt.excluded.conversations
        await self.conn.execute(stmt.on_conflict_do_update(index_elements=["source", "hour"], set_=changes))


def _sums(row: Any) -> Sums:
    values: dict[str, Any] = {}
    for name in SUM_FIELDS:
        v = row[name]
        if name.endswith(("_p50", "_p90")):
            values[name] = None if v is None else float(v)
        elif isinstance(Sums.__dataclass_fields__[name].default, int):
            values[name] = int(v or 0)
        else:
            values[name] = float(v or 0.0)
    return Sums(**values)


# ---- SQLite: the functions PostgreSQL has built in ---------------------------------------------------------------

class _Percentile:
    """``baton_percentile(x, q)``: PostgreSQL's ``percentile_cont(q) WITHIN GROUP (ORDER BY x)``; NULLs ignored."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.q = 0.5

    def step(self, value: float | None, q: float) -> None:
        self.q = q
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        if not self.values:
            return None
        v = sorted(self.values)
        pos = self.q * (len(v) - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        return v[lo] + (v[hi] - v[lo]) * (pos - lo)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local(ts: str | None, tz: str, part: str) -> str | None:
    """``baton_local(ts, tz, part)``: hour (0-23), weekday (0 = Monday) or day (YYYY-MM-DD) of a stored UTC
    instant in ``tz``."""
    if ts is None:
        return None
    local = datetime.fromisoformat(ts).replace(tzinfo=UTC).astimezone(_zone(tz))
    if part == "hour":
        return str(local.hour)
    if part == "weekday":
        return str(local.weekday())
    return local.date().isoformat()


def register_sqlite_functions(dbapi_conn: Any) -> None:
    """Give a SQLite connection (aiosqlite's adapter, or sqlite3's) the functions analytics needs."""
    raw = getattr(getattr(dbapi_conn, "_connection", None), "_conn", dbapi_conn)
    raw.create_aggregate("baton_percentile", 2, _Percentile)
    raw.create_function("baton_local", 3, _local, deterministic=True)
