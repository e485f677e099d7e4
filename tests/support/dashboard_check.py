"""Open the support dashboard in a real browser and check what any dashboard, on any data, must get right.

``check_dashboard(driver, url, artifact_name)`` is shared: ``tests/web/test_dashboard_browser.py`` runs it against
the static page with sample data; a test of the real app can run it against ``/dashboard/`` served by Baton.
The checks that depend on the numbers (a KPI reads "1m 58s") stay in the callers: the returned dict has what
was found.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.support.browser import ARTIFACTS, console_errors, full_page_screenshot, wait_for

# Everything the page shows, read in one go (canvas pixels included: a drawn chart has non-transparent pixels).
READ_PAGE = """
const text = e => e ? e.textContent.trim() : null;
const charts = {};
for (const c of document.querySelectorAll('canvas[id^="chart-"]')) {
  let inked = 0;
  if (!c.hidden && c.width > 0 && c.height > 0) {
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < px.length; i += 4) { if (px[i] !== 0) { inked++; } }
  }
  const empty = c.parentNode.querySelector('.empty');
  charts[c.id] = {points: c.dataset.points === undefined ? null : Number(c.dataset.points), inked,
                  width: c.width, height: c.height, shown: !c.hidden && c.offsetParent !== null,
                  empty_shown: !!empty && !empty.hidden && empty.offsetParent !== null};
}
const kpis = {}, changes = {}, change_class = {};
for (const t of document.querySelectorAll('#kpis .kpi')) {
  kpis[t.dataset.key] = text(t.querySelector('.kpi-value'));
  const ch = t.querySelector('.kpi-change');
  changes[t.dataset.key] = text(ch);
  change_class[t.dataset.key] = ch.classList.contains('good') ? 'good' : ch.classList.contains('bad') ? 'bad' : '';
}
const rows = {};
for (const id of ['agents-table', 'queue-table', 'ai-table']) {
  rows[id] = document.querySelectorAll('#' + id + ' tbody tr').length;
}
const lefts = new Set([...document.querySelectorAll('.grid > .card')]
  .map(e => Math.round(e.getBoundingClientRect().left)));
const resources = performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
  .map(e => e.name);
return {charts, kpis, changes, change_class, rows, resources, columns: lefts.size,
        overflow_x: document.documentElement.scrollWidth - window.innerWidth,
        inline_styles: document.querySelectorAll('[style]:not(canvas)').length,
        inline_scripts: [...document.scripts].filter(s => !s.src).length,
        header: {period: text(document.getElementById('period')), timezone: text(document.getElementById('timezone')),
                 generated: text(document.getElementById('generated'))},
        status: text(document.getElementById('status')), rendered: document.body.dataset.rendered};
"""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def check_dashboard(driver: Any, url: str, artifact_name: str, *, expect_data: bool = True) -> dict[str, Any]:
    """Load the dashboard at ``url`` (e.g. ``base + "/dashboard/"``) and check it; return what was found.

    Always: it renders (``body[data-rendered="true"]``), logs no console error, asks nothing of another origin,
    runs no inline script, needs no inline style, and is no wider than the window. With ``expect_data`` every
    chart drew points and ink; without, every chart says "No data yet" instead. Saves a full-page screenshot as
    ``tests/artifacts/<artifact_name>.png`` (its path is under ``"screenshot"``).
    """
    console_errors(driver)  # forget whatever an earlier page logged
    driver.get(url)
    state = wait_for(lambda: driver.execute_script("return document.body.dataset.rendered") in ("true", "error")
                     and driver.execute_script("return document.body.dataset.rendered"), what="the dashboard render")
    found: dict[str, Any] = driver.execute_script(READ_PAGE)
    assert state == "true", f"the dashboard did not render: {found['status']!r}"
    errors = console_errors(driver)
    assert errors == [], "console errors:\n" + "\n".join(errors)

    origin = _origin(url)
    off_origin = [name for name in found["resources"] if not name.startswith(origin + "/")]
    assert off_origin == [], f"requests that left {origin}: {off_origin}"
    for needed in ("/static/vendor/chart.umd.min.js", "/static/dashboard/dashboard.js", "data.json"):
        assert any(needed in name for name in found["resources"]), f"{needed} was not loaded: {found['resources']}"
    assert found["inline_scripts"] == 0
    assert found["inline_styles"] == 0, "style attributes need 'unsafe-inline'"
    assert found["overflow_x"] <= 0, f"the page is {found['overflow_x']} px wider than the window"

    charts = found["charts"]
    assert charts, "no chart canvas on the page"
    for cid, chart in charts.items():
        if expect_data:
            assert chart["points"] and chart["points"] > 0, f"{cid} drew no points: {chart}"
            assert chart["shown"] and chart["inked"] > 0, f"{cid} is blank: {chart}"
        else:
            assert chart["points"] == 0, f"{cid} claims points on empty data: {chart}"
            assert chart["empty_shown"], f"{cid} does not say 'No data yet': {chart}"

    found["screenshot"] = full_page_screenshot(driver, ARTIFACTS / f"{artifact_name}.png")
    return found
