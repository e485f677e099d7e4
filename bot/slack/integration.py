"""The Slack integration: factory, outbox destination, ``/slack/events`` route, Socket Mode, readiness.

``slack_integration(settings, rt)`` returns None unless ``SLACK_BOT_TOKEN`` and ``SLACK_SIGNING_SECRET``
(HTTP mode) or ``SLACK_APP_TOKEN`` (Socket Mode) are set. Socket Mode is started in :meth:`start`; it is not
exercised against real Slack in the tests (no network) — the HTTP mode shares every listener with it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from fastapi import Request
from fastapi.responses import JSONResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.app import build_bolt_app
from bot.slack.calls import SlackCalls
from bot.slack.home import HomePublisher
from bot.slack.people import People, SlackHealth
from bot.slack.render import SlackRenderer
from bot.slack.services import SlackServices
from bot.slack.surface import SlackSurface
from bot.slack.verify import SlackRequestGate
from handoff.chat.commands import ChatCommands
from handoff.chat.delivery import CardDelivery

log = logging.getLogger("baton.slack")
EVENTS_PATH = "/slack/events"


class SlackIntegration:
    name = "slack"

    def __init__(self, settings: Any, rt: Any) -> None:
        token = settings.slack_bot_token.get_secret_value()
        secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
        self.app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
        self.client = AsyncWebClient(token=token, base_url=settings.slack_api_url)
        self.health = SlackHealth()
        self.calls = SlackCalls(self.client, self.health)
        crm_urls = {}
        if getattr(settings, "salesforce_instance_url", None):
            crm_urls["salesforce"] = settings.salesforce_instance_url.rstrip("/") + "/lightning/r/Case/{id}/view"
        self.renderer = SlackRenderer(crm_urls=crm_urls)
        self.people = People(rt.queries, names=self.calls.user_name,
                             rename=lambda agent_id, name: rt.actions.update_agent(agent_id, {"display_name": name}))
        self.home = HomePublisher(rt.queries, self.calls, self.renderer, self.people, rt.deps, rt.analytics.today)
        self.surface = SlackSurface(self.calls, self.renderer, default_channel=settings.slack_default_channel)
        self.destination = CardDelivery(rt.deps, rt.queries, self.surface, on_change=self.home.changed)
        self.destinations = [self.destination]
        self.services = SlackServices(actions=rt.actions, queries=rt.queries, conversation=rt.conversation,
                                      renderer=self.renderer, people=self.people, home=self.home, config=rt.config,
                                      commands=ChatCommands(rt.actions, rt.queries, rt.analytics.today))
        self.bolt = build_bolt_app(self.client, secret, self.services)
        self.gate = SlackRequestGate(secret) if secret else None
        self._socket: Any = None
        self._session: Any = None

    def mount(self, app: Any) -> None:
        from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

        handler = AsyncSlackRequestHandler(self.bolt)
        gate = self.gate

        async def slack_events(request: Request) -> Any:
            # Verified here, before Bolt parses or dispatches anything (Bolt verifies again).
            if gate is None:  # Socket Mode only: nothing arrives over HTTP
                return JSONResponse({"error": "not_found", "message": "Slack runs in Socket Mode here"},
                                    status_code=404)
            rejection = gate.check(await request.body(), request.headers)
            if rejection is not None:
                return JSONResponse(rejection.body(), status_code=rejection.status)
            return await handler.handle(request)

        app.add_api_route(EVENTS_PATH, slack_events, methods=["POST"], include_in_schema=False)

    async def start(self) -> None:
        import aiohttp

        # One pooled HTTP session for every Web API call (the SDK otherwise opens a connection per call).
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.client.session = self._session
        if self.app_token:
            from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(self.bolt, self.app_token)
            await self._socket.connect_async()
            log.info("Slack Socket Mode connected")

    async def stop(self) -> None:
        await self.home.aclose()
        await self.destination.aclose()
        if self._socket is not None:
            await self._socket.close_async()
        if self._session is not None:
            await self._session.close()
            self.client.session = None

    def readiness(self) -> tuple[bool, str]:
        return self.health.ok, self.health.detail

    async def probe(self, seconds: float) -> tuple[bool, str]:
        """Ask Slack whether it knows our token (``auth.test``): (answered, what it said). Never shows the token."""
        try:
            r = await asyncio.wait_for(self.client.auth_test(), seconds)
        except SlackApiError as exc:
            return False, str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        except TimeoutError:
            return False, f"no answer from {self.client.base_url} within {seconds:g} s"
        except (aiohttp.ClientError, OSError) as exc:
            return False, f"{type(exc).__name__} reaching {self.client.base_url}"
        mode = "Socket Mode" if self.app_token else f"HTTP at {EVENTS_PATH}"
        return True, f"workspace {r.get('team')}, bot @{r.get('user')}, {mode}"


def slack_integration(settings: Any, rt: Any) -> SlackIntegration | None:
    """The Slack surface when configured: a bot token plus a signing secret (HTTP) or an app token (Socket)."""
    if settings.slack_bot_token is None or not (settings.slack_signing_secret or settings.slack_app_token):
        return None
    return SlackIntegration(settings, rt)
