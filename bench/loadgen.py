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
                          total: int, result: Result) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            i = counter[0]
            if i >= total:
                return
            counter[0] += 1
            req = make_request(i)
            t0 = time.perf_counter()
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
              concurrency: int) -> Result:
    result = Result()
    counter = [0]
    t0 = time.perf_counter()
    await asyncio.gather(*(_one_connection(host, port, make_request, counter, total, result)
                           for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - t0
    return result
