"""End to end: intake → card in the routed channel → signed Claim → chat.update shows the claimer."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.slack.ids import ActionId
from tests.fakes.slack_api import FakeSlack
from tests.slack.harness import EMMA, LIAM, TECH, Baton, card_text, click

pytestmark = pytest.mark.slow


def test_intake_posts_a_valid_card_and_a_claim_updates_it_in_place(baton: Baton, fake: FakeSlack) -> None:
    hid = baton.intake()
    card = baton.card(TECH, hid)
    assert fake.block_errors == []
    text = card_text(card)
    assert "Sarah Chen" in text and "sarah@techcompany.com" in text and "declined to 52%" in text
    assert "<!date^" in text  # waiting time and SLA tick in the client
    thread = baton.wait(lambda: len(fake.thread(TECH, card["ts"])) >= 2 and fake.thread(TECH, card["ts"]),
                        what="transcript reply")
    assert "Still broken and we launch tomorrow" in card_text(thread[1])

    r = click(baton, ActionId.CLAIM, EMMA, card, TECH)
    assert r.status_code == 200
    updated = baton.card(TECH, hid, where=lambda m: "Claimed by" in card_text(m))
    assert f"Claimed by <@{EMMA}>" in card_text(updated)
    assert updated["ts"] == card["ts"]  # updated in place, not reposted
    assert fake.calls_to("chat.update", ok=True)
    assert baton.handoff(hid)["claimed_by"] == "emma"
    assert fake.block_errors == []


def test_two_concurrent_claims_one_winner_one_ephemeral(baton: Baton, fake: FakeSlack) -> None:
    hid = baton.intake()
    card = baton.card(TECH, hid)
    with ThreadPoolExecutor(2) as pool:
        codes = list(pool.map(lambda u: click(baton, ActionId.CLAIM, u, card, TECH).status_code, [EMMA, LIAM]))
    assert codes == [200, 200]
    eph = baton.wait(lambda: fake.ephemerals, what="an ephemeral for the loser")
    winner = baton.handoff(hid)["claimed_by"]
    loser_user = LIAM if winner == "emma" else EMMA
    winner_user = EMMA if winner == "emma" else LIAM
    assert [e["user"] for e in eph] == [loser_user]
    assert eph[0]["text"] == f":no_entry: Already claimed by <@{winner_user}>."
    baton.card(TECH, hid, where=lambda m: f"Claimed by <@{winner_user}>" in card_text(m))


def test_card_updates_are_coalesced_to_the_newest_state(baton: Baton, fake: FakeSlack) -> None:
    hid = baton.intake()
    card = baton.card(TECH, hid)
    baton.wait(lambda: len(fake.thread(TECH, card["ts"])) >= 2, what="transcript")
    fake.set_latency(0.8, "chat.update")  # the first update is slow; the next changes pile up behind it
    steps = [("emma", "claim"), ("emma", "release"), ("liam", "claim"), ("liam", "release"), ("emma", "claim")]
    for agent, action in steps:
        r = baton.http.post(f"/v1/handoffs/{hid}/{action}", json={"agent_id": agent})
        assert r.status_code == 200, r.text
    baton.card(TECH, hid, where=lambda m: f"Claimed by <@{EMMA}>" in card_text(m), timeout=15)
    time.sleep(1.5)  # anything still queued would show up now
    updates = fake.calls_to("chat.update", ok=True)
    assert 1 <= len(updates) < len(steps), len(updates)
    assert f"Claimed by <@{EMMA}>" in card_text(fake.message(TECH, card["ts"]) or {})
