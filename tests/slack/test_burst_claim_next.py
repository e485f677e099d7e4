"""The grouped card's "Claim next" claims the most urgent waiting handoff; the claimed one gets its own card."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.slack.ids import ActionId
from bot.slack.integration import slack_integration
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.slack.harness import EMMA, TECH, card_handoff, card_text, click, running_baton, seed_workspace, write_config

pytestmark = pytest.mark.slow


def test_claim_next_from_the_grouped_card(db_url: str, tmp_path: Path) -> None:
    with FakeSlack() as fake:
        seed_workspace(fake)
        with running_baton(db_url, tmp_path, fake, config=write_config(tmp_path, burst_threshold=1)) as baton:
            first = baton.intake()
            baton.card(TECH, first)
            grouped = [baton.intake(), baton.intake(customer={"vip": True, "plan": "enterprise"})]
            group = baton.wait(lambda: next((m for m in fake.messages(TECH) if "escalations in" in card_text(m)
                                             and "*2 still waiting*" in card_text(m)), None), timeout=15,
                               what="grouped card with both")
            assert not any(card_handoff(m) in grouped for m in fake.messages(TECH))  # no own cards for them
            assert click(baton, ActionId.CLAIM_NEXT, EMMA, group, TECH).status_code == 200
            claimed = baton.wait(lambda: [h for h in [first, *grouped] if baton.handoff(h)["status"] == "claimed"],
                                 what="one claimed")
            assert len(claimed) == 1
            if claimed[0] in grouped:  # taken out of the group: it gets its own card, showing the claim
                baton.card(TECH, claimed[0], where=lambda m: f"Claimed by <@{EMMA}>" in card_text(m), timeout=15)
            baton.wait(lambda: any("*1 still waiting*" in card_text(m) or "*2 still waiting*" in card_text(m)
                                   for m in fake.messages(TECH)), what="group card current")
        assert fake.block_errors == []


def test_factory_is_off_unless_configured(sqlite_url: str) -> None:
    from app import build

    rt = build(make_settings(sqlite_url), integrations=[], with_log=False)
    assert slack_integration(make_settings(sqlite_url), rt) is None
    assert slack_integration(make_settings(sqlite_url, SLACK_BOT_TOKEN="xoxb-1"), rt) is None
    assert slack_integration(make_settings(sqlite_url, SLACK_SIGNING_SECRET="s"), rt) is None
    http = slack_integration(make_settings(sqlite_url, SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s"), rt)
    socket = slack_integration(make_settings(sqlite_url, SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1"), rt)
    assert http is not None and http.app_token is None and http.readiness() == (True, "ok")
    assert socket is not None and socket.app_token == "xapp-1"
    assert [d.name for d in http.destinations] == ["slack"]
