"""An agent Baton knows only by a Slack id is introduced to the customer by their Slack profile name."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.ids import ActionId
from tests.fakes.slack_api import FakeSlack
from tests.slack.harness import TECH, Baton, click

pytestmark = pytest.mark.slow
PRIYA = "U0PRIYA0001"


def introduction(baton: Baton, hid: str) -> str:
    async def go(rt: Any) -> str:
        from handoff.services.customer import CustomerSide
        from templates import Renderer
        from templates.customer import text_for

        events = await CustomerSide(rt.deps, rt.waits, rt.conversation).events_after(hid, 0)
        joined = next(e for e in events if e.message.type == "agent_joined")
        return text_for(Renderer(), joined.message, "en", rt.labels)

    return str(baton.domain(go))


def test_a_slack_user_known_only_by_id_gets_their_profile_name(baton: Baton, fake: FakeSlack) -> None:
    fake.add_user("Priya R", id=PRIYA, channels=(TECH,))
    hid = baton.intake()
    card = baton.card(TECH, hid)
    assert click(baton, ActionId.CLAIM, PRIYA, card, TECH).status_code == 200
    baton.wait(lambda: baton.handoff(hid)["claimed_by"] == PRIYA, what="the claim")
    agents = {a["id"]: a for a in baton.http.get("/v1/agents").json()}
    assert agents[PRIYA]["display_name"] == "Priya R"  # was the raw id, U0PRIYA0001
    text = introduction(baton, hid)
    assert text.startswith("Hi Sarah, I'm Priya R from Technical") and "U0PRIYA" not in text
    asked = len(fake.calls_to("users.info"))
    assert asked == 1
    click(baton, ActionId.RELEASE, PRIYA, baton.card(TECH, hid), TECH)
    baton.wait(lambda: baton.handoff(hid)["status"] == "queued", what="the release")
    assert len(fake.calls_to("users.info")) == asked  # a known name is not asked for again


def test_configured_agents_keep_their_configured_name(baton: Baton, fake: FakeSlack) -> None:
    from tests.slack.harness import EMMA

    hid = baton.intake()
    click(baton, ActionId.CLAIM, EMMA, baton.card(TECH, hid), TECH)
    baton.wait(lambda: baton.handoff(hid)["claimed_by"] == "emma", what="the claim")
    assert fake.calls_to("users.info") == []  # "Emma" from the config is better than any guess
    assert introduction(baton, hid).startswith("Hi Sarah, I'm Emma from Technical")
