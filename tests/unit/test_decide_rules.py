"""The rules file: the default validates and compiles; every kind of mistake is refused with its YAML path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from handoff.decide import RuleEngine, Rules, RulesError, default_rules_path
from handoff.models import Priority

DEFAULT_TEXT = default_rules_path().read_text(encoding="utf-8")


def _edited(path: list[str | int], value: object) -> str:
    """The default rules with one value replaced, as YAML text."""
    data = yaml.safe_load(DEFAULT_TEXT)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _problem(text: str) -> str:
    with pytest.raises(RulesError) as info:
        Rules.parse(text, "rules.yaml")
    return str(info.value)


def test_default_rules_load_with_issue_defaults() -> None:
    rules = Rules.load(default_rules_path())
    assert rules.confidence.immediate_below == 0.60
    assert rules.confidence.streak_below == 0.70 and rules.confidence.streak_length == 3
    assert rules.confidence.drop_points == 0.20
    assert rules.conversation.long_after_minutes == 10 and rules.conversation.low_rating_below == 3
    assert rules.frustration.sentiment_at_most == -0.5
    assert rules.frustration.shouting.upper_ratio == 0.70 and rules.frustration.shouting.min_letters == 10
    w = rules.priority.weights
    assert (w.tier, w.urgency, w.complexity, w.sentiment) == (0.35, 0.30, 0.20, 0.15)
    # First-response targets live with the SLA policy now (BATON_CONFIG sla:), not in the rules file.
    assert "sla_minutes" not in yaml.safe_load(DEFAULT_TEXT)
    from handoff.sla.config import SlaConfig
    from handoff.sla.policy import SlaPolicy

    assert {p: SlaPolicy(SlaConfig()).targets(p).first_response for p in Priority} == {
        Priority.CRITICAL: 60, Priority.HIGH: 180, Priority.MEDIUM: 300, Priority.LOW: 600}
    rw = rules.routing.weights
    assert (rw.specialization, rw.load, rw.fit, rw.performance, rw.availability) == (0.35, 0.25, 0.20, 0.15, 0.05)
    assert rules.routing.threshold == 0.8 and rules.routing.mode == "suggest"
    assert dict(rules.topic_queues) == {
        "technical": "technical",
        "billing": "billing",
        "account": "accounts",
        "sales": "sales",
        "general": "general",
    }
    assert rules.business_hours.days == ["mon", "tue", "wed", "thu", "fri"]


def test_version_is_the_short_sha_of_the_text() -> None:
    a = Rules.parse(DEFAULT_TEXT)
    b = Rules.parse(DEFAULT_TEXT + "\n# a comment changes the version\n")
    assert len(a.version) == 12 and a.version != b.version
    assert RuleEngine(a).version == a.version


def test_queue_lookup() -> None:
    rules = Rules.parse(DEFAULT_TEXT)
    assert rules.queue_for("account") == "accounts"
    assert rules.queue_for("nonsense") == "general"


def test_channels_in_the_rules_file_are_refused_with_where_they_moved() -> None:
    """Queue → channel maps live once, in BATON_CONFIG; a rules file that still has them is told so."""
    text = DEFAULT_TEXT.replace("routing:\n", "routing:\n  channels: {billing: {slack: C0BILLING1}}\n", 1)
    with pytest.raises(RulesError) as err:
        Rules.parse(text)
    assert "queues.<queue>.channels" in str(err.value)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["priority", "weights", "tier"], 1.5, "priority.weights.tier: must be a number between 0 and 1"),
        (["priority", "weights", "tier"], "high", "priority.weights.tier: must be a number between 0 and 1"),
        (["priority", "weights", "tier"], 0.5, "priority.weights: must add up to 1.0"),
        (["routing", "weights", "load"], 0.5, "routing.weights: must add up to 1.0"),
        (["routing", "mode"], "auto", "routing.mode"),
        (["priority", "thresholds", "high"], 0.9, "priority.thresholds: must be ordered critical > high > medium"),
        (["business_hours", "timezone"], "Mars/Olympus", "business_hours.timezone: 'Mars/Olympus' is not an IANA"),
        (["business_hours", "start"], "9am", "business_hours.start: must be a time like 09:00"),
        (["confidence", "immediate_below"], -1, "confidence.immediate_below: must be a number between 0 and 1"),
        (["cues", "legal_threat", "level"], "soonish", "cues.legal_threat.level"),
        (["cues", "security", "phrases", 0], "[broken", "cues.security.phrases[0]"),
        (["cues", "security", "phrases", 1], "data|", "cues.security.phrases[1]"),
        (["complexity", "patterns", "error_code", "regex", 0], "(unclosed", "complexity.patterns.error_code.regex"),
        (["text", "stopwords"], ["fine", True], "text.stopwords: item 1 must be a non-empty string"),
        (["resolution", "suppresses"], ["no_such_rule"], "resolution.suppresses: unknown rule code(s) no_such_rule"),
    ],
)
def test_invalid_values_name_their_path(path: list[str | int], value: object, expected: str) -> None:
    message = _problem(_edited(path, value))
    assert message.startswith("rules.yaml: ")
    assert expected in message


def test_unknown_key_is_named() -> None:
    data = yaml.safe_load(DEFAULT_TEXT)
    data["confidence"]["imediate_below"] = 0.5
    assert "confidence.imediate_below: unknown key" in _problem(yaml.safe_dump(data, allow_unicode=True))


def test_cross_section_checks_name_the_section() -> None:
    data = yaml.safe_load(DEFAULT_TEXT)
    del data["topic_queues"]["sales"]
    message = _problem(yaml.safe_dump(data, allow_unicode=True))
    assert "rules.yaml: topic_queues: every topic needs a queue; missing sales" in message
    data = yaml.safe_load(DEFAULT_TEXT)
    del data["cues"]
    assert "rules.yaml: cues: is required" in _problem(yaml.safe_dump(data, allow_unicode=True))


def test_yaml_syntax_error_names_line() -> None:
    message = _problem("confidence:\n  immediate_below: [0.6\n")
    assert "not valid YAML" in message and "line" in message


def test_not_a_mapping_and_unreadable_file(tmp_path: Path) -> None:
    assert "must be a YAML mapping" in _problem("- just\n- a list\n")
    with pytest.raises(RulesError) as info:
        Rules.load(tmp_path / "missing.yaml")
    assert "cannot read the file" in str(info.value)


def test_errors_list_every_problem() -> None:
    data = yaml.safe_load(DEFAULT_TEXT)
    data["routing"]["threshold"] = 2
    data["priority"]["max_bump"] = -1
    with pytest.raises(RulesError) as info:
        Rules.parse(yaml.safe_dump(data, allow_unicode=True), "x.yaml")
    paths = {path for path, _ in info.value.problems}
    assert {"routing.threshold", "priority.max_bump"} <= paths
