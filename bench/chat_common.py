"""What the chat-surface benchmarks (``bench/slack.py``, ``bench/teams.py``) share: config, scratch databases,
percentiles and the run header. They print figures and assert nothing."""

from __future__ import annotations

import os
import platform
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import yaml

CREATED_PG: list[str] = []


def config(tmp: Path, threshold: int, surface: str, queues: Mapping[str, tuple[str, str]]) -> Path:
    """A BATON_CONFIG mapping each queue to its channel on ``surface``, with the given burst threshold."""
    path = tmp / f"bench-{surface}-{threshold}.yaml"
    path.write_text(yaml.safe_dump({
        "queues": {q: {"channels": {surface: ch}} for q, (_, ch) in queues.items()},
        "outbox": {"log_destination": False},
        "chat": {"burst_threshold": threshold},
    }))
    return path


def database(kind: str, tmp: Path) -> str:
    """A fresh migrated database: a scratch PostgreSQL database (dropped by :func:`scratch_databases`) or SQLite."""
    from handoff.store.migrate import upgrade

    if kind == "postgresql":
        from tests.support.pg import pg_create_database

        CREATED_PG.append(f"baton_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}")
        url = pg_create_database(CREATED_PG[-1])
    else:
        url = f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:6]}.db'}"
    upgrade(url)
    return url


@contextmanager
def scratch_databases(db: str) -> Iterator[None]:
    """Print the run header; drop every scratch PostgreSQL database afterwards."""
    print(f"$ {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"python {platform.python_version()}, {platform.system()} {platform.machine()}, "
          f"os.cpu_count()={os.cpu_count()}, database {db}")
    try:
        yield
    finally:
        from tests.support.pg import pg_drop_database

        for name in CREATED_PG:
            pg_drop_database(name)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]
