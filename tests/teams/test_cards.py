"""Teams Adaptive Cards: schema-valid 1.5, the same facts as Slack's card, actions exactly as the domain allows."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft6Validator

from bot.teams.ids import Verb, parse_execute
from bot.teams.render import TeamsRenderer, md
from handoff.cards import build_card
from handoff.chat.surface import GroupView
from handoff.models import Agent, Customer, Status, Tier
from handoff.ports import ExternalRef, TranscriptLine
from tests.support.conformance import conformance_path
from tests.unit.test_lifecycle import NOW, make

QUEUES = [("technical", "Technical"), ("billing", "Billing")]
AGENTS = {"emma": Agent(id="emma", display_name="Emma Ruiz")}
#: Teams refuses bot messages over about 28 KB (the card is most of it).
MAX_CARD_BYTES = 28 * 1024


@cache
def validator() -> Draft6Validator:
    return Draft6Validator(json.loads(conformance_path("adaptive-cards", "adaptive-card-1.5.0.schema.json")
                                      .read_text(encoding="utf-8")))


def valid(card: dict[str, Any]) -> dict[str, Any]:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator().iter_errors(card)]
    assert errors == [], errors
    assert card["version"] == "1.5"
    assert len(json.dumps(card).encode()) <= MAX_CARD_BYTES
    return card


def texts(node: Any) -> list[str]:
    """Every string that Teams displays (TextBlock/TextRun text, fact values, titles)."""
    out: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("text", "value", "title") and isinstance(v, str):
                out.append(v)
            else:
                out.extend(texts(v))
    elif isinstance(node, list):
        for v in node:
            out.extend(texts(v))
    return out


def verbs(card: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute" and node.get("verb") != Verb.REFRESH:
                found.append(node["verb"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(card.get("actions", []))
    return found


def draw(status: Status = Status.QUEUED, holder: str | None = None, **kw: Any) -> dict[str, Any]:
    h = make(status, holder, tier=kw.pop("tier", Tier.L1))
    customer = kw.pop("customer", Customer(id="cu_1", name="Sarah *Chen*", email="sarah@techcompany.com",
                                           plan="enterprise", account_value=90000, vip=True))
    transcript = [TranscriptLine("customer", "Widget [broken](https://evil.example) after update", NOW, None, 0),
                  TranscriptLine("ai", "Try clearing cache", NOW, 0.71, 1),
                  TranscriptLine("customer", "Still **broken**, we launch tomorrow!", NOW, None, 2)]
    refs = [ExternalRef("ho_1", "salesforce", "case", "500XX01", {"url": "https://acme.my.salesforce.com/500XX01"})]
    card = build_card(h, customer, transcript, {"ai": {"summary": "WP 6.3 broke the widget", "confidence": 0.52,
                                                      "attempted_steps": ["Cleared cache", "Disabled plugins"]}},
                      refs, 3)
    return TeamsRenderer().card(card, AGENTS, queues=QUEUES, queue_label="Technical",
                                refresh_users=["29:1emma"], **kw).body


def test_queued_card_is_valid_shows_the_facts_and_offers_claim() -> None:
    card = valid(draw())
    shown = "\n".join(texts(card))
    for fact in ("Sarah \\*Chen\\*", "sarah@techcompany.com", "$90,000 / year", "WP 6.3 broke the widget",
                 "1. Cleared cache", "declined to 52%", "negative", "Salesforce Case 500XX01", "SLA due {{DATE("):
        assert fact in shown, fact
    assert verbs(card) == ["claim", "transfer", "escalate", "note"]
    assert card["refresh"]["action"]["verb"] == "refresh" and card["refresh"]["userIds"] == ["29:1emma"]


def test_customer_text_never_becomes_markdown_links_or_formatting() -> None:
    card = draw()
    runs = [i["text"] for b in card["body"] if b["type"] == "RichTextBlock" for i in b["inlines"]]
    assert any("[broken](https://evil.example)" in r for r in runs)  # shown as typed, in a TextRun
    markdown = [b["text"] for b in card["body"] if b["type"] == "TextBlock"]
    assert not any("evil.example" in t for t in markdown)
    assert md("*a* [b](c) <at>x</at>") == "\\*a\\* \\[b\\]\\(c\\) \\<at\\>x\\</at\\>"


@pytest.mark.parametrize(("status", "expected"), [
    (Status.CLAIMED, ["release", "resolve", "transfer", "escalate", "note"]),
    (Status.PENDING_CUSTOMER, ["release", "resolve", "transfer", "escalate", "note"]),
    (Status.RESOLVED, ["note"]),
    (Status.CLOSED, ["note"]),
])
def test_actions_follow_the_domain(status: Status, expected: list[str]) -> None:
    card = valid(draw(status, "emma"))
    assert verbs(card) == expected
    if status is Status.CLAIMED:
        assert any("Claimed by **Emma Ruiz**" in t for t in texts(card))


def test_forms_carry_the_domains_tiers_and_outcomes() -> None:
    card = valid(draw(Status.CLAIMED, "emma", tier=Tier.L3))
    forms = {a["title"]: a["card"] for a in card["actions"] if a["type"] == "Action.ShowCard"}
    tiers = [c["value"] for c in forms["Escalate"]["body"][0]["choices"]]
    assert tiers == ["L4", "management"]
    outcomes = [c["value"] for c in forms["Resolve"]["body"][0]["choices"]]
    assert outcomes[0] == "resolved" and "no_response" in outcomes
    assert [c["value"] for c in forms["Transfer"]["body"][0]["choices"]] == ["technical", "billing"]
    assert not any(a.get("title") == "Escalate" for a in valid(draw(tier=Tier.MANAGEMENT))["actions"])


def test_a_huge_conversation_still_fits_teams_message_limit() -> None:
    long = "x" * 9000
    customer = Customer(id="cu_1", name="n" * 200, email="a@b.co", company="c" * 200)
    card = valid(draw(customer=customer))
    assert card
    h = replace(make(), summary=long, why=long)
    built = build_card(h, customer, [TranscriptLine("customer", long, NOW, None, i) for i in range(50)],
                       {"ai": {"attempted_steps": [long] * 50, "entities": {f"k{i}": long for i in range(30)}}}, [], 1)
    valid(TeamsRenderer().card(built, AGENTS, queues=QUEUES * 20, queue_label="Technical").body)
    valid(TeamsRenderer().transcript(built).body)


def test_other_cards_are_valid() -> None:
    r = TeamsRenderer()
    for kind in ("customer_message", "agent_message", "note_added", "kept_internal"):
        valid(r.thread_note(kind, ["hello *there*", "second"], "Emma", "not the holder").body)
    waiting = [replace(make(), id=f"ho_{i}", created_at=NOW - timedelta(seconds=i)) for i in range(15)]
    group = valid(r.group(GroupView("technical", "Technical", waiting, 15, 60, NOW)).body)
    assert verbs(group) == ["claim_next"]
    valid(r.moved(make(), "https://teams.microsoft.com/l/message/x", "Billing").body)
    valid(r.queue_list("Waiting (0)", [], "Nothing is waiting.").body)
    valid(r.text_card("Help", ["queue", "mine"]).body)


def test_action_data_round_trips_and_foreign_data_is_refused() -> None:
    card = draw()
    claim = next(a for a in card["actions"] if a.get("verb") == "claim")
    ex = parse_execute({"action": {"type": "Action.Execute", "verb": "claim", "data": claim["data"]}})
    assert (ex.verb, ex.handoff_id, ex.inputs) == (Verb.CLAIM, "ho_1", {})
    resolve = parse_execute({"action": {"type": "Action.Execute", "verb": "resolve",
                                        "data": {**claim["data"], "outcome": "workaround", "note": "ok"}}})
    assert resolve.inputs == {"outcome": "workaround", "note": "ok"}
    from handoff.errors import InvalidCommand

    for bad in ({}, {"action": {"type": "Action.Submit"}},
                {"action": {"type": "Action.Execute", "verb": "explode", "data": claim["data"]}},
                {"action": {"type": "Action.Execute", "verb": "claim", "data": {"v": 99, "h": "ho_1"}}},
                {"action": {"type": "Action.Execute", "verb": "claim", "data": {"v": 1}}}):
        with pytest.raises(InvalidCommand):
            parse_execute(bad)


_ = datetime, UTC
