"""A small, strict SSE reader over httpx for tests (what a browser's EventSource does, minus reconnects)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class SseEvent:
    event: str
    data: dict[str, Any]
    id: int | None


def events(response: httpx.Response) -> Iterator[SseEvent]:
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if "data" in fields:
                yield SseEvent(fields.get("event", "message"), json.loads(fields["data"]),
                               int(fields["id"]) if "id" in fields else None)
            fields = {}
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value


def read_until(stream: Iterator[SseEvent], done: Callable[[list[SseEvent]], bool],
               timeout: float = 15) -> list[SseEvent]:
    seen: list[SseEvent] = []
    deadline = time.monotonic() + timeout
    for ev in stream:
        seen.append(ev)
        if done(seen):
            return seen
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"stream ended or timed out; got {[(e.event, e.id) for e in seen]}")
