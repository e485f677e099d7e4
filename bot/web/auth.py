"""API-key authentication and scopes for ``/v1``: 401 without a valid key, 403 for a key outside its scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Header, Request

from handoff.auth import Principal, Scope
from handoff.errors import Forbidden, Unauthorized
from handoff.services.keys import ApiKeys


class KeyAuth:
    """Checks ``Authorization: Bearer <key>`` against :class:`~handoff.services.keys.ApiKeys`."""

    def __init__(self, keys: ApiKeys) -> None:
        self.keys = keys

    async def check_key(self, authorization: str | None) -> Principal:
        """The principal behind an ``Authorization`` header value (usable by middleware before the body is read).

        Raises:
            Unauthorized: no bearer token, or an unknown or revoked key.
        """
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("send 'Authorization: Bearer <API key>'")
        if len(token) > 512:
            raise Unauthorized("unknown API key")
        principal = await self.keys.authenticate(token)
        if principal is None:
            raise Unauthorized("unknown API key")
        return principal

    def require(self, scope: Scope) -> Callable[..., Awaitable[Principal]]:
        """A FastAPI dependency: a valid key whose scope covers ``scope``."""

        # async on purpose: FastAPI runs plain-def dependencies in a thread pool, a thread hop per request.
        async def dependency(request: Request,
                             authorization: Annotated[str | None, Header()] = None) -> Principal:
            principal = await self.check_key(authorization)
            if not principal.allows(scope):
                raise Forbidden(f"this API key has scope '{principal.scope.value}'; "
                                f"{request.method} {request.url.path} needs '{scope.value}' (or 'admin')",
                                scope=principal.scope.value, required=scope.value)
            request.state.principal = principal
            return principal

        return dependency
