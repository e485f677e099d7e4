"""Which SQL statements an engine runs: for tests that bound a code path's round trips."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def statements(engine: Any, *, touching: str | None = None) -> Iterator[list[str]]:
    """Collect the first keyword (``SELECT``, ``INSERT``, ``WITH``…) of every statement ``engine`` (an
    ``AsyncEngine``) sends inside the block — only those naming ``touching``, if given."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if touching is None or touching in statement:
            seen.append(statement.split(None, 1)[0].upper())

    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(sync, "before_cursor_execute", record)
