"""A small keep-alive HTTP/1.1 load generator on raw asyncio streams.

httpx costs more CPU per request than the server under test, which on a 2-core machine would measure the
client. This speaks just enough HTTP/1.1 (Content-Length bodies, keep-alive) to stay out of the way.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0
    server_cpu_ms: float = float("nan")
    db_cpu_ms: float = float("nan")

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))] * 1000 if xs else float("nan")

    def summary(self) -> str:
        return (f"{self.rate:8.0f} req/s  p50 {self.pct(50):6.1f} ms  p99 {self.pct(99):6.1f} ms  "
                f"mean {statistics.fmean(self.latencies) * 1000:6.1f} ms  statuses {self.statuses}")


async def _one_connection(host: str, port: int, make_request: Callable[[int], bytes], counter: list[int],
                          total: int, result: Result, schedule: Callable[[int], float] | None = None) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            i = counter[0]
            if i >= total:
                return
            counter[0] += 1
            req = make_request(i)
            t0 = time.perf_counter()
            if schedule is not None:
                # Open loop: request i is due at its scheduled time whatever came before, and its latency counts
                # from then (a late start is the server's queueing delay, not the client's — no coordinated
                # omission).
                due = schedule(i)
                if due > t0:
                    await asyncio.sleep(due - t0)
                t0 = due
            writer.write(req)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v.strip())
            if length:
                await reader.readexactly(length)
            result.latencies.append(time.perf_counter() - t0)
            code = int(status_line.split()[1])
            result.statuses[code] = result.statuses.get(code, 0) + 1
    finally:
        writer.close()


def post_request(path: str, host: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
            f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(head).encode() + body


async def run(host: str, port: int, make_request: Callable[[int], bytes], *, total: int,
              concurrency: int, rate: float | None = None) -> Result:
    """``total`` requests over ``concurrency`` keep-alive connections: as fast as answers come (closed loop), or
    at ``rate`` requests per second (open loop; ``concurrency`` must exceed what is in flight at that rate)."""
    result = Result()
    counter = [0]
    t0 = time.perf_counter()
    schedule = (lambda i: t0 + 0.05 + i / rate) if rate else None
    await asyncio.gather(*(_one_connection(host, port, make_request, counter, total, result, schedule)
                           for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - t0
    return result


class Connection:
    """One keep-alive HTTP/1.1 connection that reads whole answers, for clients that need the status and the body
    (agents acting on handoffs). Reopened after ``idle_seconds`` without use (the server closes idle ones); an
    answer that never started because the server had just closed the connection is retried once on a new one."""

    def __init__(self, host: str, port: int, idle_seconds: float = 3.0) -> None:
        self.host, self.port, self.idle_seconds = host, port, idle_seconds
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = 0.0

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                      content_type: str = "application/json") -> tuple[int, bytes]:
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                *(f"{k}: {v}" for k, v in (headers or {}).items())]
        if body or method in ("POST", "PUT", "PATCH"):
            head += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        raw = "\r\n".join([*head, "", ""]).encode() + body
        for attempt in (1, 2):
            if self._writer is None or time.monotonic() - self._used > self.idle_seconds:
                await self.close()
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            assert self._reader is not None and self._writer is not None
            try:
                self._writer.write(raw)
                status_line = await self._reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed before answering")
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
                continue
            length, chunked, close = 0, False, False
            while True:
                line = await self._reader.readline()
                if line in (b"\r\n", b""):
                    break
                k, _, v = line.partition(b":")
                name, value = k.strip().lower(), v.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding" and b"chunked" in value:
                    chunked = True
                elif name == b"connection" and value == b"close":
                    close = True
            if chunked:
                parts = []
                while (size := int((await self._reader.readline()).strip() or b"0", 16)) > 0:
                    parts.append(await self._reader.readexactly(size))
                    await self._reader.readline()
                await self._reader.readline()
                data = b"".join(parts)
            else:
                data = await self._reader.readexactly(length) if length else b""
            self._used = time.monotonic()
            if close:
                await self.close()
            return int(status_line.split()[1]), data
        raise AssertionError("unreachable")
