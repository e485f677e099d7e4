"""The reference target for intake cost: a minimal *durable* intake — FastAPI + pydantic + asyncpg, no Baton.

It validates the same body (:class:`handoff.contract.HandoffIn`) and, in one PostgreSQL transaction, does the
writes Baton's intake must do: upsert the customer, insert the handoff, its transcript rows, one event and two
outbox rows, and read the queue position — with a schema of its own (created at start) and nothing else (no
decision, no estimate). ``bench/intake.py`` prints Baton's throughput as a ratio of this one.

    DATABASE_URL=postgresql://… uvicorn bench.durable_app:app
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fastapi import FastAPI

from handoff.contract import HandoffIn

SCHEMA = """
CREATE TABLE IF NOT EXISTS ref_customers (id text PRIMARY KEY, email text UNIQUE, name text, plan text,
    updated_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS ref_handoffs (id text PRIMARY KEY, source text NOT NULL, conversation_id text NOT NULL,
    customer_id text NOT NULL REFERENCES ref_customers(id), status text NOT NULL, priority_rank int NOT NULL,
    queue text NOT NULL, ai jsonb NOT NULL, created_at timestamptz NOT NULL, UNIQUE (source, conversation_id));
CREATE INDEX IF NOT EXISTS ref_handoffs_queue ON ref_handoffs (status, queue, priority_rank, created_at);
CREATE TABLE IF NOT EXISTS ref_messages (handoff_id text NOT NULL REFERENCES ref_handoffs(id), seq int NOT NULL,
    role text NOT NULL, text text NOT NULL, PRIMARY KEY (handoff_id, seq));
CREATE TABLE IF NOT EXISTS ref_events (id bigserial PRIMARY KEY, handoff_id text NOT NULL, kind text NOT NULL,
    data jsonb NOT NULL, at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS ref_outbox (id bigserial PRIMARY KEY, event_id bigint NOT NULL, destination text NOT NULL,
    status text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL);
"""


def _dsn() -> str:
    url = os.environ["DATABASE_URL"]
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(_dsn(), min_size=4, max_size=16)
    async with pool.acquire() as conn:
        await conn.execute(SCHEMA)
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/v1/handoffs", status_code=201)
async def intake(body: HandoffIn) -> dict[str, Any]:
    now = datetime.now(UTC)
    hid = "ho_" + uuid.uuid4().hex
    cust = body.customer
    async with app.state.pool.acquire() as conn, conn.transaction():
        customer_id = await conn.fetchval(
            "INSERT INTO ref_customers (id, email, name, plan, updated_at) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name, plan = EXCLUDED.plan, "
            "updated_at = EXCLUDED.updated_at RETURNING id",
            "cu_" + uuid.uuid4().hex, cust.email, cust.name, cust.plan, now)
        await conn.execute(
            "INSERT INTO ref_handoffs (id, source, conversation_id, customer_id, status, priority_rank, queue, ai, "
            "created_at) VALUES ($1, $2, $3, $4, 'queued', 2, 'technical', $5, $6)",
            hid, body.source, body.conversation_id, customer_id,
            json.dumps(body.ai.model_dump(mode="json") if body.ai else {}), now)
        await conn.execute(
            "INSERT INTO ref_messages (handoff_id, seq, role, text) "
            "SELECT $1, s, r, t FROM unnest($2::int[], $3::text[], $4::text[]) AS m(s, r, t)",
            hid, list(range(len(body.transcript))), [m.role for m in body.transcript],
            [m.text for m in body.transcript])
        event_id = await conn.fetchval(
            "INSERT INTO ref_events (handoff_id, kind, data, at) VALUES ($1, 'created', $2, $3) RETURNING id",
            hid, json.dumps({"queue": "technical"}), now)
        await conn.execute(
            "INSERT INTO ref_outbox (event_id, destination, status, payload, created_at) "
            "SELECT $1, d, 'pending', $2, $3 FROM unnest($4::text[]) AS d",
            event_id, json.dumps({"kind": "created", "handoff_id": hid}), now, ["slack", "customer_sse"])
        position = await conn.fetchval(
            "SELECT count(*) FROM ref_handoffs WHERE status = 'queued' AND queue = 'technical' "
            "AND priority_rank <= 2 AND created_at <= $1", now)
    return {"id": hid, "status": "queued", "position": position}
