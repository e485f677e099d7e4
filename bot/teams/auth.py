"""Inbound Bot Framework authentication: validate the JWT that Azure Bot Service sends with every activity.

The checks are those of the Bot Connector authentication spec (MicrosoftDocs/bot-docs
``rest-api/bot-framework-rest-connector-authentication.md``, "Authenticate requests from the Bot Connector service to
your bot"): a ``Bearer`` token, RS256-signed by a key listed in the JWKS that the OpenID metadata document points at,
``iss`` = ``https://api.botframework.com``, ``aud`` = the bot's app id, not expired (5 minutes of clock skew), the
signing key endorsed for the activity's ``channelId``, and a ``serviceurl`` claim equal to the activity's
``serviceUrl``.

Why not the SDK's ``JwtAuthorizationMiddleware``: its ``JwtTokenValidator`` picks the JWKS address from constants
(``login.botframework.com``) with no override, checks the issuer only when ``VALIDATE_ISSUER`` is opted into, and does
not check endorsements. This validator reuses the same library (PyJWT) and returns the SDK's ``ClaimsIdentity``, which
``CloudAdapter`` reads from ``request.state.claims_identity`` — the hook the SDK's own middleware uses.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from microsoft_agents.hosting.core import ClaimsIdentity

__all__ = ["BOTFRAMEWORK_ISSUER", "BOTFRAMEWORK_OPENID_METADATA_URL", "ChannelAuthError", "ChannelTokenValidator"]

log = logging.getLogger("baton.teams.auth")

BOTFRAMEWORK_OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
BOTFRAMEWORK_ISSUER = "https://api.botframework.com"
CLOCK_SKEW_SECONDS = 300  # "Industry-standard clock-skew is 5 minutes"
# "may be cached for long periods of time (by default, 5 days within the Bot Builder SDK)"
KEYS_TTL_SECONDS = 5 * 24 * 3600
MIN_REFRESH_SECONDS = 60  # an unknown key id refetches the keys at most this often


class ChannelAuthError(Exception):
    """A request that did not prove it comes from the Bot Framework channel. ``reason`` never holds the token."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


@dataclass(frozen=True)
class _Key:
    jwk: jwt.PyJWK
    endorsements: frozenset[str] | None


class ChannelTokenValidator:
    """Validates Bot Framework channel tokens against keys published through OpenID metadata.

    Args:
        app_id: the bot's Microsoft App ID (the expected ``aud``).
        metadata_url: the OpenID metadata document (``TEAMS_OPENID_METADATA_URL``).
        http: the client used to fetch metadata and keys (one per app; closed by its owner).
        clock: seconds since the epoch (tests may pass their own).
    """

    def __init__(self, app_id: str, *, metadata_url: str = BOTFRAMEWORK_OPENID_METADATA_URL,
                 http: httpx.AsyncClient, clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.app_id, self.metadata_url, self._http, self._clock = app_id, metadata_url, http, clock
        self._keys: dict[str, _Key] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def validate(self, authorization: str | None, *, channel_id: str | None,
                       service_url: str | None) -> ClaimsIdentity:  # fmt: skip
        """Check the ``Authorization`` header of one inbound activity.

        Returns:
            The token's claims as the SDK's ``ClaimsIdentity``.

        Raises:
            ChannelAuthError: 401 when the token is missing, malformed, badly signed, expired or for another audience
                or issuer; 403 when a valid token does not cover this activity (endorsement, serviceUrl).
        """
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ChannelAuthError(401, "unauthorized", "a Bot Framework bearer token is required")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise ChannelAuthError(401, "unauthorized", "the bearer token is not a JWT") from None
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise ChannelAuthError(401, "unauthorized", "the token must be RS256-signed with a key id")
        key = await self._key(header["kid"])
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.jwk, algorithms=["RS256"], audience=self.app_id, issuer=BOTFRAMEWORK_ISSUER,
                leeway=CLOCK_SKEW_SECONDS, options={"require": ["exp", "iss", "aud"]})  # fmt: skip
        except jwt.ExpiredSignatureError:
            raise ChannelAuthError(401, "unauthorized", "the token has expired") from None
        except jwt.InvalidAudienceError:
            raise ChannelAuthError(401, "unauthorized", "the token is for another app") from None
        except jwt.InvalidIssuerError:
            raise ChannelAuthError(401, "unauthorized", "the token was not issued by the Bot Framework") from None
        except jwt.InvalidTokenError as exc:
            raise ChannelAuthError(401, "unauthorized", f"the token is invalid ({type(exc).__name__})") from None
        if key.endorsements is not None and channel_id not in key.endorsements:
            raise ChannelAuthError(403, "forbidden", "the signing key is not endorsed for this channel")
        claimed = claims.get("serviceurl")
        if not isinstance(claimed, str) or not service_url or claimed.rstrip("/") != service_url.rstrip("/"):
            raise ChannelAuthError(403, "forbidden", "the token's serviceUrl does not match the activity")
        return ClaimsIdentity(claims, authentication_type="Bearer", security_token=token)

    async def _key(self, kid: str) -> _Key:
        async with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at > KEYS_TTL_SECONDS
            unknown = kid not in self._keys and (
                self._fetched_at is None or now - self._fetched_at > MIN_REFRESH_SECONDS)
            if stale or unknown:
                await self._refresh(now)
            key = self._keys.get(kid)
        if key is None:
            raise ChannelAuthError(401, "unauthorized", "the token is signed by an unknown key")
        return key

    async def _refresh(self, now: float) -> None:
        try:
            metadata = (await self._http.get(self.metadata_url)).raise_for_status().json()
            jwks = (await self._http.get(str(metadata["jwks_uri"]))).raise_for_status().json()
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.warning("could not refresh Bot Framework signing keys (%s)", type(exc).__name__)
            if not self._keys:
                raise ChannelAuthError(503, "auth_unavailable",
                                       "the Bot Framework signing keys are unreachable") from None
            return  # keep serving with the keys we have
        keys: dict[str, _Key] = {}
        for data in jwks.get("keys", []):
            if not isinstance(data, dict) or not isinstance(data.get("kid"), str):
                continue
            try:
                jwk = jwt.PyJWK(data, algorithm="RS256")
            except jwt.PyJWTError:
                continue
            endorsements = data.get("endorsements")
            keys[data["kid"]] = _Key(jwk, frozenset(endorsements) if isinstance(endorsements, list) else None)
        self._keys, self._fetched_at = keys, now
