"""Property-based proof over the published OpenAPI document: no 5xx, and every answer matches what is documented.

Schemathesis generates inputs from ``/openapi.json`` — schema-valid ones and deliberately invalid ones — for every
``/v1`` operation, including the customer routes (``status``, ``messages``, ``csat``, ``callback``) called with a
real customer token of a handoff created first. The app runs under a real uvicorn on 127.0.0.1. Every answer must
be non-5xx, have a documented status code and content type, and match its documented schema.

Bounded for CI: ``BATON_FUZZ_EXAMPLES`` examples per operation and mode (default 12), derandomized so a failure
reproduces. Raise it locally for a deeper search; the test prints how many inputs it tried per backend.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import API_KEY, make_settings
from tests.support.factories import intake_body
from tests.support.server import serve_in_thread

pytestmark = pytest.mark.slow
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("BATON_FUZZ_EXAMPLES", "12"))
CUSTOMER_ROUTE = ("/status", "/messages", "/csat", "/callback")
# On PostgreSQL (lengths and NUL are enforced by the database): the operations that write customer-given text.
PG_OPERATIONS = {("POST", "/v1/handoffs"), ("POST", "/v1/evaluate"), ("PUT", "/v1/agents/{agent_id}"),
                 ("POST", "/v1/handoffs/{handoff_id}/notes"), ("POST", "/v1/handoffs/{handoff_id}/messages")}


@dataclass
class Tally:
    inputs: int = 0
    server_errors: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    operations: set[str] = field(default_factory=set)


@dataclass
class Live:
    base_url: str
    handoff_id: str
    customer_token: str


@pytest.fixture
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    """The whole app (API + customer routes) under uvicorn, with one handoff to aim the customer routes at."""
    from app import build, create_app
    from bot.web.customer import customer_integration
    from handoff.store.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'baton.db'}"
        upgrade(url)
    else:
        url = request.getfixturevalue("pg_url")
    rt = build(make_settings(url), integrations=[customer_integration], with_log=False)
    with serve_in_thread(create_app(rt, run_dispatcher=False)) as base_url:
        r = httpx.post(f"{base_url}/v1/handoffs", json=intake_body(), headers={"Authorization": f"Bearer {API_KEY}"})
        assert r.status_code == 201, r.text
        yield Live(base_url, r.json()["id"], r.json()["customer_token"])


def _fuzz(live: Live, wanted: set[tuple[str, str]] | None) -> Tally:
    schema = schemathesis.openapi.from_url(f"{live.base_url}/openapi.json")
    tally = Tally()
    for result in schema.get_all_operations():
        op = result.ok()
        key = (op.method.upper(), op.path)
        if not op.path.startswith("/v1") or op.path.endswith("/events"):  # SSE streams until the client leaves
            continue
        if wanted is not None and key not in wanted:
            continue
        customer = op.path.endswith(CUSTOMER_ROUTE)
        token = live.customer_token if customer else API_KEY
        headers = {"Authorization": f"Bearer {token}"}
        fixed = {"handoff_id": live.handoff_id} if customer else None
        tally.operations.add(f"{key[0]} {key[1]}")
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = op.as_strategy(generation_mode=mode, path_parameters=fixed)

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case: Any) -> None:
                response = case.call(base_url=live.base_url, headers=headers, timeout=30)
                tally.inputs += 1
                tally.by_status[response.status_code] = tally.by_status.get(response.status_code, 0) + 1
                if response.status_code >= 500:
                    tally.server_errors += 1
                case.validate_response(response, checks=CHECKS, headers=headers)

            try:
                run()
            except Unsatisfiable:
                # Nothing to break in, e.g. GET /v1/agents has no parameter and no body: no negative input exists.
                if mode is not GenerationMode.NEGATIVE:
                    raise
    return tally


def _report(backend: str, tally: Tally) -> None:
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(tally.by_status.items()))
    print(f"\nschemathesis on {backend}: {len(tally.operations)} operations, {tally.inputs} inputs, "
          f"{tally.server_errors} answers 5xx ({statuses})")


@pytest.mark.parametrize("live", ["sqlite"], indirect=True)
def test_every_v1_operation_on_sqlite(live: Live) -> None:
    tally = _fuzz(live, None)
    _report("SQLite", tally)
    assert tally.server_errors == 0
    assert len(tally.operations) >= 20 and {f"GET /v1/handoffs/{{handoff_id}}{r}" for r in ("/status",)} \
        <= tally.operations
    assert {"POST /v1/handoffs/{handoff_id}/messages", "POST /v1/handoffs/{handoff_id}/csat",
            "POST /v1/handoffs/{handoff_id}/callback"} <= tally.operations
    assert any(200 <= s < 300 for s in tally.by_status) and 422 in tally.by_status


@pytest.mark.postgres
@pytest.mark.parametrize("live", ["postgresql"], indirect=True)
def test_the_writing_operations_on_postgresql(live: Live) -> None:
    tally = _fuzz(live, PG_OPERATIONS)
    _report("PostgreSQL", tally)
    assert tally.server_errors == 0 and len(tally.operations) == len(PG_OPERATIONS)
