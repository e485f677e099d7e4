"""Outbound Bot Framework authentication: the bot's client-credentials token for the Bot Connector, through MSAL.

The SDK's own provider (``microsoft_agents.authentication.msal.MsalAuth``) builds its MSAL application without
``instance_discovery=False``, so any authority host that is not a Microsoft login host is first "validated" at
``https://login.microsoftonline.com/common/discovery/instance`` (and its port is dropped). That makes a local token
endpoint unreachable in tests without patching SDK internals. The SDK's supported extension point is the
``AccessTokenProviderBase`` protocol, handed to ``ConnectionManager(provider_factory=...)``; this class implements it
with the same library (``msal.ConfidentialClientApplication``, client secret, token cache) and an authority that
settings may override (``TEAMS_AUTHORITY``). For the default authority (a Microsoft host) instance discovery is a
no-op anyway, so production behaves as ``MsalAuth`` does.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import msal
from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential
from microsoft_agents.hosting.core import AgentAuthConfiguration, AuthTypes

__all__ = ["DEFAULT_AUTHORITY_HOST", "MsalClientCredentials", "TokenUnavailable", "default_authority"]

log = logging.getLogger("baton.teams.credentials")

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
BOT_SCOPE = "https://api.botframework.com/.default"


class TokenUnavailable(Exception):
    """The login service refused or could not issue the bot's token. Carries the OAuth error code only."""


def default_authority(tenant_id: str | None) -> str:
    """``https://login.microsoftonline.com/<tenant>``; multi-tenant bots use the ``botframework.com`` tenant."""
    return f"{DEFAULT_AUTHORITY_HOST}/{tenant_id or 'botframework.com'}"


class MsalClientCredentials:
    """An ``AccessTokenProviderBase`` for the Agents SDK: OAuth 2.0 client credentials via MSAL, cached until expiry.

    Args:
        configuration: the SDK connection settings (``CLIENT_ID``, ``CLIENT_SECRET``, ``AUTHORITY``/``TENANT_ID``).
    """

    def __init__(self, configuration: AgentAuthConfiguration) -> None:
        if configuration.AUTH_TYPE != AuthTypes.client_secret or not configuration.CLIENT_ID:
            raise ValueError("MsalClientCredentials needs AUTH_TYPE client_secret and a CLIENT_ID")
        self._configuration = configuration
        self._app: msal.ConfidentialClientApplication | None = None
        self._app_lock = threading.Lock()

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self._configuration

    def _client(self) -> msal.ConfidentialClientApplication:
        with self._app_lock:  # MSAL discovers the authority's endpoints when the application is built
            if self._app is None:
                cfg = self._configuration
                self._app = msal.ConfidentialClientApplication(
                    cfg.CLIENT_ID, client_credential=cfg.CLIENT_SECRET,
                    authority=cfg.AUTHORITY or default_authority(cfg.TENANT_ID),
                    instance_discovery=False, token_cache=msal.TokenCache())  # fmt: skip
            return self._app

    def _acquire(self, scopes: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = self._client().acquire_token_for_client(scopes=scopes)  # served from cache if valid
        if "access_token" not in result:
            code = str(result.get("error") or "no_token")
            log.error("the login service refused the bot's token request (%s)", code)
            raise TokenUnavailable(code)
        return result

    async def get_access_token(self, resource_url: str, scopes: list[str], force_refresh: bool = False) -> str:
        """A bearer token for the Bot Connector (``scopes`` default to ``https://api.botframework.com/.default``)."""
        result = await asyncio.to_thread(self._acquire, list(scopes or [BOT_SCOPE]))
        return str(result["access_token"])

    def get_token_credential(self) -> AsyncTokenCredential:
        provider = self

        class _Credential(AsyncTokenCredential):
            async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
                result = await asyncio.to_thread(provider._acquire, list(scopes or (BOT_SCOPE,)))
                return AccessToken(str(result["access_token"]), int(time.time()) + int(result.get("expires_in", 0)))

            async def close(self) -> None:
                return None

            async def __aexit__(self, *args: object) -> None:
                return None

        return _Credential()

    async def acquire_token_on_behalf_of(self, scopes: list[str], user_assertion: str) -> str:
        raise NotImplementedError("Baton's Teams bot uses no user sign-in (on-behalf-of)")

    async def get_agentic_application_token(self, tenant_id: str, agent_app_instance_id: str) -> str | None:
        raise NotImplementedError("agentic identities are not used by Baton")

    async def get_agentic_instance_token(self, tenant_id: str, agent_app_instance_id: str) -> tuple[str, str]:
        raise NotImplementedError("agentic identities are not used by Baton")

    async def get_agentic_user_token(self, tenant_id: str, agent_app_instance_id: str, agentic_user_id: str,
                                     scopes: list[str]) -> str | None:  # fmt: skip
        raise NotImplementedError("agentic identities are not used by Baton")
