"""The Teams edge on the Microsoft 365 Agents SDK: ``POST /api/messages``, turn routing and proactive delivery.

One :class:`TeamsBot` owns the SDK objects (``CloudAdapter``, ``AgentApplication``, a ``ConnectionManager`` whose
token provider is :class:`~bot.teams.credentials.MsalClientCredentials`) and the inbound
:class:`~bot.teams.auth.ChannelTokenValidator`. It holds no business rule: a message, an ``Action.Execute`` card action
and a conversation (install / members added) are handed to the callbacks in :class:`TeamsHandlers`; proactive sends and
card updates go through :meth:`TeamsBot.send` / :meth:`TeamsBot.update` with a stored SDK ``Conversation``
(reference + the claims needed to get a token), whose JSON form is ``Conversation.store_item_to_json()``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from microsoft_agents.activity import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    ContentTypes,
    ResourceResponse,
)
from microsoft_agents.hosting.core import (
    AgentApplication,
    AgentAuthConfiguration,
    AnonymousTokenProvider,
    ClaimsIdentity,
    ConnectionManager,
    MemoryStorage,
    TurnContext,
    TurnState,
)
from microsoft_agents.hosting.core.app.proactive import Conversation
from microsoft_agents.hosting.fastapi import CloudAdapter
from pydantic import ValidationError

from bot.teams.auth import BOTFRAMEWORK_OPENID_METADATA_URL, ChannelAuthError, ChannelTokenValidator
from bot.teams.credentials import MsalClientCredentials
from bot.web.errors import error_body

__all__ = ["CardAction", "Conversation", "TeamsBot", "TeamsConfig", "TeamsHandlers"]

log = logging.getLogger("baton.teams")

ACTION_INVOKE = "adaptiveCard/action"


@dataclass(frozen=True)
class TeamsConfig:
    """What the Teams edge needs from settings (``TEAMS_*``). ``app_id`` unset + ``emulator`` = no authentication."""

    app_id: str | None = None
    app_password: str | None = None
    tenant_id: str | None = None
    emulator: bool = False
    openid_metadata_url: str = BOTFRAMEWORK_OPENID_METADATA_URL
    authority: str | None = None

    def __post_init__(self) -> None:
        if self.emulator and self.app_id:
            raise ValueError("TEAMS_EMULATOR is refused when TEAMS_APP_ID is set")
        if not self.emulator and not (self.app_id and self.app_password):
            raise ValueError("Teams needs TEAMS_APP_ID and TEAMS_APP_PASSWORD (or TEAMS_EMULATOR=true for local use)")

    @classmethod
    def from_settings(cls, settings: Any) -> TeamsConfig:
        """Build from :class:`settings.Settings` (duck-typed: ``bot/`` does not import the composition root)."""
        password = settings.teams_app_password.get_secret_value() if settings.teams_app_password else None
        return cls(app_id=settings.teams_app_id, app_password=password, tenant_id=settings.teams_tenant_id,
                   emulator=settings.teams_emulator, openid_metadata_url=settings.teams_openid_metadata_url,
                   authority=settings.teams_authority)  # fmt: skip


@dataclass(frozen=True)
class CardAction:
    """An ``Action.Execute`` press, translated from the invoke activity."""

    verb: str
    data: dict[str, Any]
    user_id: str | None
    user_aad_id: str | None
    conversation_id: str
    message_id: str | None  # the card's activity id (``replyToId`` of the invoke)
    user_name: str | None = None  # the Teams display name (an agent seen for the first time is named with it)


async def _pong(context: TurnContext) -> str | Activity | None:
    return "pong"


@dataclass
class TeamsHandlers:
    """The callbacks a turn ends in. ``on_card_action`` returns the updated Adaptive Card (its JSON object)."""

    on_conversation: Callable[[Conversation], Awaitable[None]]
    on_card_action: Callable[[CardAction], Awaitable[dict[str, Any]]]
    on_message: Callable[[TurnContext], Awaitable[str | Activity | None]] = field(default=_pong)


class TeamsBot:
    """The Teams surface: builds the SDK pipeline once, serves ``/api/messages``, sends proactively.

    Args:
        config: ``TeamsConfig`` (authentication on unless emulator mode).
        handlers: where messages, card actions and conversation references go.
        http: client for fetching the Bot Framework signing keys (created and closed here when not given).
        clock: seconds, for the signing-key cache (tests pass a manual clock).
    """

    def __init__(self, config: TeamsConfig, handlers: TeamsHandlers, *, http: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config, self.handlers = config, handlers
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=10.0)
        self.validator = None if config.emulator else ChannelTokenValidator(
            str(config.app_id), metadata_url=config.openid_metadata_url, http=self._http, clock=clock)  # fmt: skip
        connection = AgentAuthConfiguration(client_id=config.app_id, client_secret=config.app_password,
                                            tenant_id=config.tenant_id, authority=config.authority)  # fmt: skip
        self.connections = ConnectionManager(
            provider_factory=(lambda _: AnonymousTokenProvider()) if config.emulator else MsalClientCredentials,
            connections_configurations={"SERVICE_CONNECTION": connection})  # fmt: skip
        self.adapter = CloudAdapter(connection_manager=self.connections)
        self.adapter.on_turn_error = self._on_turn_error
        self.agent: AgentApplication[TurnState] = AgentApplication[TurnState](
            storage=MemoryStorage(), connection_manager=self.connections, start_typing_timer=False,
            remove_recipient_mention=True)  # fmt: skip
        self._register()

    # ------------------------------------------------------------------------------------ HTTP
    def router(self) -> APIRouter:
        """``POST /api/messages`` for the ASGI app (mounted by the composition root)."""
        router = APIRouter()
        router.add_api_route("/api/messages", self.handle, methods=["POST"], include_in_schema=False)
        return router

    async def handle(self, request: Request) -> Response:
        """Authenticate, check the activity, run the turn. Bad input → 400/401/403 in Baton's error shape."""
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalid_activity", "the body must be a JSON activity")
        if not isinstance(body, dict):
            return _error(400, "invalid_activity", "the body must be a JSON object")
        try:
            activity = Activity.model_validate(body)
        except ValidationError as exc:
            return _error(400, "invalid_activity", f"not a Bot Framework activity ({exc.error_count()} errors)")
        if not activity.type or not activity.conversation or not activity.conversation.id or not activity.service_url:
            return _error(400, "invalid_activity", "an activity needs type, conversation.id and serviceUrl")
        if self.validator is None:
            request.state.claims_identity = ClaimsIdentity()  # emulator: anonymous, no token outbound
        else:
            try:
                request.state.claims_identity = await self.validator.validate(
                    request.headers.get("authorization"), channel_id=activity.channel_id,
                    service_url=activity.service_url)  # fmt: skip
            except ChannelAuthError as exc:
                log.warning("Teams request refused: %s", exc.reason)
                headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
                return _error(exc.status, exc.code, exc.reason, headers=headers)
        response = await self.adapter.process(request, self.agent)
        return response or Response(status_code=202)

    # ------------------------------------------------------------------------------------ proactive
    async def send(self, conversation: Conversation, activity: Activity) -> ResourceResponse:
        """Post a new activity into a stored conversation (a channel thread when its id has ``;messageid=``).

        Raises:
            aiohttp.ClientResponseError: the connector refused (``status``, ``headers['Retry-After']``).
        """
        result: list[ResourceResponse] = []

        async def deliver(context: TurnContext) -> None:
            result.append(await context.send_activity(activity) or ResourceResponse())

        await self._continue(conversation, deliver)
        return result[0]

    async def update(self, conversation: Conversation, activity_id: str, activity: Activity) -> None:
        """Replace an activity the bot sent earlier (e.g. a card after a claim).

        Raises:
            aiohttp.ClientResponseError: the connector refused.
        """

        async def deliver(context: TurnContext) -> None:
            await context.update_activity(activity.model_copy(update={"id": activity_id}))

        await self._continue(conversation, deliver)

    async def _continue(self, conversation: Conversation, deliver: Callable[[TurnContext], Awaitable[None]]) -> None:
        # The SDK's continuation activity carries a random id, and TurnContext.send_activity turns the turn's activity
        # id into replyToId: without clearing it a "new" message is POSTed as a reply to a non-existent activity.
        continuation = conversation.conversation_reference.get_continuation_activity().model_copy(update={"id": None})
        errors: list[BaseException] = []

        async def callback(context: TurnContext) -> None:
            try:
                await deliver(context)
            except Exception as exc:  # handed back to the caller below, not swallowed by on_turn_error
                errors.append(exc)

        await self.adapter.continue_conversation_with_claims(
            Conversation.identity_from_claims(conversation.claims), continuation, callback)
        if errors:
            raise errors[0]

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    # ------------------------------------------------------------------------------------ turns
    def _register(self) -> None:
        app = self.agent

        @app.activity(ActivityTypes.message)
        async def on_message(context: TurnContext, state: TurnState) -> None:
            text = await self.handlers.on_message(context)
            if text:
                await context.send_activity(text)

        @app.activity([ActivityTypes.conversation_update, ActivityTypes.installation_update])
        async def on_conversation(context: TurnContext, state: TurnState) -> None:
            if context.activity.type == ActivityTypes.installation_update and context.activity.action == "remove":
                return
            conversation = Conversation.from_turn_context(context)
            conversation.conversation_reference.activity_id = None  # a reference, not a reply target
            await self.handlers.on_conversation(conversation)

        @app.adaptive_card.action_execute(re.compile(".*"))  # routing by verb belongs to on_card_action
        async def on_action(context: TurnContext, state: TurnState, data: Any) -> Any:
            activity = context.activity
            value = activity.value if isinstance(activity.value, dict) else {}
            action = CardAction(
                verb=str((value.get("action") or {}).get("verb") or ""), data=data if isinstance(data, dict) else {},
                user_id=activity.from_property.id if activity.from_property else None,
                user_aad_id=activity.from_property.aad_object_id if activity.from_property else None,
                user_name=activity.from_property.name if activity.from_property else None,
                conversation_id=activity.conversation.id, message_id=activity.reply_to_id)  # fmt: skip
            card = await self.handlers.on_card_action(action)
            return AdaptiveCardInvokeResponse(status_code=200, type=ContentTypes.adaptive_card, value=card)

    async def _on_turn_error(self, context: TurnContext, error: Exception) -> None:
        # The SDK default posts the exception text into the chat; here it goes to the log only (no activity content).
        log.exception("Teams turn failed (activity type %s)", context.activity.type, exc_info=error)
        raise error


def _error(status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)
