"""The customer's edge: token-authorized status, SSE, messages, CSAT and callback endpoints; the widget; updates.

``customer_integration(settings, rt)`` is always on. It mounts the routes below, serves ``/widget.js`` and the
demo page at ``/``, runs the scheduled-update tick (APScheduler) between ``start()`` and ``stop()``, and adds one
outbox destination: the in-process SSE wake-up. The signed webhook is its own integration
(``integrations.webhooks.webhook_integration``), because ``bot/`` and ``integrations/`` never import each other.

Customer endpoints accept only the handoff's ``customer_token`` (``Authorization: Bearer`` or ``?token=``,
because a browser's EventSource cannot set headers) — never the server API key — and allow any origin
(no cookies are involved, so CORS cannot leak anyone else's data). The token is checked from the request line
and headers by a :class:`~bot.web.limits.HeaderGate`, before any body is read, together with the token's
rates (``limits.customer_writes`` for messages, CSAT and callbacks; ``limits.customer_reads`` for status
polls). Open streams are capped per token and per client address (``limits.streams_per_token``/``_per_ip``).
"""


import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import ConfigDict, Field, StrictInt
from starlette.background import BackgroundTask

from bot.web.cors import CustomerCors
from bot.web.demo import mount_demo
from bot.web.limits import CUSTOMER_ROUTE, HeaderGate, Scope, header
from bot.web.ratelimit import StreamSlots, TokenBuckets
from bot.web.sse import Broadcaster, ChangeFeed, SseDestination, StreamSettings, customer_stream
from handoff.config import Limits
from handoff.contract import CleanModel
from handoff.models import Handoff
from handoff.services.customer import CustomerSide, StatusView
from handoff.services.updates import CustomerUpdates
from handoff.services.waits import WaitTimes
from templates import Renderer
from templates.customer import QueueLabels

log = logging.getLogger("baton.customer")
STATIC = Path(__file__).resolve().parent / "static"
_ADMITTED = "baton.customer"  # scope["state"] key: the handoff the gate authorized for this request


class _Body(CleanModel):  # strings cleaned of NUL and other controls, like every request body
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MessageBody(_Body):
    text: Annotated[str, Field(min_length=1, max_length=10_000)]


class CsatBody(_Body):
    score: Annotated[StrictInt, Field(ge=1, le=5)]
    comment: Annotated[str, Field(max_length=2000)] | None = None


class CallbackBody(_Body):
    channel: Annotated[str, Field(pattern=r"^(callback|email)$")] = "callback"
    contact: Annotated[str, Field(max_length=320)] | None = None
    note: Annotated[str, Field(max_length=1000)] | None = None


def status_json(view: StatusView, labels: QueueLabels, renderer: Renderer, *,
                with_messages: bool = True) -> dict[str, Any]:
    """The customer's status; only customer-safe fields (no reasons, notes, agent ids or estimate basis).

    ``estimate`` is :meth:`CustomerWait.as_json` — the same value the intake answer, SSE and webhooks carry.
    ``agent`` is set once claimed; its ``display_name`` is None when no real name is known ("a specialist").
    """
    h = view.handoff
    out: dict[str, Any] = {
        "id": h.id, "status": h.status.value, "queue": h.queue,
        "team": labels.label(h.queue, renderer.customer_locale(h.locale)),
        "position": view.position or None,
        "estimate": None if view.wait is None else view.wait.as_json(),
        "agent": {"display_name": view.agent_name} if h.claimed_by else None,
        "rated": view.rated, "callback_requested": view.callback_requested,
    }
    if with_messages:
        out["messages"] = [{"seq": m.seq, "role": m.role, "text": m.text, "at": m.at.isoformat() if m.at else None,
                            "author": m.author_name} for m in view.messages]
        out["next_cursor"] = view.messages[-1].seq if view.messages else None
        out["last_event_id"] = view.last_event_id
    return out


@dataclass
class CustomerIntegration:
    """The customer channel as an app integration (see ``app.Integration``)."""

    side: CustomerSide
    waits: WaitTimes
    updates: CustomerUpdates
    broadcaster: Broadcaster
    renderer: Renderer
    labels: QueueLabels
    demo: bool
    tick_seconds: float
    intake: Any = None
    destinations: list[Any] = field(default_factory=list)
    stream: StreamSettings = field(default_factory=StreamSettings)
    limits: Limits = field(default_factory=Limits)
    name: str = "customer"
    _scheduler: Any = None  # the process's scheduler.Ticks, which runs the update tick
    _feed_task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        lim = self.limits
        self.slots = StreamSlots(lim.streams_per_token, lim.streams_per_ip)
        self.writes = TokenBuckets(lim.customer_writes.per_second, lim.customer_writes.burst)
        self.reads = TokenBuckets(lim.customer_reads.per_second, lim.customer_reads.burst)
        self.feed = ChangeFeed(self.side, self.broadcaster, self.waits, self.stream)
        self._feed_stop = asyncio.Event()

    def mount(self, app: FastAPI) -> None:
        app.include_router(self.router())
        _static_routes(app)
        if self.demo:
            mount_demo(app, intake=self.intake, waits=self.waits, renderer=self.renderer, labels=self.labels)
        app.add_middleware(HeaderGate, check=self.gate)  # type: ignore[arg-type]  # ahead of the body limit
        app.add_middleware(CustomerCors)  # type: ignore[arg-type]  # outermost: refusals carry CORS too

    async def gate(self, scope: Scope) -> None:
        """The customer token and its rate, from the request line and headers (see :class:`HeaderGate`).

        Raises:
            Unauthorized: no token, a wrong one, or an expired conversation.
            RateLimited: over the token's rate for this kind of request.
        """
        m = CUSTOMER_ROUTE.match(scope["path"])
        if m is None:
            return
        bearer = None
        scheme, _, value = (header(scope, b"authorization") or "").partition(" ")
        if scheme.lower() == "bearer":
            bearer = value.strip()
        if not bearer:
            token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
            bearer = token[:200] if len(token) <= 200 else None
        h = await self.side.authorize(m["id"], bearer)
        if scope["method"] == "POST":
            self.writes.check(h.id, "messages from this conversation")
        elif m["what"] == "status":
            self.reads.check(h.id, "status requests from this conversation")
        scope.setdefault("state", {})[_ADMITTED] = h

    async def start(self) -> None:
        self.broadcaster.closing = False
        self._feed_stop = asyncio.Event()
        self._feed_task = asyncio.create_task(self.feed.run(self._feed_stop), name="sse-change-feed")

    async def stop(self) -> None:
        self._feed_stop.set()
        if self._feed_task is not None:
            await self._feed_task
            self._feed_task = None
        self.broadcaster.close()

    def readiness(self) -> tuple[bool, str]:
        running = self._scheduler is not None and self._scheduler.running
        return True, (f"updates {'scheduled' if running else 'not running here'} every {self.tick_seconds:g}s, "
                      f"{self.broadcaster.count} live streams")

    # ------------------------------------------------------------------------------------------------ routes

    def router(self) -> APIRouter:
        side, labels = self.side, self.labels
        r = APIRouter(prefix="/v1/handoffs/{handoff_id}", tags=["customer"])

        async def customer(handoff_id: str, request: Request, authorization: Annotated[str | None, Header()] = None,
                           token: Annotated[str | None, Query(max_length=200)] = None) -> Handoff:
            admitted = request.scope.get("state", {}).get(_ADMITTED)
            if isinstance(admitted, Handoff) and admitted.id == handoff_id:
                return admitted  # the gate checked this token from the headers already
            bearer = None
            if authorization:
                scheme, _, value = authorization.partition(" ")
                bearer = value.strip() if scheme.lower() == "bearer" else None
            return await side.authorize(handoff_id, bearer or token)

        Customer = Annotated[Handoff, Depends(customer)]

        @r.get("/status")
        async def status(h: Customer, after: Annotated[int, Query(ge=-1, le=10**9)] = -1) -> dict[str, Any]:
            """Status, place in line, estimate, the agent's display name, and messages after the ``after`` cursor."""
            await self.updates.listening(h)  # the widget polls: scheduled updates reach it
            return status_json(await side.status(h, after), labels, self.renderer)

        @r.get("/events")
        async def events(h: Customer, request: Request,
                         last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
                         after: Annotated[int | None, Query(ge=0)] = None) -> StreamingResponse:
            """Server-Sent Events; ``Last-Event-ID`` (or ``?after=``) resumes after that event."""
            start = after or 0
            if last_event_id and last_event_id.strip().isdigit():
                start = int(last_event_id.strip())

            async def current(handoff_id: str) -> dict[str, Any]:
                return status_json(await side.status(handoff_id, 10**9), labels, self.renderer, with_messages=False)

            await self.updates.listening(h)  # the widget is open: scheduled updates reach it
            slot = self.slots.acquire(h.id, request.client.host if request.client else "?")
            body = customer_stream(side, self.broadcaster, self.renderer, labels, h.id, h.queue, start, current,
                                   request.is_disconnected, self.stream)

            async def admitted() -> AsyncIterator[str]:
                try:
                    async for chunk in body:
                        yield chunk
                finally:
                    slot.release()

            # The background release covers a response cancelled before its body started (idempotent).
            return StreamingResponse(admitted(), media_type="text/event-stream",
                                     background=BackgroundTask(slot.release),
                                     headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

        @r.post("/messages", status_code=201)
        async def message(h: Customer, body: MessageBody) -> dict[str, Any]:
            """The customer writes to the agent (their Slack/Teams thread gets it through the outbox)."""
            e = await side.send_message(h.id, body.text)
            return {"event_id": e.id, "seq": e.data.get("seq")}

        @r.post("/csat", status_code=201)
        async def csat(h: Customer, body: CsatBody) -> dict[str, Any]:
            """Rate the help, 1-5 with an optional comment, once, after resolution."""
            e = await side.rate(h.id, body.score, body.comment)
            return {"event_id": e.id, "score": body.score}

        @r.post("/callback", status_code=201, responses={200: {"description": "asked before: the same request"}})
        async def callback(h: Customer, body: CallbackBody, response: Response) -> dict[str, Any]:
            """Ask for a callback or an email instead of waiting (shown to the agents on the card)."""
            e, created = await side.request_callback(h.id, body.channel, body.contact, body.note)
            if not created:
                response.status_code = 200
            return {"event_id": e.id, "channel": e.data.get("channel"), "created": created}

        return r


def _static_routes(app: FastAPI) -> None:
    widget = (STATIC / "widget.js").read_bytes()
    page = (STATIC / "demo.html").read_text(encoding="utf-8")

    @app.get("/widget.js", include_in_schema=False)
    async def widget_js() -> Response:
        return Response(widget, media_type="application/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300"})

    @app.get("/", include_in_schema=False)
    async def demo_page() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def customer_integration(settings: Any, rt: Any) -> CustomerIntegration:
    """Build the customer side from settings and the runtime (always on)."""
    deps, waits = rt.deps, rt.waits  # one WaitTimes per process: every path reads (and invalidates) one snapshot
    side = CustomerSide(deps, waits, rt.conversation)
    renderer = Renderer()
    broadcaster = Broadcaster(db_reads=rt.config.limits.stream_db_reads)
    integ = CustomerIntegration(
        side=side, waits=waits, updates=CustomerUpdates(deps, waits), broadcaster=broadcaster,
        renderer=renderer, labels=rt.labels, demo=bool(getattr(settings, "demo", False)),
        tick_seconds=rt.config.customer_updates.tick_seconds, intake=rt.intake, limits=rt.config.limits,
    )
    integ.destinations.append(SseDestination(broadcaster, waits, deps))
    if rt.ticks is not None:  # the one scheduler of the process runs the update tick (app.py owns it)
        rt.ticks.add("customer-updates", integ.tick_seconds, integ.updates.tick)
        integ._scheduler = rt.ticks
    return integ
