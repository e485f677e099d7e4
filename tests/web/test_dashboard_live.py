"""The real dashboard in headless Chromium: Baton served by uvicorn, a week of handoffs made through its API,
a support lead signing in with an API key on the sign-in page, the charts drawn from the real figures.

The screenshot is ``tests/artifacts/dashboard-live.png``; ``BATON_UPDATE_DOCS=1`` copies it to
``docs/dashboard.png`` (the README's picture).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import API_KEY, make_settings
from tests.support.browser import DESKTOP, chromium, console_errors, publish, wait_for
from tests.support.clock import FakeClock
from tests.support.dashboard_check import check_dashboard
from tests.support.factories import intake_body
from tests.support.server import serve_in_thread

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
AGENTS = [("emma", "Emma Stone"), ("raj", "Raj Patel"), ("lee", "Lee Wong"), ("ana", "Ana Silva")]
REASONS = [("low_confidence", 0.35), ("customer_request", 0.8), ("frustration", 0.55), ("refund_request", 0.7),
           ("security", 0.6)]


def _seed_week(base: str, clock: FakeClock) -> dict[str, int]:
    """Six days of handoffs (more in office hours), claimed, some resolved and rated, through the HTTP API."""
    rng = random.Random(7)
    made = {"handoffs": 0, "resolved": 0}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30) as c:
        for day in range(6, 0, -1):  # within the default period (the 7 days up to now)
            clock.t = NOW
            for hour in range(8, 23):  # the widget reports how many AI conversations each hour had
                at = NOW.replace(hour=hour) - timedelta(days=day)
                count = {"hour": at.isoformat(), "conversations": rng.randint(8, 30)}
                r = c.post("/v1/stats/conversations", json=count)
                assert r.status_code == 200, r.text
            for _ in range(rng.randint(5, 9)):
                start = NOW.replace(hour=0) - timedelta(days=day) + timedelta(hours=rng.choice(
                    [8, 9, 9, 10, 10, 11, 13, 14, 14, 15, 16, 19, 22]), minutes=rng.randint(0, 59))
                clock.t = start
                reason, confidence = rng.choice(REASONS)
                body = intake_body(trigger={"reason": reason},
                                   ai={"confidence": round(min(0.99, max(0.01, rng.gauss(confidence, 0.2))), 2)},
                                   customer={"email": f"c{made['handoffs']}@example.test"})
                r = c.post("/v1/handoffs", json=body)
                assert r.status_code == 201, r.text
                hid, token = r.json()["id"], r.json()["customer_token"]
                made["handoffs"] += 1
                if rng.random() < 0.15:
                    continue  # still waiting
                agent = rng.choice(AGENTS)[0]
                clock.t = start + timedelta(seconds=rng.randint(20, 400))
                assert c.post(f"/v1/handoffs/{hid}/claim", json={"agent_id": agent}).status_code == 200
                if rng.random() < 0.2:
                    continue  # still being worked on
                clock.t += timedelta(seconds=rng.randint(120, 3000))
                r = c.post(f"/v1/handoffs/{hid}/resolve", json={"agent_id": agent, "kb_gap": rng.random() < 0.3})
                assert r.status_code == 200, r.text
                made["resolved"] += 1
                if rng.random() < 0.7:
                    score = rng.choice([5, 5, 4, 4, 4, 3, 2, 1])
                    r = c.post(f"/v1/handoffs/{hid}/csat", json={"score": score},
                               headers={"Authorization": f"Bearer {token}"})
                    assert r.status_code == 201, r.text
        clock.t = NOW
    return made


@pytest.fixture
def live(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, int]]]:
    from app import build, create_app
    from bot.web.customer import customer_integration

    cfg = tmp_path / "baton.yaml"
    cfg.write_text(yaml.safe_dump({
        "agents": [{"id": a, "display_name": n} for a, n in AGENTS], "outbox": {"log_destination": False},
        "analytics": {"timezone": "UTC"}}))
    clock = FakeClock(NOW)
    rt = build(make_settings(sqlite_url, BATON_CONFIG=str(cfg)), with_log=False,
               integrations=[customer_integration], clock=clock)
    with serve_in_thread(create_app(rt, run_dispatcher=False)) as base:
        yield base, _seed_week(base, clock)


def test_a_lead_signs_in_and_sees_the_weeks_charts(live: tuple[str, dict[str, int]]) -> None:
    base, made = live
    with httpx.Client(base_url=base) as anonymous:  # never open: no key, no data
        assert anonymous.get("/dashboard/data.json").status_code == 401
        page = anonymous.get("/dashboard/")
        assert page.status_code == 200 and 'action="/dashboard/login"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        refused = anonymous.post("/dashboard/login", content="key=bk_wrong",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert refused.status_code == 401 and "unknown or revoked" in refused.text
    with chromium(DESKTOP) as driver:
        driver.get(base + "/dashboard/")
        driver.find_element("id", "key").send_keys(API_KEY)
        driver.find_element("css selector", "form button[type=submit]").click()
        wait_for(lambda: driver.execute_script("return document.body.dataset.rendered") == "true",
                 what="the dashboard after signing in")
        cookies = {c["name"]: c for c in driver.get_cookies()}
        assert cookies["baton_session"]["httpOnly"] and API_KEY not in cookies["baton_session"]["value"]
        found = check_dashboard(driver, base + "/dashboard/", "dashboard-live")
        publish(found["screenshot"], "dashboard.png")
        assert found["kpis"]["handoffs"] == str(made["handoffs"])
        assert found["kpis"]["escalation_rate"].endswith("%")  # handoffs / the widget's conversation counts
        assert found["rows"]["agents-table"] == len(AGENTS)
        assert set(found["charts"]) >= {"chart-hour", "chart-weekday", "chart-reason", "chart-trend", "chart-sla"}
        assert console_errors(driver) == []
