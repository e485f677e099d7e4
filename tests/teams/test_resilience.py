"""Teams deliveries under broken state: a channel the app is not in, a removed conversation, throttling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakes.bf_auth import FakeBotFrameworkAuth
from tests.fakes.botconnector import FakeBotConnector
from tests.teams.harness import CHANNEL, EMMA, card_of, running_baton, shown

pytestmark = pytest.mark.slow
FALLBACK = "19:support-fallback@thread.tacv2"


def test_unreachable_channel_falls_back_and_tells_the_lead_once(db_url: str, tmp_path: Path,
                                                               bf_auth: FakeBotFrameworkAuth,
                                                               connector: FakeBotConnector) -> None:
    with running_baton(db_url, tmp_path, bf_auth, connector, TEAMS_DEFAULT_CHANNEL=FALLBACK) as baton:
        baton.install(FALLBACK)  # the technical channel itself never got the app
        personal = "a:1emma-personal"
        r = baton.activity("installationUpdate", conversation_id=personal, conversation_type="personal",
                           action="add", user=EMMA)
        assert r.status_code in (200, 202)
        first, second = baton.intake(), baton.intake()
        baton.card(first, channel=FALLBACK)
        baton.card(second, channel=FALLBACK)
        notices = baton.wait(lambda: [a for a in connector.activities(personal) if a.text], what="the lead's notice")
        assert len(notices) == 1 and CHANNEL in str(notices[0].text) and "not_installed" in str(notices[0].text)
        assert connector.activities(CHANNEL) == []


def test_a_removed_conversation_moves_cards_and_throttling_spends_no_attempts(
        db_url: str, tmp_path: Path, bf_auth: FakeBotFrameworkAuth, connector: FakeBotConnector) -> None:
    with running_baton(db_url, tmp_path, bf_auth, connector, TEAMS_DEFAULT_CHANNEL=FALLBACK) as baton:
        baton.install(CHANNEL)
        baton.install(FALLBACK)
        connector.fail_next(429, "Throttled", "Too many requests.", operation="send", conversation_id=CHANNEL,
                            retry_after=1, times=2)
        throttled = baton.intake()
        card = baton.card(throttled, timeout=20)
        assert card.conversation_id == CHANNEL and "Sarah Chen" in shown(card_of(card))
        baton.wait(lambda: baton.thread(card.id), timeout=20, what="the transcript under the card")
        connector.remove_conversation(CHANNEL, "roster")
        moved = baton.intake()
        baton.card(moved, channel=FALLBACK)
        assert [s for s in connector.activities(CHANNEL) if s.reply_to_id is None and "Sarah" in shown(card_of(s))]

        async def attempts(rt: Any) -> list[int]:
            async with rt.deps.uow(read_only=True) as uow:
                rows = await uow.outbox.list(status=None, limit=500)
            return [i.attempts for i in rows if i.destination == "teams" and i.handoff_id == throttled
                    and i.kind == "created"]

        # Two 429s, then delivered: throttling spent no attempt (only the successful one counts).
        assert baton.domain(attempts) == [1]
