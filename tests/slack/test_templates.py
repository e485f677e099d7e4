"""Every Slack template rendered with hostile and huge inputs, parsed and validated against Block Kit limits."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.slack.ids import CallbackId
from bot.slack.render import SlackRenderer, mrkdwn_cut
from handoff.analytics import Sums, metrics
from handoff.cards import build_card
from handoff.models import Agent, Customer, Handoff, Priority, Reason, Status, Tier
from handoff.ports import ExternalRef, TranscriptLine
from tests.fakes.slack_blocks import validate_blocks, validate_view

NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
HOSTILE = ['<!channel>', '<!here|here>', '<@U0EMMA00001>', '<https://evil.example|click me>', '&amp; & < >',
           '"}], "blocks": [', '\\"\\u0000', '*bold* _it_ ~s~ `code` ```block```', '\u202eRTL', 'x' * 100_000,
           '😀' * 5000, '\n' * 3000]
AGENTS = {"emma": Agent(id="emma", display_name="<!channel> Emma", handles={"slack": "U0EMMA00001"})}
R = SlackRenderer(crm_urls={"salesforce": "https://sf.example/lightning/r/Case/{id}/view"})
OUR_TOKENS = re.compile(r"<!date\^\d+\^[^|>]+\|[^>]*>|<@U0EMMA00001>|<#C[A-Z0-9]+>|<https://crm\.example/[^|>]*\|[^>]*>"
                        r"|<https://sf\.example/[^|>]*\|[^>]*>")


def handoff(text: str, status: Status = Status.QUEUED, priority: Priority = Priority.HIGH) -> Handoff:
    claimed = status in (Status.CLAIMED, Status.PENDING_CUSTOMER, Status.RESOLVED)
    return Handoff(id="ho_1", source="widget", conversation_id="c", customer_id="cu", status=status,
                   priority=priority, queue="technical", topic=text[:32], tier=Tier.L1, trigger_reason="x",
                   created_at=NOW, updated_at=NOW, sla_due_at=NOW + timedelta(hours=1), customer_token="t",
                   why=text, reasons=tuple(Reason(f"r{i}", text) for i in range(20)), summary=text,
                   claimed_by="emma" if claimed else None, claimed_at=NOW + timedelta(seconds=72) if claimed else None,
                   resolved_at=NOW if status is Status.RESOLVED else None, outcome=text[:64] or None,
                   closed_at=NOW if status is Status.CLOSED else None, suggested_agent_id="emma")


def card_for(text: str, status: Status = Status.QUEUED, priority: Priority = Priority.HIGH, lines: int = 10) -> Any:
    customer = Customer(id="cu", email=text[:320], name=text[:200], company=text[:200], plan=text[:64], vip=True,
                        account_value=1e12)
    transcript = [TranscriptLine("customer" if i % 2 == 0 else "ai", text, NOW, 0.9 - i / (2 * lines), i)
                  for i in range(lines)]
    ai = {"summary": text, "attempted_steps": [text] * 50, "confidence": 0.1, "intent": text[:64], "kb_hits": 0,
          "entities": {f"k{i}": text for i in range(30)}}
    refs = [ExternalRef("ho_1", "salesforce", "case", "500", {"url": "https://crm.example/" + text[:50],
                                                               "label": text}),
            ExternalRef("ho_1", "hubspot", "case", text[:255] or "1", {})]
    return build_card(handoff(text, status, priority), customer, transcript,
                      {"ai": ai, "technical": {"browser": text, "errors": [text] * 10}}, refs, 1)


def mrkdwn_texts(x: Any) -> list[str]:
    out: list[str] = []
    if isinstance(x, dict):
        if x.get("type") == "mrkdwn":
            out.append(x["text"])
        for v in x.values():
            out.extend(mrkdwn_texts(v))
    elif isinstance(x, list):
        for v in x:
            out.extend(mrkdwn_texts(v))
    return out


def assert_no_injection(blocks: Any) -> None:
    for text in mrkdwn_texts(blocks):
        stripped = re.sub(r"(^|\n)> ", r"\1", OUR_TOKENS.sub("", text))  # our tokens and block quotes
        assert "<" not in stripped and ">" not in stripped, stripped[:300]
        assert not re.search(r"&(?!amp;|lt;|gt;)", stripped), "a bare & reached mrkdwn"


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("status", list(Status))
def test_card_and_thread_messages_stay_valid_and_escaped(text: str, status: Status) -> None:
    card = card_for(text, status, lines=500)
    for _, blocks in (R.card(card, AGENTS, "C0TECH00001"), R.transcript(card),
                      *(R.thread_note(k, text, "<@U0EMMA00001>", text) for k in
                        ("customer_message", "agent_message", "kept_internal", "note_added")),
                      R.customer_messages([text] * 20),  # a coalesced flood at its largest
                      R.moved(card.handoff, None, "C0BILL00001"),
                      R.burst("technical", text[:100], [card.handoff] * 50, 200, 60, NOW)):
        assert validate_blocks(blocks) == []
        assert_no_injection(blocks)


@pytest.mark.parametrize("text", [*HOSTILE[:6], "y" * 10_000])
def test_modals_home_and_lists_stay_valid(text: str) -> None:
    h = handoff(text)
    queues = [("technical", text[:500]), ("billing", "Billing")]
    for kind in CallbackId:
        assert validate_view(R.modal(kind, h, "C0TECH00001", queues=queues)) == []
    stats = {**metrics(Sums(handoffs=3, responded=2, first_response_sum=150.0, first_response_p50=70.0, resolved=1,
                            csat_responses=1, csat_sum=4.0)), "queued": 100, "oldest_wait_seconds": 72.0}
    home = R.home(AGENTS["emma"], "emma", [h] * 100, [h] * 100, stats)
    assert validate_view(home) == []
    assert_no_injection(home)
    for blocks in (R.queue_list(text[:200], [h] * 100, text), R.help(), R.stats(stats)):
        assert validate_blocks(blocks) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=4000), st.sampled_from(list(Status)), st.sampled_from(list(Priority)))
def test_any_text_renders_a_valid_card(text: str, status: Status, priority: Priority) -> None:
    card = card_for(text, status, priority)
    _, blocks = R.card(card, AGENTS, "C0TECH00001")
    assert validate_blocks(blocks) == []
    assert_no_injection(blocks)


def test_card_says_what_agents_need() -> None:
    card = card_for("Widget broken", Status.CLAIMED)
    card = replace(card, confidence=replace(card.confidence, readings=(0.71, 0.52), latest=0.52))
    text = "\n".join(mrkdwn_texts(R.card(card, AGENTS, "C1")[1]))
    assert "Claimed by <@U0EMMA00001> · waited 1m 12s" in text
    assert "declined to 52%" in text and "$1,000,000,000,000 / year" in text and "VIP" in text
    assert "<!date^" in text and "is speaking to the customer" in text


def test_crm_links_once_synced() -> None:
    card = card_for("Widget broken")
    card = replace(card, crm_links=(replace(card.crm_links[0], url=None, label="Salesforce Case 500"),
                                    card.crm_links[1]))
    text = "\n".join(mrkdwn_texts(R.card(card, AGENTS, "C1")[1]))
    assert "<https://sf.example/lightning/r/Case/500/view|Salesforce Case 500>" in text
    assert "HubSpot ticket Widget broken" in text


def test_mrkdwn_cut_never_exceeds_the_limit_nor_splits_an_entity() -> None:
    for limit in range(1, 40):
        out = mrkdwn_cut("<&>" * 50, limit)
        assert len(out) <= limit and not re.search(r"&(?!amp;|lt;|gt;)", out.rstrip("…"))
