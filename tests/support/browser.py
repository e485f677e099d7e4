"""Real headless Chromium for the browser tests: Debian's ``chromium`` + ``chromium-driver`` through ``selenium``.

``python3 dev.py test`` installs them (as root). When they are missing a test using :func:`chromium` is skipped
with the reason — except under ``CI=true``, where a missing browser fails. Screenshots go to ``ARTIFACTS``
(gitignored); ``BATON_UPDATE_DOCS=1`` means "also copy the chosen ones to docs/" (:func:`publish`).
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
DOCS = ROOT / "docs"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
DESKTOP = (1280, 900)
PHONE = (390, 844)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]


def missing() -> str | None:
    """Why the browser cannot run here, or None when it can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (python3 dev.py test installs it)"
    for path, pkg in ((CHROMIUM, "chromium"), (DRIVER, "chromium-driver")):
        if not os.path.exists(path):
            return f"{path} not found: install Debian's {pkg} (python3 dev.py test does it when run as root)"
    return None


def skip_or_fail_without_browser() -> None:
    reason = missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the browser test cannot run: {reason}")
        pytest.skip(reason)


def set_viewport(driver: Any, width: int, height: int, *, mobile: bool = False) -> None:
    """Make the page itself ``width`` x ``height`` CSS pixels (the window size would include the browser's bars)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                                  "deviceScaleFactor": 1, "mobile": mobile})


@contextmanager
def chromium(viewport: tuple[int, int] = DESKTOP) -> Iterator[Any]:
    """A fresh headless Chromium (own profile, console log kept) with the page at ``viewport``; skips without one."""
    skip_or_fail_without_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="baton-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--window-size={viewport[0]},{viewport[1]}", f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # driver.get_log("browser"): the JS console
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=opts)
    try:
        set_viewport(driver, *viewport)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(check: Any, timeout: float = 20, what: str = "") -> Any:
    """Poll ``check()`` until it returns something truthy (exceptions count as "not yet"); return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def console_errors(driver: Any) -> list[str]:
    """The SEVERE console entries since the last call (reading the log empties it)."""
    return [f"{e.get('source', '')}: {e.get('message', '')}" for e in driver.get_log("browser")
            if e.get("level") == "SEVERE"]


def full_page_screenshot(driver: Any, path: Path) -> Path:
    """The whole page, not only the viewport, as a PNG at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def publish(artifact: Path, name: str | None = None) -> None:
    """With ``BATON_UPDATE_DOCS=1``, copy a screenshot into docs/ (refresh the README's pictures on purpose)."""
    if os.environ.get("BATON_UPDATE_DOCS"):
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(artifact, DOCS / (name or artifact.name))
