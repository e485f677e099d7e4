"""End to end on Slack with short real targets (the scheduler's real tick): the SLA on the card, a warning that
mentions the queue lead in the card's thread, the breach (priority up, the supervisor told directly), and the
management card with its Acknowledge button."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.slack.ids import ActionId
from tests.fakes.slack_api import FakeSlack
from tests.slack.harness import EMMA, LIAM, TECH, Baton, card_handoff, card_text, click, running_baton, write_config

pytestmark = pytest.mark.slow
MGMT = "C0MGMT00001"


def sla_config(tmp: Path, **sla: Any) -> Path:
    path = write_config(tmp)
    cfg = yaml.safe_load(path.read_text())
    cfg["queues"]["technical"]["supervisor"] = "liam"
    cfg["sla"] = {"tick_seconds": 0.2, "priorities": {p: {"first_response": "3s"} for p in
                                                      ("critical", "high", "medium", "low")},
                  "management": {"channels": {"slack": MGMT}}, **sla}
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture
def sla_baton(db_url: str, tmp_path: Path, fake: FakeSlack) -> Iterator[Baton]:
    fake.add_channel("management", id=MGMT)
    with running_baton(db_url, tmp_path, fake, config=sla_config(tmp_path)) as b:
        yield b


def thread_texts(fake: FakeSlack, ts: str) -> list[str]:
    return [card_text(m) for m in fake.thread(TECH, ts)]


def test_warning_mentions_the_lead_once_and_the_breach_tells_the_supervisor(sla_baton: Baton,
                                                                            fake: FakeSlack) -> None:
    hid = sla_baton.intake()
    card = sla_baton.card(TECH, hid)
    assert "SLA · First response" in card_text(card) and "target 3 s" in card_text(card)
    warned = sla_baton.wait(lambda: [t for t in thread_texts(fake, card["ts"]) if "SLA warning" in t], 15,
                            "the warning in the thread")
    assert f"<@{EMMA}>" in warned[0] and "first response target 3 s is" in warned[0]
    breached = sla_baton.wait(lambda: [t for t in thread_texts(fake, card["ts"]) if "SLA breached" in t], 15,
                              "the breach in the thread")
    assert "first response target 3 s missed" in breached[0]
    dms = sla_baton.wait(lambda: [c for c in fake.calls_to("chat.postMessage", ok=True)
                                  if c.args.get("channel") == LIAM], 15, "a direct message to the supervisor")
    assert "SLA breach" in dms[0].args["text"]
    sla_baton.card(TECH, hid, where=lambda m: "⛔" in card_text(m) and "missed" in card_text(m))
    timeline = [e["kind"] for e in sla_baton.handoff(hid)["timeline"]]
    assert timeline.count("sla_warning") == 1 and timeline.count("sla_breached") == 1
    # Each alert exactly once in the thread and once to the supervisor, however often the outbox delivered it.
    texts = thread_texts(fake, card["ts"])
    assert sum("SLA warning" in t for t in texts) == 1 and sum("SLA breached" in t for t in texts) == 1
    assert len([c for c in fake.calls_to("chat.postMessage", ok=True) if c.args.get("channel") == LIAM]) == 1


def test_a_legal_threat_posts_the_management_card_and_acknowledging_it_once(sla_baton: Baton,
                                                                            fake: FakeSlack) -> None:
    hid = sla_baton.intake(transcript=[{"role": "customer", "text": "Our lawyer will start legal action today"}])
    mgmt = sla_baton.wait(lambda: [m for m in fake.messages(MGMT) if card_handoff(m) == hid], 15,
                          "the management card")[0]
    text = card_text(mgmt)
    assert "Management escalation" in text and "the customer wrote 'lawyer'" in text and "Acknowledge" in text
    assert fake.block_errors == []
    r = click(sla_baton, ActionId.ACKNOWLEDGE, LIAM, mgmt, MGMT)
    assert r.status_code == 200
    sla_baton.wait(lambda: [m for m in fake.messages(MGMT) if "Acknowledged by" in card_text(m)], 15,
                   "the management card to show who acknowledged")
    again = click(sla_baton, ActionId.ACKNOWLEDGE, EMMA, mgmt, MGMT)
    assert again.status_code == 200
    # An ephemeral where she is a member, else a direct message: either way she reads who acknowledged it.
    told = sla_baton.wait(lambda: [e["text"] for e in fake.ephemerals if e["user"] == EMMA] + [
        c.args["text"] for c in fake.calls_to("chat.postMessage", ok=True) if c.args.get("channel") == EMMA],
        15, "the refusal")
    assert "already acknowledged by liam" in told[0]
    kinds = [e["kind"] for e in sla_baton.handoff(hid)["timeline"]]
    assert kinds.count("management_escalated") == 1 and kinds.count("acknowledged") == 1
