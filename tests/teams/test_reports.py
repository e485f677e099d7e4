"""The scheduled reports on Teams, end to end: the real tick, the outbox, the dispatcher and the Agents SDK
against the fake Bot Connector. The daily report and the weekly trend arrive once in the configured channel as
valid Adaptive Cards, however many ticks run."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from tests.fakes.bf_auth import FakeBotFrameworkAuth
from tests.fakes.botconnector import FakeBotConnector
from tests.teams.harness import CHANNEL, card_of, running_baton, shown, write_config
from tests.teams.test_cards import valid

pytestmark = pytest.mark.slow


def test_reports_reach_the_teams_channel_once(db_url: str, tmp_path: Path, bf_auth: FakeBotFrameworkAuth,
                                              connector: FakeBotConnector) -> None:
    path = write_config(tmp_path)
    cfg = yaml.safe_load(path.read_text())
    cfg["analytics"] = {"timezone": "UTC", "reports": {
        "teams_channel": CHANNEL, "daily_at": "00:00", "weekly_on": datetime.now(UTC).weekday(), "tick_seconds": 0.2}}
    path.write_text(yaml.safe_dump(cfg))
    with running_baton(db_url, tmp_path, bf_auth, connector, config=path) as baton:
        baton.install(CHANNEL)  # the channel's conversation reference: how the bot may post there

        def reports() -> list[str]:
            return [shown(card_of(a)) for a in connector.activities(CHANNEL)
                    if card_of(a) and "Baton " in shown(card_of(a))]

        baton.wait(lambda: len(reports()) >= 2, timeout=20, what="the daily report and the weekly trend")
        time.sleep(1.0)  # more ticks: nothing more
        texts = sorted(reports())
        assert len(texts) == 2, texts
        assert texts[0].startswith("Baton daily report") and "Handoffs: 0" in texts[0]
        assert texts[1].startswith("Baton weekly trend") and "**Day by day**" in texts[1]
        for a in connector.activities(CHANNEL):
            card = card_of(a)
            if card is not None:
                valid(card)
