"""The receiver-side check of ``Baton-Signature``: HMAC over ``t.body``, constant-time, timestamp within ±5 min."""

from __future__ import annotations

import time

import pytest

from integrations.webhooks.signing import TOLERANCE_SECONDS, sign, verify

SECRET = b"whsec_" + b"k" * 32
BODY = b'{"id":7,"type":"agent_joined"}'
T = 1_800_000_000


def test_the_window_is_five_minutes_either_way() -> None:
    assert TOLERANCE_SECONDS == 300
    header = sign(SECRET, BODY, T)
    assert verify(SECRET, BODY, header, now=T + 300) and verify(SECRET, BODY, header, now=T - 300)
    assert not verify(SECRET, BODY, header, now=T + 301)  # a replay, too late
    assert not verify(SECRET, BODY, header, now=T - 301)  # from the future: a clock far off, or forged
    assert verify(SECRET, BODY, header, now=T + 3600, tolerance=3600)


def test_a_changed_timestamp_breaks_the_signature() -> None:
    mac = sign(SECRET, BODY, T).split("v1=", 1)[1]
    assert not verify(SECRET, BODY, f"t={T + 10},v1={mac}", now=T + 10)  # replaying with a fresh t= fails


@pytest.mark.parametrize("header", ["", "garbage", f"v1={'0' * 64}", "t=,v1=abc", "t=abc,v1=abc",
                                    f"t=-{T},v1=abc", f"t={T}", f"t={T},v1=", f"t={T},v0={'0' * 64}"])
def test_malformed_headers_are_refused(header: str) -> None:
    assert not verify(SECRET, BODY, header, now=T)


def test_it_verifies_what_the_destination_sends_now() -> None:
    now = int(time.time())
    assert verify(SECRET, BODY, sign(SECRET, BODY, now), now=now)
