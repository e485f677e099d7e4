"""API keys as an admin manages them (``app.py keys``) and as every ``/v1`` request presents them.

Keys live hashed in the database, several per deployment, each with a scope; ``BATON_API_KEYS`` keys are
``admin`` keys hashed in memory at start-up. A presented key is hashed and compared in constant time; results
are cached for ``cache_seconds`` (default 10) per process, so a key revoked by another process (the CLI) stops
working there within that time, and at once in the process that revoked it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from handoff.auth import SHOWN_CHARS, ApiKey, Principal, Scope, hash_key, new_key
from handoff.errors import InvalidCommand, NotFound
from handoff.ids import new_id
from handoff.services.common import Deps

_MAX_CACHED = 10_000
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: ``secret`` is the key itself, shown once and stored nowhere."""

    key: ApiKey
    secret: str


@dataclass(frozen=True, slots=True)
class _Cached:
    principal: Principal | None
    until: datetime


class ApiKeys:
    """Create, list, revoke and check API keys.

    Args:
        deps: the shared use-case dependencies (unit of work, clock).
        env_keys: the ``BATON_API_KEYS`` keys (admin scope); only their hashes are kept.
        cache_seconds: how long a check's answer is reused in this process.
    """

    def __init__(self, deps: Deps, env_keys: Sequence[str] = (), *, cache_seconds: float = 10.0) -> None:
        self.deps = deps
        self._env = [hash_key(k) for k in env_keys]
        self._ttl = timedelta(seconds=cache_seconds)
        self._cache: dict[str, _Cached] = {}

    async def create(self, scope: Scope | str, name: str | None = None) -> CreatedKey:
        """A new random key with ``scope``; the returned ``secret`` is the only copy of it.

        Raises:
            InvalidCommand: an unknown scope or an overlong name.
        """
        try:
            scope = Scope(scope)
        except ValueError:
            raise InvalidCommand(f"scope must be one of {', '.join(s.value for s in Scope)}", field="scope") from None
        if name is not None and len(name) > 100:
            raise InvalidCommand("a key name is limited to 100 characters", field="name")
        secret = new_key()
        key = ApiKey(id=new_id("key"), name=name, scope=scope, prefix=secret[:SHOWN_CHARS], key_hash=hash_key(secret),
                     created_at=self.deps.now())
        async with self.deps.uow() as uow:
            await uow.api_keys.add(key)
            await uow.commit()
        return CreatedKey(key, secret)

    async def list(self) -> Sequence[ApiKey]:
        """Every stored key, oldest first, revoked ones included (they show when they were revoked)."""
        async with self.deps.uow(read_only=True) as uow:
            return await uow.api_keys.list()

    async def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key: it stops working here at once and in other processes within ``cache_seconds``.

        Raises:
            NotFound: no key with that id.
        """
        now = self.deps.now()
        async with self.deps.uow() as uow:
            await uow.api_keys.revoke(key_id, now)
            keys = {k.id: k for k in await uow.api_keys.list()}
            await uow.commit()
        if key_id not in keys:
            raise NotFound(f"no API key {key_id}")
        self._cache.pop(keys[key_id].key_hash, None)
        return keys[key_id]

    async def authenticate(self, presented: str) -> Principal | None:
        """Who holds ``presented``, or None for an unknown or revoked key."""
        digest = hash_key(presented)
        env_hit = -1
        for i, known in enumerate(self._env):  # compare with every key: timing does not tell which one matched
            if hmac.compare_digest(digest, known):
                env_hit = i
        if env_hit >= 0:
            return Principal(key_id=f"env:{env_hit + 1}", name="BATON_API_KEYS", scope=Scope.ADMIN)
        now = self.deps.now()
        cached = self._cache.get(digest)
        if cached is not None and cached.until > now:
            return cached.principal
        async with self.deps.uow(read_only=True) as uow:
            key = await uow.api_keys.by_hash(digest)
        valid = key is not None and hmac.compare_digest(key.key_hash, digest) and key.revoked_at is None
        principal = Principal(key.id, key.name, key.scope) if valid and key is not None else None
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()  # a flood of made-up keys must not grow memory without bound
        self._cache[digest] = _Cached(principal, now + self._ttl)
        if principal is not None and key is not None and (key.last_used_at is None
                                                          or now - key.last_used_at >= _TOUCH_EVERY):
            async with self.deps.uow() as uow:
                await uow.api_keys.touch(key.id, now)
                await uow.commit()
        return principal

    # ---- browser sessions (the dashboard): a signed, expiring token instead of the key ------------------------

    async def session(self, presented: str, lifetime: timedelta) -> tuple[Principal, str] | None:
        """Exchange a valid key for a browser session token: ``<key id>.<expiry>.<MAC>``, the MAC keyed with the
        key's stored hash. The key itself never goes into the cookie; revoking the key ends its sessions."""
        principal = await self.authenticate(presented)
        if principal is None:
            return None
        until = int((self.deps.now() + lifetime).timestamp())
        return principal, f"{principal.key_id}.{until}.{_mac(hash_key(presented), principal.key_id, until)}"

    async def from_session(self, token: str | None) -> Principal | None:
        """Who a session token belongs to, or None (malformed, expired, forged, or its key revoked)."""
        key_id, _, rest = (token or "")[:300].partition(".")
        until_text, _, mac = rest.partition(".")
        if not key_id or not until_text.isdigit() or not mac:
            return None
        until = int(until_text)
        if until < self.deps.now().timestamp():
            return None
        if key_id.startswith("env:"):
            index = key_id[4:]
            if not index.isdigit() or not 1 <= int(index) <= len(self._env):
                return None
            digest, principal = self._env[int(index) - 1], Principal(key_id, "BATON_API_KEYS", Scope.ADMIN)
        else:
            async with self.deps.uow(read_only=True) as uow:
                key = await uow.api_keys.by_id(key_id)
            if key is None or key.revoked_at is not None:
                return None
            digest, principal = key.key_hash, Principal(key.id, key.name, key.scope)
        return principal if hmac.compare_digest(mac, _mac(digest, key_id, until)) else None


def _mac(key_hash: str, key_id: str, until: int) -> str:
    return hmac.new(bytes.fromhex(key_hash), f"baton-session|{key_id}|{until}".encode(), hashlib.sha256).hexdigest()
