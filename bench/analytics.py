"""The full analytics metric set over a large event log on PostgreSQL: how long the dashboard's data and the
API's widest report take, and how that grows with the data.

    .venv/bin/python bench/analytics.py [--events 100000,1000000] [--runs 5] [--url postgresql://…]

For each size a scratch PostgreSQL database gets ``events / 8`` handoffs over the last 30 days (20,000 customers
on four plans, ten agents, six trigger reasons), eight timeline events each (created, claimed, messages, notes,
resolved …), two SLA clocks each, ratings for 40 % of the resolved ones, reviews for 5 %, and hourly
conversation counts. Everything is generated in SQL (``generate_series``, a fixed ``setseed``), then ANALYZEd.

Timed through the real service (:class:`handoff.services.analytics.Analytics`, the app's engine), each ``--runs``
times after one warm-up, median and worst printed:

- ``dashboard``: everything ``/dashboard/data.json`` returns for the 30 days (the period, the previous period,
  six groupings, SLA per clock, agent scores, AI hand-off quality, the live queue) — 8 statements;
- ``report all``: ``/v1/analytics`` grouped by all ten dimensions at once — 4 statements.

Prints figures; asserts nothing about time. Target: the full metric set over 1,000,000 events ≤ 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
EVENTS_PER_HANDOFF = 8

SEED = """
SELECT setseed(0.42);
INSERT INTO customers (id, email, name, plan, account_value, vip, locale, flags, created_at, updated_at)
SELECT 'cu_b' || g, 'b' || g || '@example.test', 'Customer ' || g,
       (ARRAY['free', 'starter', 'professional', 'enterprise'])[1 + g % 4], (g % 50) * 100, false, 'en', '[]',
       now() - interval '90 days', now()
FROM generate_series(1, 20000) g;

INSERT INTO handoffs (id, source, conversation_id, customer_id, status, priority, priority_rank, queue, topic, tier,
                      urgency, trigger_reason, why, reasons, routing, rules_version, ai, locale, customer_token,
                      claimed_by, claimed_at, first_response_at, resolved_at, reopen_count, transfer_count,
                      escalation_count, outcome, kb_gap, promised_wait_seconds, sla_due_at, created_at, updated_at,
                      version)
SELECT 'ho_b' || lpad(g::text, 9, '0'), 'widget', 'bench-' || g, 'cu_b' || (1 + g % 20000),
       CASE WHEN r.resolved THEN 'resolved' WHEN r.answered THEN 'claimed' ELSE 'queued' END,
       (ARRAY['critical', 'high', 'medium', 'low'])[1 + g % 4], 1 + g % 4,
       (ARRAY['technical', 'billing', 'accounts', 'sales', 'general'])[1 + g % 5],
       (ARRAY['technical', 'billing', 'accounts', 'sales', 'general'])[1 + g % 5], 'L1', 'soon',
       (ARRAY['low_confidence', 'customer_request', 'frustration', 'refund_request', 'security', 'enterprise'])
         [1 + (g / 7) % 6],
       '', '[]', '[]', 'bench', jsonb_build_object('confidence', round(random()::numeric, 2)), 'en', md5(g::text),
       CASE WHEN r.answered THEN 'agent' || (g % 10) END,
       CASE WHEN r.answered THEN r.created + r.wait END,
       CASE WHEN r.answered THEN r.created + r.wait END,
       CASE WHEN r.resolved THEN r.created + r.wait + r.handle END,
       (random() < 0.03)::int, (random() < 0.08)::int, (random() < 0.05)::int,
       CASE WHEN r.resolved THEN 'resolved' END, r.resolved AND random() < 0.2,
       CASE WHEN random() < 0.8 THEN 60 + random() * 300 END,
       r.created + interval '5 minutes', r.created, r.created, 1
FROM generate_series(1, :handoffs) g
CROSS JOIN LATERAL (SELECT now() - random() * interval '60 days' + g * interval '0 s' AS created,
                           random() * interval '10 minutes' AS wait, random() * interval '1 hour' AS handle,
                           random() < 0.9 AS answered, random() < 0.75 AS resolved0) r0
CROSS JOIN LATERAL (SELECT r0.created, r0.wait, r0.handle, r0.answered,
                           r0.answered AND r0.resolved0 AS resolved) r;

INSERT INTO events (handoff_id, kind, actor_type, actor_id, source, reason, data, at)
SELECT h.id, (ARRAY['created', 'claimed', 'customer_message', 'agent_message', 'note_added', 'customer_message',
                    'agent_message', 'resolved'])[k],
       CASE WHEN k = 1 THEN 'system' ELSE 'agent' END, h.claimed_by, 'api', NULL, '{}'::jsonb,
       h.created_at + k * interval '1 minute'
FROM handoffs h CROSS JOIN generate_series(1, 8) k;

INSERT INTO sla_clocks (handoff_id, kind, policy, target_seconds, business_hours, started_at, due_at,
                        paused_seconds, stopped_at, elapsed_seconds, outcome, updated_at)
SELECT h.id, c.kind, 'bench', c.target, false, h.created_at, h.created_at + make_interval(secs => c.target), 0,
       c.stopped, extract(epoch FROM c.stopped - h.created_at),
       CASE WHEN c.stopped IS NULL THEN NULL
            WHEN c.stopped - h.created_at <= make_interval(secs => c.target) THEN 'met' ELSE 'breached' END,
       now()
FROM handoffs h
CROSS JOIN LATERAL (VALUES ('first_response', 300.0, h.first_response_at),
                           ('resolution', 3600.0, h.resolved_at)) AS c(kind, target, stopped);

INSERT INTO csat_responses (handoff_id, score, comment, at)
SELECT id, 1 + floor(random() * 5)::int, NULL, resolved_at + interval '2 minutes'
FROM handoffs WHERE resolved_at IS NOT NULL AND random() < 0.4;

INSERT INTO events (handoff_id, kind, actor_type, actor_id, source, reason, data, at)
SELECT id, 'reviewed', 'agent', 'lead', 'api', NULL, jsonb_build_object('accurate', random() < 0.8),
       resolved_at + interval '1 hour'
FROM handoffs WHERE resolved_at IS NOT NULL AND random() < 0.05;

INSERT INTO conversation_stats (source, hour, conversations, evaluations, updated_at)
SELECT 'widget', date_trunc('hour', now()) - g * interval '1 hour', 50 + (g % 24) * 10, 0, now()
FROM generate_series(0, 24 * 31) g;
"""


async def admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_URL.replace("postgresql://", "postgres://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed(url: str, handoffs: int) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql://", "postgres://"))
    try:
        for statement in (s.strip() for s in SEED.split(";\n")):
            if statement:
                await conn.execute(statement.replace(":handoffs", str(handoffs)))
        await conn.execute("ANALYZE")
        counts = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}"))
                  for t in ("handoffs", "events", "sla_clocks", "csat_responses")}
    finally:
        await conn.close()
    return counts



async def measure(url: str, runs: int) -> dict[str, tuple[float, float, int]]:
    from sqlalchemy import event

    from app import build
    from settings import Settings

    rt = build(Settings(DATABASE_URL=url, BATON_API_KEYS="bench-key-" + "x" * 24),  # type: ignore[call-arg]
               with_log=False, integrations=[])
    statements: list[str] = []
    event.listen(rt.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    a = rt.analytics
    period = a.period(default_days=30)
    cases = {
        "dashboard": lambda: a.dashboard(period),
        "report all": lambda: a.report(period, ["reason", "topic", "priority", "queue", "agent", "plan", "hour",
                                                "weekday", "day", "confidence"]),
    }
    out: dict[str, tuple[float, float, int]] = {}
    try:
        for name, work in cases.items():
            await work()  # warm: connections, plans, caches
            times = []
            for _ in range(runs):
                statements.clear()
                t0 = time.perf_counter()
                await work()
                times.append(time.perf_counter() - t0)
            n = len([s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))])
            out[name] = (statistics.median(times), max(times), n)
    finally:
        await rt.engine.dispose()
    return out


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", default="100000,1000000", help="comma-separated event counts (default 100k and 1M)")
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    from handoff.store.migrate import upgrade

    print(f"{'events':>10} {'handoffs':>9} {'clocks':>8} {'ratings':>8}  {'dashboard median / max':>24} "
          f"{'stmts':>5}  {'report all median / max':>24} {'stmts':>5}  {'seed':>6}")
    for size in (int(x) for x in args.events.split(",")):
        name = f"baton_bench_analytics_{uuid.uuid4().hex[:6]}"
        await admin(f'CREATE DATABASE "{name}"')
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        try:
            upgrade(url)
            t0 = time.perf_counter()
            counts = await seed(url, size // EVENTS_PER_HANDOFF)
            seeded = time.perf_counter() - t0
            got = await measure(url, args.runs)
            d, r = got["dashboard"], got["report all"]
            print(f"{counts['events']:>10,} {counts['handoffs']:>9,} {counts['sla_clocks']:>8,} "
                  f"{counts['csat_responses']:>8,}  {d[0] * 1000:>10.0f} ms / {d[1] * 1000:>6.0f} ms {d[2]:>5}  "
                  f"{r[0] * 1000:>10.0f} ms / {r[1] * 1000:>6.0f} ms {r[2]:>5}  {seeded:>5.0f}s", flush=True)
        finally:
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
