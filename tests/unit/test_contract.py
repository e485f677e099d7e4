"""The intake contract validates shapes and values; size limits are separate (413, not 422)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from handoff.contract import HandoffIn, check_limits
from handoff.errors import PayloadTooLarge
from tests.support.factories import intake_body


def test_architecture_example_parses() -> None:
    body = HandoffIn.model_validate({**intake_body(), "trigger": {"reason": "low_confidence", "detail": "0.52"},
                                     "technical": {"browser": "Chrome 120", "os": "macOS", "errors": ["x"],
                                                   "screen": "1440x900"},
                                     "callback_url": "https://widget.example.com/hooks/baton"})
    assert body.customer.email == "sarah@techcompany.com"
    assert body.technical is not None and body.technical.model_extra == {"screen": "1440x900"}


@pytest.mark.parametrize(("patch", "where"), [
    ({"conversation_id": ""}, "conversation_id"),
    ({"customer": {"email": "not-an-email"}}, "customer.email"),
    ({"customer": {"account_value": -1}}, "customer.account_value"),
    ({"customer": {"timezone": "Mars/Olympus"}}, "customer.timezone"),
    ({"customer": {"acount_value": 3}}, "customer.acount_value"),
    ({"transcript": [{"role": "robot", "text": "hi"}]}, "transcript.0.role"),
    ({"transcript": [{"role": "ai", "text": "hi", "confidence": 1.5}]}, "transcript.0.confidence"),
    ({"ai": {"confidence": "high"}}, "ai.confidence"),
    ({"trigger": {"reason": "DROP TABLE"}}, "trigger.reason"),
    ({"callback_url": "javascript:alert(1)"}, "callback_url"),
])
def test_bad_fields_are_named(patch: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationError) as exc:
        HandoffIn.model_validate(intake_body(**patch))
    locs = {".".join(str(p) for p in e["loc"]) for e in exc.value.errors()}
    assert where in locs


def test_limits_answer_413_with_the_field() -> None:
    body = HandoffIn.model_validate(intake_body(transcript=[{"role": "customer", "text": "x" * 11}] * 3))
    check_limits(body, max_messages=3, max_message_chars=11)
    with pytest.raises(PayloadTooLarge, match="3 messages; the limit is 2"):
        check_limits(body, max_messages=2, max_message_chars=11)
    with pytest.raises(PayloadTooLarge) as exc:
        check_limits(body, max_messages=3, max_message_chars=10)
    assert exc.value.details["field"] == "transcript.0.text"


def test_apostrophes_are_valid_in_email_local_parts() -> None:
    body = HandoffIn.model_validate(intake_body(customer={"email": "O'Brien@Example.com"}))
    assert body.customer.email == "o'brien@example.com"
    with pytest.raises(ValidationError):
        HandoffIn.model_validate(intake_body(customer={"email": "a@b'c.com"}))


def test_the_example_config_loads() -> None:
    from pathlib import Path

    from handoff.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[2] / "config" / "baton.example.yaml")
    assert {a.id for a in cfg.agents} == {"emma", "lee", "raj", "sofia"} and cfg.queues["technical"].lead == "lee"


def test_the_config_holds_agents_to_the_same_time_zone_and_hours_checks() -> None:
    from handoff.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as exc:
        parse_config({"agents": [{"id": "lee", "timezone": "America", "working_hours": "25:99-17:00"}]})
    assert "agents.0.timezone" in str(exc.value) and "'America' is not an IANA time zone" in str(exc.value)
    assert "agents.0.working_hours" in str(exc.value)
    ok = parse_config({"agents": [{"id": "lee", "timezone": "Europe/Berlin", "working_hours": "22:00-06:00"}]})
    assert ok.agents[0].timezone == "Europe/Berlin"


def test_control_characters_are_cleaned_and_strict_types_hold() -> None:
    body = HandoffIn.model_validate(intake_body(customer={"name": "Sa\x00rah"}, ai={"entities": {"k\x00": "v\x1f"}}))
    assert body.customer.name == "Sarah" and body.ai.entities == {"k": "v"}
    for patch in ({"customer": {"vip": 1}}, {"ai": {"kb_hits": False}}, {"ai": {"confidence": "0.5"}}):
        with pytest.raises(ValidationError):
            HandoffIn.model_validate(intake_body(**patch))


def test_warnings_name_what_an_accepted_body_lacks() -> None:
    assert HandoffIn.model_validate(intake_body()).warnings() == []
    bare = HandoffIn.model_validate({"conversation_id": "c", "customer": {"id": "w-1"}})
    assert [w.code for w in bare.warnings()] == ["empty_transcript"]
