"""Proactive delivery by stored conversation reference: send, thread reply, update, and the connector's refusals."""

from __future__ import annotations

import aiohttp
import httpx
import pytest
from microsoft_agents.activity import Activity, Attachment

from bot.teams.adapter import Conversation, TeamsBot
from tests.fakes.bf_auth import FakeBotFrameworkAuth
from tests.fakes.botconnector import FakeBotConnector
from tests.fakes.slack_state import ManualClock
from tests.teams.conftest import Recorder, activity

CHANNEL = "19:escalations@thread.tacv2"


def card(text: str) -> Activity:
    content = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": text}]}
    return Activity(type="message", attachments=[
        Attachment(content_type="application/vnd.microsoft.card.adaptive", content=content)])


async def installed(client: httpx.AsyncClient, bf_auth: FakeBotFrameworkAuth, connector: FakeBotConnector,
                    recorder: Recorder, conversation_id: str = CHANNEL) -> Conversation:  # fmt: skip
    """Install the app in a conversation the way Teams does; return the reference the bot captured, round-tripped
    through its JSON form (as a store would keep it)."""
    inbound = activity(connector, "installationUpdate", conversation_id=conversation_id, conversation_type="channel",
                       action="add")  # fmt: skip
    r = await client.post("/api/messages", json=inbound,
                          headers={"Authorization": f"Bearer {bf_auth.channel_token(connector.service_url)}"})
    assert r.status_code == 202, r.text
    return Conversation.from_json_to_store_item(recorder.conversations[-1].store_item_to_json())


async def test_send_then_update_reach_the_connector_in_wire_format(
        client: httpx.AsyncClient, bot: TeamsBot, bf_auth: FakeBotFrameworkAuth, connector: FakeBotConnector,
        recorder: Recorder) -> None:
    conversation = await installed(client, bf_auth, connector, recorder)
    sent = await bot.send(conversation, card("New handoff: Sarah Chen"))
    [posted] = connector.activities(CHANNEL)
    assert sent.id == posted.id and posted.reply_to_id is None
    sends = [c.path for c in connector.calls if c.operation == "send"]
    assert sends == [f"/amer/v3/conversations/{CHANNEL}/activities"]
    [attachment] = posted.attachments
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["body"][0]["text"] == "New handoff: Sarah Chen"
    assert posted.body["conversation"]["id"] == CHANNEL and posted.body["from"]["id"] == "28:baton-bot"

    await bot.update(conversation, sent.id, card("Claimed by Emma"))
    assert connector.activity(sent.id).current["attachments"][0]["content"]["body"][0]["text"] == "Claimed by Emma"
    [update] = [c for c in connector.calls if c.operation == "update"]
    path = f"/amer/v3/conversations/{CHANNEL}/activities/{sent.id}"
    assert (update.verb, update.path, update.status) == ("PUT", path, 200)


async def test_reply_in_a_channel_thread(client: httpx.AsyncClient, bot: TeamsBot, bf_auth: FakeBotFrameworkAuth,
                                         connector: FakeBotConnector, recorder: Recorder) -> None:
    conversation = await installed(client, bf_auth, connector, recorder)
    root = await bot.send(conversation, card("root"))
    thread = Conversation.from_json_to_store_item(conversation.store_item_to_json())
    thread.conversation_reference.conversation.id = f"{CHANNEL};messageid={root.id}"
    await bot.send(thread, Activity(type="message", text="Emma joined"))
    replies = [a for a in connector.activities(CHANNEL) if a.reply_to_id == root.id]
    assert [a.text for a in replies] == ["Emma joined"]


@pytest.mark.parametrize(("why", "status", "code"), [("roster", 403, "BotNotInConversationRoster"),
                                                     ("blocked", 403, "ConversationBlockedByUser"),
                                                     ("deleted", 404, "ConversationNotFound")])
async def test_removed_conversation_surfaces_the_status(why: str, status: int, code: str, client: httpx.AsyncClient,
                                                        bot: TeamsBot, bf_auth: FakeBotFrameworkAuth,
                                                        connector: FakeBotConnector, recorder: Recorder) -> None:
    conversation = await installed(client, bf_auth, connector, recorder)
    connector.remove_conversation(CHANNEL, why)
    with pytest.raises(aiohttp.ClientResponseError) as err:
        await bot.send(conversation, card("x"))
    assert err.value.status == status and code in err.value.message
    assert connector.activities(CHANNEL) == []


async def test_throttling_and_precondition_failures_carry_retry_information(
        client: httpx.AsyncClient, bot: TeamsBot, bf_auth: FakeBotFrameworkAuth, connector: FakeBotConnector,
        recorder: Recorder) -> None:
    conversation = await installed(client, bf_auth, connector, recorder)
    connector.fail_next(412, "PreconditionFailed", "Precondition failed, please try again.", operation="send")
    with pytest.raises(aiohttp.ClientResponseError) as err:
        await bot.send(conversation, card("x"))
    assert err.value.status == 412
    connector.fail_next(429, "Throttled", "Too many requests.", operation="send", retry_after=3)
    with pytest.raises(aiohttp.ClientResponseError) as err:
        await bot.send(conversation, card("x"))
    assert err.value.status == 429 and err.value.headers is not None and err.value.headers["Retry-After"] == "3"
    await bot.send(conversation, card("third time"))
    assert [a.attachments[0]["content"]["body"][0]["text"] for a in connector.activities(CHANNEL)] == ["third time"]


async def test_documented_per_conversation_pacing_reaches_the_bot(bf_auth: FakeBotFrameworkAuth, bot: TeamsBot,
                                                                  recorder: Recorder) -> None:
    clock = ManualClock()
    from tests.teams.conftest import serve

    with FakeBotConnector(token_verifier=bf_auth.verify_bot_token, clock=clock) as connector:
        async with serve(bot) as client:
            conversation = await installed(client, bf_auth, connector, recorder)
        for i in range(7):  # 7 operations per second per conversation
            await bot.send(conversation, Activity(type="message", text=f"m{i}"))
        with pytest.raises(aiohttp.ClientResponseError) as err:
            await bot.send(conversation, Activity(type="message", text="m7"))
        assert err.value.status == 429 and err.value.headers is not None
        assert int(err.value.headers["Retry-After"]) >= 1
        clock.advance(1.01)
        await bot.send(conversation, Activity(type="message", text="m7"))  # 8 in 2 s is allowed
        with pytest.raises(aiohttp.ClientResponseError):
            await bot.send(conversation, Activity(type="message", text="m8"))
        assert len(connector.activities(CHANNEL)) == 8
        assert not connector.schema_errors and not connector.internal_errors
