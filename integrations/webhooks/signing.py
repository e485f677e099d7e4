"""Webhook signatures: ``Baton-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.

Receivers recompute the HMAC over the timestamp, a dot and the raw body bytes, compare in constant time, and
reject timestamps more than five minutes from their own clock, either way (replays): :func:`verify` does all of
that and is what ``docs/customer.md`` shows. Several ``v1=`` values may appear during a secret rotation. Dedupe
on ``Baton-Delivery-Id``: within the window a captured request can be replayed, and retries are the same id.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "Baton-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: bytes, body: bytes, header: str, now: int, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its timestamp is within ±``tolerance`` s of ``now``."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    ts = next((v for k, v in parts if k.strip() == "t"), None)
    if ts is None or not ts.strip().isdigit() or abs(now - int(ts)) > tolerance:
        return False
    expected = sign(secret, body, int(ts)).split("v1=", 1)[1]
    return any(hmac.compare_digest(v.strip(), expected) for k, v in parts if k.strip() == "v1")
