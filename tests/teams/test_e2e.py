"""Teams end to end: intake → Adaptive Card in the mapped channel → Action.Execute claim → the refreshed card names
the claimer; the reply chain reaches the customer (SSE) only from the holder; commands answer in the chat."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.customer.sse_client import events, read_until
from tests.fakes.bf_auth import FakeBotFrameworkAuth
from tests.fakes.botconnector import FakeBotConnector
from tests.support.factories import intake_body
from tests.teams.harness import CHANNEL, EMMA, LIAM, card_of, running_baton, shown
from tests.teams.test_cards import valid

pytestmark = pytest.mark.slow


def action(card: dict[str, Any], verb: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute" and node.get("verb") == verb:
                found.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(card.get("actions") or [])
    assert found, f"no {verb} action on the card"
    return found[0]


def test_intake_card_claim_and_refreshed_card(db_url: str, tmp_path: Path, bf_auth: FakeBotFrameworkAuth,
                                              connector: FakeBotConnector) -> None:
    with running_baton(db_url, tmp_path, bf_auth, connector) as baton:
        baton.install(CHANNEL)
        hid = baton.intake()
        posted = baton.card(hid)
        card = valid(card_of(posted) or {})
        assert "Sarah Chen" in shown(card) and "Already tried" in shown(card) and "Widget broken" in shown(card)
        assert card["refresh"]["userIds"] == ["aad-emma", "aad-liam"]

        answer = baton.invoke(posted.id, action(card, "claim"))
        assert answer["statusCode"] == 200 and answer["type"] == "application/vnd.microsoft.card.adaptive"
        mine = valid(answer["value"])
        assert "Claimed by **Emma Ruiz**" in shown(mine)
        assert {a.get("verb") or a.get("title") for a in mine["actions"]} >= {"release", "Resolve"}
        assert baton.http.get(f"/v1/handoffs/{hid}").json()["claimed_by"] == "emma"
        # Everyone else's copy of the card is updated in place through the outbox (PUT on the same activity).
        baton.wait(lambda: "Claimed by **Emma Ruiz**" in shown(card_of(connector.activity(posted.id))),
                   what="the channel card updated")
        assert connector.activity(posted.id).versions, "updated in place, not reposted"

        # Liam looks at the card: his refresh shows no holder-only actions, and his claim is answered politely.
        liam_view = valid(baton.invoke(posted.id, card["refresh"]["action"], user=LIAM)["value"])
        assert "Resolve" not in {a.get("title") for a in liam_view["actions"]}
        late = valid(baton.invoke(posted.id, action(card, "claim"), user=LIAM)["value"])
        assert "Emma Ruiz already has this one (from Teams)" in shown(late)

        # Resolve with the inline form, then the card offers only a note.
        done = valid(baton.invoke(posted.id, action(mine, "resolve"), inputs={"outcome": "workaround",
                                                                            "note": "CSP fixed", "kb_gap": "true"})
                     ["value"])
        assert "Resolved by **Emma Ruiz**" in shown(done) and [a["title"] for a in done["actions"]] == ["Add note"]
        resolved = [e for e in baton.http.get(f"/v1/handoffs/{hid}").json()["timeline"] if e["kind"] == "resolved"]
        assert resolved[0]["source"] == "teams" and resolved[0]["data"]["kb_gap"] is True
        assert not connector.schema_errors


def test_reply_chain_reaches_the_customer_only_from_the_holder(db_url: str, tmp_path: Path,
                                                               bf_auth: FakeBotFrameworkAuth,
                                                               connector: FakeBotConnector) -> None:
    with running_baton(db_url, tmp_path, bf_auth, connector) as baton:
        baton.install(CHANNEL)
        r = baton.http.post("/v1/handoffs", json=intake_body())
        intake = r.json()
        hid, token = intake["id"], intake["customer_token"]
        posted = baton.card(hid)
        baton.wait(lambda: baton.thread(posted.id), what="the transcript in the reply chain")
        chain = f"{CHANNEL};messageid={posted.id}"

        # Before anyone claims: a reply stays internal, and the chain says why.
        assert baton.activity("message", conversation_id=chain, text="looking", user=LIAM).status_code in (200, 202)
        baton.wait(lambda: any("was not sent to the customer" in shown(card_of(s)) for s in baton.thread(posted.id)),
                   what="the kept-internal notice")

        baton.invoke(posted.id, action(card_of(posted) or {}, "claim"))
        with httpx.Client(base_url=baton.base, timeout=30) as customer, customer.stream(
                "GET", f"/v1/handoffs/{hid}/events", headers={"Authorization": f"Bearer {token}"}) as stream:
            assert stream.status_code == 200, stream.read()
            assert baton.activity("message", conversation_id=chain, text="Hi Sarah, I'm on it").status_code in (200,
                                                                                                                202)
            seen = read_until(events(stream), lambda s: any(e.event == "agent_message" for e in s))
            msg = next(e for e in seen if e.event == "agent_message")
            assert "I'm on it" in json.dumps(msg.data) and "Emma" in json.dumps(msg.data)
            assert "aad-" not in json.dumps(msg.data) and "looking" not in json.dumps([e.data for e in seen])

        # The customer answers: it appears in the card's reply chain.
        assert baton.http.post(f"/v1/handoffs/{hid}/messages", json={"text": "Thanks! It's the staging site."},
                               headers={"Authorization": f"Bearer {token}"}).status_code == 201
        baton.wait(lambda: any("staging site" in shown(card_of(s)) for s in baton.thread(posted.id)),
                   what="the customer's message in the chain")
        assert not connector.schema_errors


def test_commands_in_a_personal_chat(db_url: str, tmp_path: Path, bf_auth: FakeBotFrameworkAuth,
                                     connector: FakeBotConnector) -> None:
    with running_baton(db_url, tmp_path, bf_auth, connector) as baton:
        baton.install(CHANNEL)
        hid = baton.intake()
        baton.card(hid)
        chat = "a:1emma-personal"
        connector.add_conversation(chat, kind="personal", tenant_id="t")

        def ask(text: str) -> str:
            before = len(connector.activities(chat))
            r = baton.activity("message", conversation_id=chat, conversation_type="personal", text=text)
            assert r.status_code in (200, 202), r.text
            baton.wait(lambda: len(connector.activities(chat)) > before, what=f"an answer to {text!r}")
            return shown(card_of(connector.activities(chat)[-1]))

        assert "Waiting handoffs (1)" in ask("queue")
        assert f"You hold {hid}" in ask("next")
        assert "Your open handoffs (1)" in ask("mine")
        assert "Your status is now away." in ask("status away")
        assert "status available|busy|away|offline" in ask("status sleepy")
        assert "next <queue>" in ask("help") and chat in ask("help")
        time.sleep(1.1)  # the connector allows 7 messages a second per conversation (the fake enforces it)
        stats = ask("stats")  # today's figures, from the analytics queries the dashboard uses
        assert "Today's numbers" in stats and "New: 1 · answered 1" in stats and "Waiting now: 0" in stats
        assert baton.http.get("/v1/agents").json() and any(
            a["id"] == "emma" and a["status"] == "away" for a in baton.http.get("/v1/agents").json())
        _ = EMMA
