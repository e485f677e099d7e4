"""Proof that the lifecycle holds under any sequence of actions (Hypothesis stateful), on SQLite and PostgreSQL.

Bounded for CI: the SQLite run tries ``SQLITE_EXAMPLES`` sequences of up to ``STEPS`` actions over up to four
handoffs; PostgreSQL a smaller run (it also proves the claim race on a real multi-connection database).
Figures (actions tried, refused by code, applied) go to ``tests/artifacts/lifecycle_machine.json``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.conftest import make_settings
from tests.reliability.machine import TALLY, destinations, machine_for
from tests.support.pg import pg_truncate_all

SQLITE_EXAMPLES, PG_EXAMPLES, STEPS = 30, 8, 30
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, stateful_step_count=STEPS, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


async def _runtime(url: str) -> Any:
    from app import build, sync_agents

    # The model is of the lifecycle (state, version, events, outbox): SLA clocks and their bumps are checked by
    # tests/store/test_sla_engine.py, so they are switched off here rather than modelled twice.
    config = Path(tempfile.mkdtemp()) / "baton.yaml"
    config.write_text("sla: {enabled: false}\n")
    rt = build(make_settings(url, BATON_CONFIG=str(config)), extra_destinations=destinations(), with_log=False,
               integrations=[])
    await sync_agents(rt)
    return rt


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for every example (migrating each time would cost more than the run)."""
    from handoff.store.migrate import upgrade

    path = tmp_path_factory.mktemp("lifecycle") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def figures() -> Iterator[dict[str, Any]]:
    TALLY.reset()
    out: dict[str, Any] = {}
    started = time.perf_counter()
    yield out
    out.update(actions=TALLY.steps, claim_races=TALLY.races, refused=dict(TALLY.refused),
               applied=dict(TALLY.applied), seconds=round(time.perf_counter() - started, 1))
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "lifecycle_machine.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**previous, out["db"]: out}, indent=2, sort_keys=True))
    print(f"\nlifecycle machine on {out['db']}: {json.dumps(out, sort_keys=True)}")


def test_lifecycle_machine_sqlite(sqlite_template: Path, tmp_path: Path, figures: dict[str, Any]) -> None:
    async def fresh() -> Any:
        path = tmp_path / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(sqlite_template, path)
        return await _runtime(f"sqlite:///{path}")

    figures.update(db="sqlite", examples=SQLITE_EXAMPLES, max_steps=STEPS)
    run_state_machine_as_test(machine_for(fresh), settings=_settings(SQLITE_EXAMPLES))
    assert TALLY.steps > SQLITE_EXAMPLES and TALLY.refused and TALLY.applied  # the run exercised both sides


@pytest.mark.postgres
def test_lifecycle_machine_postgresql(pg_database: str, figures: dict[str, Any]) -> None:
    async def fresh() -> Any:
        return await _runtime(pg_database)

    def truncate_then_fresh() -> Any:
        pg_truncate_all(pg_database)
        return fresh()

    figures.update(db="postgresql", examples=PG_EXAMPLES, max_steps=STEPS)
    run_state_machine_as_test(machine_for(truncate_then_fresh), settings=_settings(PG_EXAMPLES))
    assert TALLY.steps > PG_EXAMPLES and TALLY.refused and TALLY.applied
