"""Identifiers: time-ordered (ULID-like) ids with a readable prefix, and unguessable tokens."""

from __future__ import annotations

import os
import re
import secrets
import time

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
#: What :func:`new_id` makes: a lowercase prefix, ``_`` and 26 Crockford base32 characters.
ID_PATTERN = re.compile(r"^[a-z]{1,8}_[0-9a-hjkmnp-tv-z]{26}$")


def new_id(prefix: str) -> str:
    """``<prefix>_`` + 26 base32 characters: 48 bits of milliseconds then 80 random bits, so ids sort by time."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return f"{prefix}_{''.join(reversed(chars))}"


def new_token() -> str:
    """A 256-bit URL-safe secret (the customer's handoff token)."""
    return secrets.token_urlsafe(32)
