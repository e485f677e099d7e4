"""Polling a condition from a test thread until it holds (end-to-end tests watch fakes and servers this way)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def eventually(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """The first truthy value of ``predicate()``, polled every 20 ms; AssertionError naming ``what`` at ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
