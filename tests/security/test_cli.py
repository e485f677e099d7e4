"""``app.py keys`` and ``app.py purge`` as an admin runs them (in-process ``main``, the real argument parsing)."""

from __future__ import annotations

import re
from typing import Any

import pytest


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("BATON_API_KEYS", "BATON_CONFIG", "SLACK_BOT_TOKEN", "HUBSPOT_ACCESS_TOKEN",
                 "SALESFORCE_INSTANCE_URL", "BATON_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)
    return db_url


def run(capsys: Any, *argv: str) -> tuple[int, str]:
    from app import main

    code = main(list(argv))
    return code, capsys.readouterr().out


def test_keys_create_list_revoke(env: str, capsys: Any) -> None:
    import asyncio

    code, out = run(capsys, "keys", "create", "--scope", "intake", "--name", "widget")
    assert code == 0
    key = re.search(r"^key: (bk_\S+)$", out, re.M)
    key_id = re.search(r"created (key_\w+) \(scope intake, widget\)", out)
    assert key and key_id and "only time the key is shown" in out
    secret, kid = key.group(1), key_id.group(1)

    code, listed = run(capsys, "keys", "list")
    assert code == 0 and secret not in listed and secret[11:] not in listed
    line = next(x for x in listed.splitlines() if x.startswith(kid))
    assert secret[:11] + "…" in line and " intake " in line and " widget " in line and "active" in line
    assert "last used -" in line

    async def use() -> Any:
        from app import build
        from handoff.services.keys import ApiKeys
        from settings import load_settings

        rt = build(load_settings(), integrations=[], with_log=False)
        try:
            return await ApiKeys(rt.deps).authenticate(secret)
        finally:
            await rt.engine.dispose()

    assert asyncio.run(use()).key_id == kid
    code, listed = run(capsys, "keys", "list")
    assert "last used -" not in next(x for x in listed.splitlines() if x.startswith(kid))

    code, out = run(capsys, "keys", "revoke", kid)
    assert code == 0 and f"revoked {kid}" in out
    assert asyncio.run(use()) is None
    code, listed = run(capsys, "keys", "list")
    assert "revoked 20" in next(x for x in listed.splitlines() if x.startswith(kid))
    code, out = run(capsys, "keys", "revoke", "key_nope")
    assert code == 1 and "no API key key_nope" in out


def test_keys_create_needs_a_scope(env: str, capsys: Any) -> None:
    with pytest.raises(SystemExit) as exc:
        run(capsys, "keys", "create")
    assert exc.value.code == 2 and "needs --scope" in capsys.readouterr().err


def test_purge_prints_counts_and_refuses_bad_ages(env: str, capsys: Any) -> None:
    code, out = run(capsys, "purge", "--older-than", "90d")
    assert code == 0 and "purged personal data of handoffs that ended before" in out
    assert re.search(r"^\s+handoffs\s+0$", out, re.M) and re.search(r"^\s+messages\s+0$", out, re.M)
    code, out = run(capsys, "purge", "--older-than", "0d")
    assert code == 2 and "positive number" in out
