"""The support dashboard's static page in real headless Chromium, on sample data, empty data and a refused fetch.

A tiny app stands in for Baton: ``bot/web/static`` at ``/static`` (as the real app is to mount it), the page at
``/dashboard/`` and ``tests/web/dashboard_sample.json`` at ``/dashboard/data.json``, every answer under the strict
Content-Security-Policy the real route is to send (a violation is a console error, which fails the check).
Screenshots: ``tests/artifacts/dashboard.png`` and ``dashboard-phone.png``; ``BATON_UPDATE_DOCS=1`` copies the
desktop one to ``docs/dashboard.png``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import DESKTOP, PHONE, chromium, console_errors, publish, set_viewport, wait_for
from tests.support.dashboard_check import check_dashboard
from tests.support.server import serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "bot" / "web" / "static"
SAMPLE = Path(__file__).with_name("dashboard_sample.json")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


def empty_data() -> dict[str, Any]:
    """No hand-off yet: zero counts, null rates, zero rows where the shape has fixed rows, empty lists elsewhere."""
    data = sample()
    counts = {k for k, v in data["metrics"].items() if isinstance(v, int)}

    def nothing() -> dict[str, Any]:
        return {k: (0 if k in counts else None) for k in data["metrics"]}

    return {**copy.deepcopy({k: data[k] for k in ("generated_at", "timezone", "period", "previous")}),
            "metrics": nothing(), "previous_metrics": nothing(), "change": dict.fromkeys(data["metrics"]),
            "by_hour": [{"key": str(h), **nothing()} for h in range(24)],
            "by_weekday": [{"key": d, **nothing()} for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")],
            "by_reason": [], "trend": [],
            "sla": [{"clock": "first_response", "met": 0, "breached": 0, "compliance": None},
                    {"clock": "resolution", "met": 0, "breached": 0, "compliance": None}],
            "agents": [], "queue": {"waiting": 0, "oldest_wait_seconds": None, "by_queue": []},
            "ai_quality": [], "confidence": []}


def dashboard_app(data: dict[str, Any] | None, status: int = 200) -> Any:
    from fastapi import FastAPI, Request, Response
    from fastapi.responses import FileResponse, JSONResponse
    from fastapi.staticfiles import StaticFiles

    app = FastAPI()

    @app.middleware("http")
    async def csp(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        return response

    @app.get("/dashboard/")
    async def page() -> FileResponse:
        return FileResponse(STATIC / "dashboard" / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/dashboard/data.json")
    async def data_json() -> Response:
        if status != 200:
            return JSONResponse({"detail": "Not authenticated"}, status_code=status)
        return JSONResponse(data, headers={"Cache-Control": "no-store"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


@contextmanager
def serving(data: dict[str, Any] | None, status: int = 200) -> Iterator[str]:
    with serve_in_thread(dashboard_app(data, status)) as base:
        yield base + "/dashboard/"


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium(DESKTOP) as driver:
        yield driver


def test_dashboard_draws_the_sample_on_a_laptop_and_a_phone(browser: Any) -> None:
    with serving(sample()) as url:
        found = check_dashboard(browser, url, "dashboard")
        publish(found["screenshot"])  # BATON_UPDATE_DOCS=1: docs/dashboard.png

        assert set(found["charts"]) == {"chart-hour", "chart-weekday", "chart-reason", "chart-trend", "chart-sla",
                                        "chart-confidence"}
        points = {cid: c["points"] for cid, c in found["charts"].items()}
        assert points["chart-hour"] == 24 and points["chart-weekday"] == 7 and points["chart-reason"] == 7
        assert points["chart-trend"] == 7 * 3 and points["chart-sla"] == 2 * 2 and points["chart-confidence"] == 5 * 2
        assert found["columns"] == 2  # a grid of cards

        kpis, changes, good = found["kpis"], found["changes"], found["change_class"]
        assert kpis["handoffs"] == "642"
        assert kpis["first_response_p50_s"] == "1m 58s"  # 118 s
        assert kpis["sla_compliance"] == "93.0%"
        assert kpis["csat_mean"] == "4.41" and kpis["cost_per_resolution"] == "6.85"
        assert changes["handoffs"].startswith("▲ +12%") and good["handoffs"] == ""  # volume: neither good nor bad
        assert changes["first_response_p50_s"].startswith("▼ \u22129.9%")
        assert good["first_response_p50_s"] == "good"
        assert changes["escalation_rate"].startswith("▲ +31%") and good["escalation_rate"] == "bad"
        assert changes["csat_mean"].startswith("▲ +3.0%") and good["csat_mean"] == "good"
        assert found["rows"] == {"agents-table": 6, "queue-table": 4, "ai-table": 7}
        assert found["header"]["timezone"] == "UTC"
        assert found["header"]["period"] == "26 Nov 2026, 00:00 → 3 Dec 2026, 00:00"

        # Text from the data is text: the agent called "Noah O'Brien <new>" is shown as such, no <new> element.
        assert browser.execute_script("return document.querySelector('new')") is None
        assert "Noah O'Brien <new>" in browser.execute_script(
            "return document.getElementById('agents-table').textContent")
        assert browser.execute_script("return document.getElementById('queue-oldest').textContent") == "10m 40s"

        set_viewport(browser, *PHONE, mobile=True)
        phone = check_dashboard(browser, url, "dashboard-phone")
        assert phone["columns"] == 1  # one column under 700 px
        assert phone["kpis"] == kpis


def test_dashboard_with_no_data_yet_says_so_without_errors(browser: Any) -> None:
    with serving(empty_data()) as url:
        found = check_dashboard(browser, url, "dashboard-empty", expect_data=False)
    assert set(found["kpis"].values()) <= {"0", "—"}
    assert set(found["changes"].values()) == {"—"}
    assert found["rows"] == {"agents-table": 0, "queue-table": 0, "ai-table": 0}


def test_a_refresh_redraws_with_the_new_numbers(browser: Any) -> None:
    data = sample()
    with serving(data) as url:
        first = check_dashboard(browser, url, "dashboard-before-refresh")
        data["metrics"]["handoffs"] = 700  # the app serves the same dict: the next fetch sees the new numbers
        data["by_reason"] = data["by_reason"][:3]
        browser.execute_script("document.getElementById('refresh').click()")
        wait_for(lambda: browser.execute_script(
            "return document.querySelector('[data-key=handoffs] .kpi-value').textContent") == "700",
            what="the refreshed numbers")
        assert browser.execute_script("return document.getElementById('chart-reason').dataset.points") == "3"
        assert browser.execute_script("return document.body.dataset.rendered") == "true"
        assert console_errors(browser) == []  # the old charts were let go before new ones took their canvases
    assert first["kpis"]["handoffs"] == "642"


def test_a_refused_data_fetch_is_shown_not_thrown(browser: Any) -> None:
    with serving(None, status=401) as url:
        browser.get(url)
        wait_for(lambda: browser.execute_script("return document.body.dataset.rendered") == "error",
                 what="the error state")
        status = browser.execute_script("return document.getElementById('status')")
        assert status.is_displayed() and "HTTP 401" in status.text and "sign in" in status.text
        # The browser's own note about the 401 response is the only console error: the page threw nothing.
        assert all("401" in e for e in console_errors(browser))
