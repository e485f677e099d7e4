"""Slack and Teams at once: each handoff appears in both, a claim from either updates both cards, and the late
claimer on the other surface is told politely who has it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.slack.ids import ActionId
from tests.fakes.bf_auth import FakeBotFrameworkAuth
from tests.fakes.botconnector import FakeBotConnector
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_payloads import block_actions_payload
from tests.slack.harness import EMMA as EMMA_SLACK
from tests.slack.harness import LIAM as LIAM_SLACK
from tests.slack.harness import TECH, card_handoff, card_text, seed_workspace
from tests.teams.harness import CHANNEL, LIAM, card_of, running_baton, shown, write_config
from tests.teams.test_cards import valid

pytestmark = pytest.mark.slow


def slack_card(fake: FakeSlack, hid: str, where: Any = lambda m: True) -> dict[str, Any] | None:
    return next((m for m in fake.messages(TECH) if card_handoff(m) == hid and where(m)), None)


def test_one_handoff_two_surfaces_one_claim(db_url: str, tmp_path: Path, bf_auth: FakeBotFrameworkAuth,
                                           connector: FakeBotConnector) -> None:
    with FakeSlack() as fake:
        seed_workspace(fake)
        config = write_config(tmp_path, slack={"technical": TECH, "emma": EMMA_SLACK})
        with running_baton(db_url, tmp_path, bf_auth, connector, slack=fake, config=config) as baton:
            baton.install(CHANNEL)
            hid = baton.intake()
            teams_card = baton.card(hid)
            first = baton.wait(lambda: slack_card(fake, hid), what="the Slack card")
            original = valid(card_of(teams_card) or {})
            assert "Claim" in card_text(first)
            claim = next(a for a in original["actions"] if a.get("verb") == "claim")

            # Emma claims in Slack.
            el = next(e for b in first["blocks"] for e in b.get("elements") or []
                      if e.get("action_id") == ActionId.CLAIM)
            inbound = block_actions_payload(str(ActionId.CLAIM), el["value"], EMMA_SLACK, TECH, first["ts"],
                                            message=first)
            assert baton.http.post("/slack/events", content=inbound.body,
                                   headers=inbound.headers(fake.signing_secret)).status_code == 200

            # Both cards converge on "claimed by Emma".
            baton.wait(lambda: slack_card(fake, hid, lambda m: "Claimed by" in card_text(m)), what="Slack updated")
            baton.card(hid, where=lambda c: "Claimed by **Emma Ruiz**" in shown(c))
            assert connector.activity(teams_card.id).versions  # updated in place

            # Liam, late on Teams, is told who has it and where it was claimed.
            late = valid(baton.invoke(teams_card.id, claim, user=LIAM)["value"])
            assert "Emma Ruiz already has this one (from Slack)" in shown(late)
            assert baton.http.get(f"/v1/handoffs/{hid}").json()["claimed_by"] == "emma"
            _ = LIAM_SLACK
            assert not connector.schema_errors and fake.block_errors == []
