"""The demo page in real headless Chromium: chat, escalate, see an estimate, see the agent's message, rate.

The browser comes from ``tests/support/browser.py`` (Debian's ``chromium`` + ``chromium-driver`` and ``selenium``:
skipped with the reason when missing, except under ``CI=true``, where a missing browser fails).
Screenshots go to ``tests/artifacts/`` (gitignored); ``BATON_UPDATE_DOCS=1`` also copies the mid-wait one to ``docs/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import API_KEY
from tests.customer.conftest import customer_settings
from tests.support.browser import ARTIFACTS, DESKTOP, chromium, publish, wait_for
from tests.support.factories import intake_body
from tests.support.server import serve_in_thread

KEY = {"Authorization": f"Bearer {API_KEY}"}
VIEWPORT = DESKTOP


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium(VIEWPORT) as driver:
        yield driver


@pytest.fixture
def server(sqlite_url: str, config_path: str) -> Iterator[str]:
    from app import build, create_app
    from bot.web.customer import customer_integration

    rt = build(customer_settings(sqlite_url, config_path), integrations=[customer_integration], with_log=False)
    with serve_in_thread(create_app(rt)) as base:
        yield base


# Where each box of the page is, and which of the page's own boxes (its instructions) the open widget covers.
COVERED = """
const r = e => e.getBoundingClientRect();
const widget = [...document.querySelectorAll('.bw-panel, .bw-launch')].filter(e => !e.hidden).map(r);
const page = [...document.querySelectorAll('main h1, main p, main li, main pre')];
const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
return page.filter(e => widget.some(w => hit(r(e), w))).map(e => e.tagName + ': ' + e.textContent.slice(0, 40));
"""


def test_the_open_widget_leaves_the_instructions_readable(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    wait_for(lambda: browser.find_element(By.ID, "baton-panel").is_displayed(), what="the open chat")
    assert browser.execute_script("return [innerWidth, innerHeight]") == list(VIEWPORT)
    assert browser.execute_script(COVERED) == []


def test_demo_page_escalates_shows_estimate_and_agent_message(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with httpx.Client(base_url=server, timeout=20) as api:
        # Both agents are busy, so the customer really waits and the estimate is a real number.
        for agent in ("emma", "raj"):
            h = api.post("/v1/handoffs", json=intake_body(), headers=KEY).json()
            api.post(f"/v1/handoffs/{h['id']}/claim", json={"agent_id": agent}, headers=KEY).raise_for_status()
        browser.get(server + "/")
        box = wait_for(lambda: browser.find_element(By.ID, "baton-input"), what="the chat input")
        label = browser.find_element(By.CSS_SELECTOR, "label[for=baton-input]")
        assert label.get_attribute("textContent") == "Your message"  # labelled for screen readers
        box.send_keys("I was charged twice for my subscription this month", Keys.ENTER)
        wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".bw-ai")) >= 2, what="the AI's answer")
        human = browser.find_element(By.ID, "baton-human")
        human.send_keys(Keys.ENTER)  # keyboard works: the button is a real <button>
        status = browser.find_element(By.ID, "baton-status")
        text = wait_for(lambda: re.search(r"(in line|next).*(min|minute|longer)", status.text) and status.text,
                        what="a position and an estimate")
        wait_for(lambda: "connecting you" in browser.find_element(By.ID, "baton-log").text.lower(),
                 what="the escalation message")
        assert browser.execute_script(COVERED) == []  # mid-wait, with the curl lines filled in, too
        browser.save_screenshot(str(ARTIFACTS / "widget-waiting.png"))
        publish(ARTIFACTS / "widget-waiting.png")  # BATON_UPDATE_DOCS=1: refresh the README's screenshot
        assert "·" in text
        steps = wait_for(lambda: re.search(r"/v1/handoffs/(ho_\w+)/claim",
                                           browser.find_element(By.ID, "agent-steps").text), what="the handoff id")
        hid = steps.group(1)
        api.post(f"/v1/handoffs/{hid}/claim", json={"agent_id": "emma"}, headers=KEY).raise_for_status()
        api.post(f"/v1/handoffs/{hid}/replies", json={"agent_id": "emma", "text": "Found it: the duplicate "
                                                                                 "charge is refunded."},
                 headers=KEY).raise_for_status()
        agent_msg = wait_for(lambda: [e for e in browser.find_elements(By.CSS_SELECTOR, ".bw-agent")
                                      if "duplicate charge" in e.text], what="the agent's message")
        assert "Emma" in agent_msg[0].text
        wait_for(lambda: "Emma" in status.text, what="who is helping")
        assert "Emma" in browser.find_element(By.ID, "baton-log").text  # the introduction
        api.post(f"/v1/handoffs/{hid}/resolve", json={"agent_id": "emma"}, headers=KEY).raise_for_status()
        csat = wait_for(lambda: browser.find_element(By.ID, "baton-csat").is_displayed()
                        and browser.find_element(By.ID, "baton-csat"), what="the rating form")
        csat.find_element(By.CSS_SELECTOR, "input[value='5']").click()
        csat.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(lambda: "Thank you for your rating" in browser.find_element(By.ID, "baton-log").text,
                 what="the rating thanks")
        browser.save_screenshot(str(ARTIFACTS / "widget-resolved.png"))
        detail = api.get(f"/v1/handoffs/{hid}", headers=KEY).json()
        assert detail["source"] == "demo"
        assert [e["data"]["score"] for e in detail["timeline"] if e["kind"] == "csat_received"] == [5]
