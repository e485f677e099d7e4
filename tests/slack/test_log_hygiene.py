"""No request bodies, personal data or customer tokens in the logs (issue #10 item 9)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_payloads import sign_slack_request
from tests.slack.harness import Baton
from tests.support.factories import intake_body
from tests.support.server import serve_in_thread

pytestmark = pytest.mark.slow

MARKER = "sarah.chen.private@example.com"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")

    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def capturing(*names: str) -> Iterator[Capture]:
    """A handler on the root logger (and on ``names``, which do not propagate) at DEBUG for the duration."""
    cap = Capture()
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in names)]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(cap)
        lg.setLevel(logging.DEBUG)
    try:
        yield cap
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(cap)
            lg.setLevel(level)


def forged_body() -> bytes:
    filler = ("text=" + MARKER + "+" + "x" * 1000 + "&").encode()
    return b"command=%2Fhandoff&user_id=U0VICTIM9&channel_id=C0TECH00001&" + filler * 900  # ~900 KB


def test_a_forged_900kb_request_leaves_no_body_in_the_logs(baton: Baton, fake: FakeSlack) -> None:
    body = forged_body()
    assert len(body) > 900_000
    with capturing() as cap:
        r = baton.http.post("/slack/events", content=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            **sign_slack_request(body, "a-forger-does-not-know-the-secret")})
    assert r.status_code == 401
    assert "refused a Slack request (invalid_signature" in cap.text()  # it is logged, without the body
    assert MARKER not in cap.text() and "x" * 100 not in cap.text()
    # The service's own lines stay short (the test client's httpcore DEBUG lines grow with a slow machine).
    ours = [line for line in cap.text().splitlines() if not line.startswith(("httpcore.", "httpx"))]
    assert len("\n".join(ours)) < 2000


async def test_bolts_own_signature_check_logs_no_body(db_url: str, tmp_path: Path, fake: FakeSlack) -> None:
    """Bolt's check stays on behind ours; if it ever refuses a request, it must not quote the body either."""
    from slack_bolt.request.async_request import AsyncBoltRequest

    from app import build
    from bot.slack.integration import slack_integration
    from tests.slack.harness import write_config

    settings = make_settings(db_url, SLACK_BOT_TOKEN=fake.token, SLACK_SIGNING_SECRET=fake.signing_secret,
                             SLACK_API_URL=fake.base_url, BATON_CONFIG=str(write_config(tmp_path)))
    rt = build(settings, integrations=[slack_integration], with_log=False)
    try:
        bolt = rt.integrations[0].bolt
        body = forged_body().decode()
        headers = {"content-type": "application/x-www-form-urlencoded",
                   **{k.lower(): v for k, v in sign_slack_request(body.encode(), "wrong").items()}}
        with capturing() as cap:
            response = await bolt.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        assert response.status == 401
        assert "invalid signature (body not logged)" in cap.text()
        assert MARKER not in cap.text() and len(cap.text()) < 2000
    finally:
        await rt.engine.dispose()


def test_customer_tokens_never_reach_the_access_log(db_url: str) -> None:
    import app
    from app import build, create_app

    app._logging("INFO")  # the process's logging set-up, as `python app.py serve` runs it before uvicorn
    rt = build(make_settings(db_url), with_log=False)
    # uvicorn configures its loggers when it starts (dictConfig): capture after that, as its own handler would.
    with serve_in_thread(create_app(rt), access_log=True, log_level="info") as base, capturing("uvicorn.access") as cap:
        with httpx.Client(base_url=base, timeout=10) as http:
            created = http.post("/v1/handoffs", json=intake_body(),
                                headers={"Authorization": "Bearer " + rt.settings.api_keys[0]}).json()
            hid, token = created["id"], created["customer_token"]
            assert http.get(f"/v1/handoffs/{hid}/status", params={"token": token}).status_code == 200
            http.get(f"/v1/handoffs/{hid}/events?token=secret-customer-token-123&x=1", timeout=2)
    access = [line for line in cap.lines if line.startswith("uvicorn.access")]
    assert any(f"/v1/handoffs/{hid}/status?token=[redacted]" in line for line in access), access
    assert any("events?token=[redacted]&x=1" in line for line in access), access
    assert token not in cap.text() and "secret-customer-token-123" not in cap.text()
