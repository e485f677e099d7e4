"""The gate in front of Bolt: a request to ``/slack/events`` is verified before anything runs or is sent.

Bolt checks signatures too (that check stays on), but only after it has parsed the body, and a garbled
timestamp or body raises inside Bolt, whose error handler would then answer the "user" of an unverified
request through the Web API. So our route checks first, with slack_sdk's :class:`SignatureVerifier` and
Slack's five-minute window, and refuses with 401 (unsigned, forged, stale) or 400 (a signed body that is not
what Slack sends) in the one error shape. Nothing of the request (body, signature) is logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt.request.internals import extract_content_type, parse_body
from slack_sdk.signature import Clock, SignatureVerifier

log = logging.getLogger("baton.slack")

WINDOW_SECONDS = 5 * 60  # Slack's replay window: a request older (or newer) than this is refused


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a request was refused: HTTP status, error code, and a message safe to return and to log."""

    status: int
    code: str
    message: str

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message}


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class SlackRequestGate:
    """Verifies a Slack request's signature and body shape; ``check`` returns None when it may go to Bolt.

    Args:
        signing_secret: the app's signing secret (``SLACK_SIGNING_SECRET``).
        clock: seconds since the epoch (tests move it).
    """

    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))

    def check(self, body: bytes, headers: Mapping[str, str]) -> Rejection | None:
        """The rejection for this request, or None. ``headers`` is case-insensitive (Starlette's) or lower-case."""
        rejection = self._signature(body, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature"))
        if rejection is None:
            rejection = self._shape(body, headers.get("content-type"))
        if rejection is not None:
            log.warning("refused a Slack request (%s, %d bytes): %s", rejection.code, len(body), rejection.message)
        return rejection

    def _signature(self, body: bytes, timestamp: str | None, signature: str | None) -> Rejection | None:
        if not timestamp or not signature:
            return Rejection(401, "unsigned_request",
                             "X-Slack-Request-Timestamp and X-Slack-Signature are required")
        try:
            sent_at = int(timestamp)
        except ValueError:
            return Rejection(401, "invalid_timestamp", "X-Slack-Request-Timestamp is not a Unix time in seconds")
        if abs(self.clock() - sent_at) > WINDOW_SECONDS:
            return Rejection(401, "stale_request", "the request timestamp is more than 5 minutes from now")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return Rejection(400, "invalid_body", "the request body is not UTF-8")
        if not self.verifier.is_valid(body, timestamp, signature):
            return Rejection(401, "invalid_signature", "the request signature does not match")
        return None

    @staticmethod
    def _shape(body: bytes, content_type: str | None) -> Rejection | None:
        """Parse the body exactly as Bolt will (so what passes here cannot make Bolt's parser raise)."""
        ctype = extract_content_type({"content-type": [content_type]} if content_type else {})
        try:
            parsed = parse_body(body.decode("utf-8"), ctype)
        except (json.JSONDecodeError, ValueError):
            return Rejection(400, "invalid_body", "the request body is not a Slack payload (malformed JSON)")
        if not isinstance(parsed, dict):
            return Rejection(400, "invalid_body", "the request body is not a Slack payload (not an object)")
        return None
