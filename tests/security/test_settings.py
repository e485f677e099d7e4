"""Secrets from the environment or from ``<NAME>_FILE`` files, for every secret setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from settings import SettingsError, load_settings, secret_variables


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in secret_variables():
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


def test_every_secret_setting_accepts_a_file() -> None:
    assert set(secret_variables()) >= {
        "DATABASE_URL", "BATON_API_KEYS", "BATON_WEBHOOK_SECRET", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN", "TEAMS_APP_PASSWORD", "SALESFORCE_ACCESS_TOKEN", "SALESFORCE_PASSWORD",
        "SALESFORCE_SECURITY_TOKEN", "HUBSPOT_ACCESS_TOKEN"}


def test_values_come_from_files_without_the_trailing_newline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"SLACK_BOT_TOKEN": "xoxb-from-file", "BATON_API_KEYS": "k1,k2", "HUBSPOT_ACCESS_TOKEN": "pat-na1-x",
             "DATABASE_URL": "postgresql://baton:s3cret@db/baton"}
    for name, value in files.items():
        (tmp_path / name).write_text(value + "\n")
        monkeypatch.setenv(f"{name}_FILE", str(tmp_path / name))
    s = load_settings()
    assert s.slack_bot_token is not None and s.slack_bot_token.get_secret_value() == "xoxb-from-file"
    assert s.api_keys == ["k1", "k2"]
    assert s.hubspot_access_token is not None and s.hubspot_access_token.get_secret_value() == "pat-na1-x"
    assert s.database_url == "postgresql://baton:s3cret@db/baton"
    assert "xoxb-from-file" not in repr(s)


def test_both_a_value_and_a_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "t").write_text("a")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "b")
    monkeypatch.setenv("SLACK_SIGNING_SECRET_FILE", str(tmp_path / "t"))
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET: set SLACK_SIGNING_SECRET or "
                                            "SLACK_SIGNING_SECRET_FILE, not both"):
        load_settings()


def test_unreadable_or_empty_files_are_named_without_their_content(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_WEBHOOK_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match=r"BATON_WEBHOOK_SECRET_FILE: cannot read .*missing \(No such file"):
        load_settings()
    (tmp_path / "empty").write_text("\n")
    monkeypatch.setenv("BATON_WEBHOOK_SECRET_FILE", str(tmp_path / "empty"))
    with pytest.raises(SettingsError, match="is empty"):
        load_settings()


def test_the_cli_reports_a_bad_secret_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import main

    monkeypatch.setenv("BATON_API_KEYS_FILE", str(tmp_path / "nope"))
    with pytest.raises(SystemExit, match="baton: invalid environment:\n  BATON_API_KEYS_FILE: cannot read"):
        main(["keys", "list"])
