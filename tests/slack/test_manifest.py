"""manifest.yml: a complete Slack app manifest, checked offline against the rules we can verify."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft7Validator

from bot.slack.ids import COMMAND
from bot.slack.integration import EVENTS_PATH
from tests.support.conformance import conformance_path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = conformance_path("slack", "slack-app-manifest.schemastore.schema.json")
#: Slack's bot scopes (docs.slack.dev/reference/scopes) that a manifest may name; a typo fails here.
KNOWN_BOT_SCOPES = {
    "app_mentions:read", "channels:history", "channels:join", "channels:manage", "channels:read", "chat:write",
    "chat:write.customize", "chat:write.public", "commands", "emoji:read", "files:read", "files:write",
    "groups:history", "groups:read", "groups:write", "im:history", "im:read", "im:write", "links:read",
    "links:write", "mpim:history", "mpim:read", "mpim:write", "pins:read", "pins:write", "reactions:read",
    "reactions:write", "team:read", "users:read", "users:read.email", "users:write", "usergroups:read",
}
#: Which scope each bot event needs (docs.slack.dev/reference/events).
EVENT_SCOPES = {"message.channels": "channels:history", "message.groups": "groups:history",
                "message.im": "im:history", "app_mention": "app_mentions:read", "app_home_opened": None}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "manifest.yml").read_text()))


def test_validates_against_the_schemastore_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = [f"{list(e.path)}: {e.message}" for e in Draft7Validator(schema).iter_errors(manifest)]
    assert errors == []


def test_required_parts_are_present(manifest: dict[str, Any]) -> None:
    assert manifest["display_information"]["name"]
    assert len(manifest["display_information"]["description"]) <= 140
    assert 175 <= len(manifest["display_information"]["long_description"]) <= 4000
    assert manifest["features"]["bot_user"]["display_name"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [COMMAND]


def test_scopes_are_known_least_privilege_and_cover_every_event(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert set(scopes) <= KNOWN_BOT_SCOPES
    assert len(scopes) == len(set(scopes))
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    needed = {EVENT_SCOPES[e] for e in events} - {None}
    needed |= {"chat:write", "commands", "users:read"}  # posting cards; the slash command; agents' names
    assert set(scopes) == needed, "every scope must be needed by an event, the command or posting"


def test_every_scope_is_justified_in_a_comment() -> None:
    text = (ROOT / "manifest.yml").read_text().splitlines()
    for i, line in enumerate(text):
        if line.strip().startswith("- ") and ":" in line and "scopes" in "\n".join(text[max(0, i - 12):i]):
            scope = line.strip()[2:].strip()
            if scope in KNOWN_BOT_SCOPES:
                assert text[i - 1].strip().startswith("#"), f"scope {scope} has no comment above it"


def test_urls_are_https_and_point_at_the_bolt_endpoint(manifest: dict[str, Any]) -> None:
    urls = [manifest["settings"]["event_subscriptions"]["request_url"],
            manifest["settings"]["interactivity"]["request_url"],
            *(c["url"] for c in manifest["features"]["slash_commands"])]
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme == "https" and parts.netloc and parts.path == EVENTS_PATH, url
