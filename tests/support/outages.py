"""Outages on a simulated clock: a :class:`Weather` schedule, and CRM fakes that answer by it.

``Weather`` says, for the current simulated time, how a vendor behaves: ``"500"``, ``"429"`` (with a
``Retry-After``), ``"timeout"`` (the call hangs past the client's timeout; the vendor still commits it — the
lost answer), or fine. :class:`FlakySalesforce` and :class:`FlakyHubSpot` are the real fakes with that one
entry point wrapped, so a test can hold a CRM down "for minutes" while the run takes seconds.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from tests.fakes.hubspot_api import FakeHubSpot
from tests.fakes.hubspot_contract import error_body
from tests.fakes.salesforce_api import FakeSalesforce
from tests.fakes.salesforce_contract import sf_error


@dataclass
class Weather:
    """``phases`` are ``(start_s, end_s, kind)`` in simulated seconds after ``t0``; outside them all is fine."""

    now: Callable[[], datetime]
    t0: datetime
    phases: list[tuple[float, float, str]]
    retry_after: int = 30
    log: list[tuple[float, str, str]] = field(default_factory=list)  # (sim s, kind or "ok", path)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def elapsed(self) -> float:
        return (self.now() - self.t0).total_seconds()

    @property
    def ends_at(self) -> float:
        return max(end for _, end, _ in self.phases)

    def current(self, path: str) -> str | None:
        t = self.elapsed()
        kind = next((k for start, end, k in self.phases if start <= t < end), None)
        with self._lock:
            self.log.append((t, kind or "ok", path))
        return kind

    def calls(self, kind: str) -> list[float]:
        with self._lock:
            return [t for t, k, _ in self.log if k == kind]


class FlakySalesforce(FakeSalesforce):
    """FakeSalesforce whose data API follows a :class:`Weather` (``weather=None``: always fine)."""

    weather: Weather | None = None
    hang_seconds = 0.05

    def _callback(self, request: Any) -> tuple[int, dict[str, str], str]:
        kind = self.weather.current(str(request.path_url)) if self.weather else None
        if kind == "500":
            return 500, {"Content-Type": "application/json"}, json.dumps([sf_error("UNKNOWN_EXCEPTION", "boom")])
        if kind == "429":
            assert self.weather is not None
            body = json.dumps([sf_error("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded")])
            return 429, {"Content-Type": "application/json", "Retry-After": str(self.weather.retry_after)}, body
        answer = super()._callback(request)
        if kind == "timeout":  # written in the org, but the answer never arrives
            time.sleep(self.hang_seconds)
            raise requests.exceptions.ReadTimeout("Read timed out (simulated)")
        return answer


class FlakyHubSpot(FakeHubSpot):
    """FakeHubSpot whose every request follows a :class:`Weather`; a timeout really outlasts the client's."""

    weather: Weather | None = None
    hang_seconds = 0.6

    def _handle(self, method: str, raw_path: str, headers: dict[str, str], raw: bytes
                ) -> tuple[int, dict[str, str], bytes]:
        kind = self.weather.current(raw_path.split("?")[0]) if self.weather else None
        json_type = {"Content-Type": "application/json;charset=utf-8"}
        if kind == "500":
            return 500, json_type, json.dumps(error_body("Internal error", "INTERNAL_ERROR")).encode()
        if kind == "429":
            assert self.weather is not None
            body = error_body("You have reached your secondly limit.", "RATE_LIMITS",
                              extra={"errorType": "RATE_LIMIT", "policyName": "SECONDLY"})
            return 429, {**json_type, "Retry-After": str(self.weather.retry_after)}, json.dumps(body).encode()
        if kind == "timeout":
            time.sleep(self.hang_seconds)  # the client gave up meanwhile; the portal still does the work
        return super()._handle(method, raw_path, headers, raw)
