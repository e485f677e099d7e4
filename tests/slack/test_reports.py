"""The scheduled reports on Slack, end to end: the real tick, the outbox, the dispatcher and slack_sdk against the
fake Web API. The daily report and (on its weekday) the weekly trend are posted once to the configured channel,
however many ticks run; /handoff stats shows today's figures from the same queries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_blocks import validate_blocks
from tests.slack.harness import Baton, card_text, running_baton, write_config

pytestmark = pytest.mark.slow
OPS = "C0OPS000001"


@pytest.fixture
def report_baton(db_url: str, tmp_path: Path, fake: FakeSlack) -> Iterator[Baton]:
    fake.add_channel("support-ops", id=OPS)
    path = write_config(tmp_path)
    cfg = yaml.safe_load(path.read_text())
    cfg["analytics"] = {"timezone": "UTC", "reports": {
        "slack_channel": OPS, "daily_at": "00:00", "weekly_on": datetime.now(UTC).weekday(), "tick_seconds": 0.2}}
    path.write_text(yaml.safe_dump(cfg))
    with running_baton(db_url, tmp_path, fake, config=path) as b:
        yield b


def test_the_daily_report_and_the_weekly_trend_are_posted_once(report_baton: Baton, fake: FakeSlack) -> None:
    posts = report_baton.wait(lambda: len(fake.messages(OPS)) >= 2 and fake.messages(OPS), 20,
                              "the daily report and the weekly trend in the ops channel")
    time.sleep(1.0)  # five more ticks: nothing more is posted
    posts = fake.messages(OPS)
    texts = sorted(card_text(m) for m in posts)
    assert len(posts) == 2, texts
    assert texts[0].startswith("*Baton daily report") and "Handoffs: 0" in texts[0] and "Expected" in texts[0]
    assert texts[1].startswith("*Baton weekly trend") and "Day by day" in texts[1]
    for m in posts:
        assert validate_blocks(m["blocks"]) == []
