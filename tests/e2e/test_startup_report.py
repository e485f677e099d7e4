"""The start-up banner says "configured" only for integrations that exist and answered (issue #9 point 2)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_settings
from tests.fakes.hubspot_api import FakeHubSpot
from tests.fakes.slack_api import FakeSlack
from tests.slack.harness import write_config
from tests.support.server import free_port


async def report(db_url: str, tmp_path: Path, **env: str) -> str:
    from app import build, startup_report

    settings = make_settings(db_url, BATON_CONFIG=str(write_config(tmp_path)), **env)
    rt = build(settings, with_log=False)
    try:
        return "\n".join(await startup_report(settings, rt, seconds=2.0))
    finally:
        await rt.engine.dispose()


def line(text: str, name: str) -> str:
    return next(x for x in text.splitlines() if x.strip().startswith(name))


async def test_answering_services_are_configured(sqlite_url: str, tmp_path: Path) -> None:
    from tests.crm.conftest import hs_env, sf_env
    from tests.fakes.salesforce_api import FakeSalesforce

    with FakeSlack() as slack, FakeSalesforce() as sf, FakeHubSpot() as hs:
        text = await report(sqlite_url, tmp_path, SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET="s",
                            SLACK_API_URL=slack.base_url, **sf_env(sf), **hs_env(hs))
        assert slack.calls_to("auth.test") and hs.calls_count("GET", "/crm/v3/pipelines/tickets") == 1
    assert line(text, "Slack").split(None, 1)[1].startswith("configured (workspace Baton Test, bot @baton")
    assert "configured (API v59.0" in line(text, "Salesforce") and "daily API requests left" in line(text, "Salesforce")
    assert "configured (1 ticket pipeline(s)" in line(text, "HubSpot")
    assert line(text, "Microsoft Teams").split(None, 2)[2].startswith("not configured — set TEAMS_APP_ID")
    for secret in (slack.token, sf.session_id, hs.access_token):
        assert secret not in text


async def test_services_that_do_not_answer_are_not_configured(sqlite_url: str, tmp_path: Path) -> None:
    with FakeHubSpot() as hs:
        hs_url, token = hs.base_url, hs.access_token
    # HubSpot's fake is stopped now (nothing listens there); Slack answers but has revoked the token.
    with FakeSlack() as slack:
        slack.revoke_token()
        text = await report(sqlite_url, tmp_path, SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET="s",
                            SLACK_API_URL=slack.base_url, HUBSPOT_ACCESS_TOKEN=token, HUBSPOT_API_URL=hs_url,
                            SALESFORCE_INSTANCE_URL=f"http://127.0.0.1:{free_port()}",
                            SALESFORCE_ACCESS_TOKEN="00Dsecret-session-id", TEAMS_APP_ID="abc",
                            TEAMS_APP_PASSWORD="pw")
    assert line(text, "Slack").endswith("configured but not answering: token_revoked")
    assert line(text, "Slack").split(None, 1)[1].startswith("configured but not answering: ")
    assert line(text, "Salesforce").split(None, 1)[1].startswith("configured but not answering: ")
    assert line(text, "HubSpot").split(None, 1)[1].startswith("configured but not answering: ")
    # Teams' login service is out of reach here: the bot's token cannot be had, so it is not "configured".
    assert line(text, "Microsoft Teams").split(None, 2)[2].startswith("configured but not answering: ")
    for secret in (slack.token, "00Dsecret-session-id", token):
        assert secret not in text


async def test_a_rejected_slack_token_says_why(sqlite_url: str, tmp_path: Path) -> None:
    with FakeSlack() as slack:
        text = await report(sqlite_url, tmp_path, SLACK_BOT_TOKEN="xoxb-not-a-known-token",
                            SLACK_SIGNING_SECRET="s", SLACK_API_URL=slack.base_url)
    assert line(text, "Slack").endswith("configured but not answering: invalid_auth")
    assert "not configured — set HUBSPOT_ACCESS_TOKEN" in line(text, "HubSpot")
