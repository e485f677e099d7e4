"""API keys: scopes, who a key belongs to, and how keys are made and hashed.

A key is ``bk_`` + 43 URL-safe characters (256 random bits). Only its SHA-256 is stored: with that much
entropy a plain hash cannot be brute-forced, and it lets the store find the key by an indexed equality. The
first characters (``prefix``) are kept in clear so an admin can tell keys apart in ``keys list``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

KEY_PREFIX = "bk_"
SHOWN_CHARS = 11  # "bk_" + 8: enough to recognise a key, far too little to guess the rest


class Scope(StrEnum):
    """What a key may do. ``admin`` may do everything; the others only their own endpoints."""

    INTAKE = "intake"  # the widget's back end: POST /v1/handoffs, POST /v1/evaluate
    AGENT = "agent"  # agent tools: actions, notes, replies, reads
    ADMIN = "admin"  # everything, including PUT /v1/agents/{id} and rules reload


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id, its name and its scope."""

    key_id: str
    name: str | None
    scope: Scope

    def allows(self, needed: Scope) -> bool:
        return self.scope is Scope.ADMIN or self.scope is needed


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key (never the key itself)."""

    id: str
    name: str | None
    scope: Scope
    prefix: str
    key_hash: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


def hash_key(key: str) -> str:
    """The stored form of a key: hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh random key, shown once to the admin who creates it."""
    return KEY_PREFIX + secrets.token_urlsafe(32)
