"""The Teams integration: factory, outbox destination, ``/api/messages`` route, readiness and the start-up probe.

``teams_integration(settings, rt)`` returns None unless ``TEAMS_APP_ID`` + ``TEAMS_APP_PASSWORD`` (Bot Framework
authentication in both directions) or ``TEAMS_EMULATOR=true`` (local use, no authentication) are set.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from bot.teams.adapter import TeamsBot, TeamsConfig, TeamsHandlers
from bot.teams.calls import TeamsCalls
from bot.teams.listeners import TeamsListeners
from bot.teams.render import TeamsRenderer
from bot.teams.surface import SURFACE, TeamsSurface
from handoff.chat.commands import ChatCommands
from handoff.chat.delivery import CardDelivery
from handoff.chat.pacing import SurfaceHealth

log = logging.getLogger("baton.teams")
MESSAGES_PATH = "/api/messages"
BOT_SCOPE = "https://api.botframework.com/.default"


class TeamsIntegration:
    name = SURFACE

    def __init__(self, settings: Any, rt: Any) -> None:
        self.config = TeamsConfig.from_settings(settings)
        self.deps = rt.deps
        self.health = SurfaceHealth("Teams")
        crm_urls = {}
        if getattr(settings, "salesforce_instance_url", None):
            crm_urls["salesforce"] = settings.salesforce_instance_url.rstrip("/") + "/lightning/r/Case/{id}/view"
        self.renderer = TeamsRenderer(crm_urls=crm_urls)
        self.listeners: TeamsListeners | None = None
        self.bot = TeamsBot(self.config, TeamsHandlers(self._on_conversation, self._on_card_action, self._on_message))
        self.calls = TeamsCalls(self.bot, self._reference, self.health)
        self.surface = TeamsSurface(self.calls, self.renderer, rt.config,
                                    default_channel=settings.teams_default_channel)
        self.destination = CardDelivery(rt.deps, rt.queries, self.surface)
        self.destinations = [self.destination]
        self.listeners = TeamsListeners(deps=rt.deps, actions=rt.actions, queries=rt.queries, chat=rt.conversation,
                                        commands=ChatCommands(rt.actions, rt.queries, rt.analytics.today),
                                        surface=self.surface, renderer=self.renderer)

    # The adapter is built before the listeners (they need the surface, which needs the adapter): late binding.
    async def _on_conversation(self, conversation: Any) -> None:
        assert self.listeners is not None
        await self.listeners.on_conversation(conversation)

    async def _on_card_action(self, action: Any) -> dict[str, Any]:
        assert self.listeners is not None
        return await self.listeners.on_card_action(action)

    async def _on_message(self, context: Any) -> Any:
        assert self.listeners is not None
        return await self.listeners.on_message(context)

    async def _reference(self, key: str) -> Mapping[str, Any] | None:
        async with self.deps.uow(read_only=True) as uow:
            return await uow.chat.reference(SURFACE, key)

    def mount(self, app: Any) -> None:
        app.include_router(self.bot.router())

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.destination.aclose()
        await self.bot.aclose()

    def readiness(self) -> tuple[bool, str]:
        mode = "emulator (no authentication)" if self.config.emulator else "Bot Framework authentication"
        return self.health.ok, self.health.detail if not self.health.ok else f"ok, {mode} at {MESSAGES_PATH}"

    async def probe(self, seconds: float) -> tuple[bool, str]:
        """Ask the login service for the bot's token (proves TEAMS_APP_ID/PASSWORD); never shows the token."""
        if self.config.emulator:
            return True, f"emulator mode at {MESSAGES_PATH}: no Bot Framework authentication, local use only"
        provider = self.bot.connections.get_default_connection()
        try:
            await asyncio.wait_for(provider.get_access_token(BOT_SCOPE, [BOT_SCOPE]), seconds)
        except TimeoutError:
            return False, f"no token from the login service within {seconds:g} s"
        except Exception as exc:  # a refusal names only the OAuth error code (TokenUnavailable), never a secret
            return False, f"the login service refused the bot's credentials ({type(exc).__name__}: {exc})"
        return True, f"bot {self.config.app_id}, token issued, HTTP at {MESSAGES_PATH}"


def teams_integration(settings: Any, rt: Any) -> TeamsIntegration | None:
    """The Teams surface when configured: an app id and password, or emulator mode for local use."""
    if not (settings.teams_app_id and settings.teams_app_password) and not settings.teams_emulator:
        return None
    return TeamsIntegration(settings, rt)
