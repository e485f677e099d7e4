"""What a card lets its viewers do is decided once, in the domain, for every surface."""

from __future__ import annotations

from dataclasses import replace

import pytest

from handoff.cards import card_actions
from handoff.lifecycle import RESOLVE_OUTCOMES
from handoff.models import Status, Tier
from tests.unit.test_lifecycle import make


def test_a_queued_card_offers_claim_transfer_escalate_and_note_only() -> None:
    a = card_actions(make())
    assert (a.claim, a.release, a.transfer, a.escalate, a.resolve, a.note) == (True, False, True, True, False, True)
    assert a.escalate_to == (Tier.L2, Tier.L3, Tier.L4, Tier.MANAGEMENT)
    assert a.resolve_outcomes == ()


@pytest.mark.parametrize("status", [Status.CLAIMED, Status.PENDING_CUSTOMER])
def test_a_held_card_offers_the_holders_actions_to_the_channel_and_to_the_holder_only(status: Status) -> None:
    h = make(status, "emma")
    shared = card_actions(h)
    assert (shared.claim, shared.release, shared.resolve) == (False, True, True)
    assert shared.resolve_outcomes == RESOLVE_OUTCOMES
    assert card_actions(h, "emma") == shared
    other = card_actions(h, "raj")
    assert (other.release, other.resolve, other.transfer, other.escalate) == (False, False, True, True)


def test_the_top_tier_offers_no_escalation() -> None:
    assert card_actions(make(tier=Tier.L4)).escalate_to == (Tier.MANAGEMENT,)
    assert not card_actions(make(tier=Tier.MANAGEMENT)).escalate


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED])
def test_a_finished_card_offers_only_a_note(status: Status) -> None:
    a = card_actions(replace(make(Status.CLAIMED, "emma"), status=status))
    assert (a.claim, a.release, a.transfer, a.escalate, a.resolve, a.note) == (False, False, False, False, False, True)
