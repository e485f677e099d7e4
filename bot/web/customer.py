"""The customer's edge: token-authorized status, SSE, messages, CSAT and callback endpoints; the widget; updates.

``customer_integration(settings, rt)`` is always on. It mounts the routes below, serves ``/widget.js`` and the
demo page at ``/``, runs the scheduled-update tick (APScheduler) between ``start()`` and ``stop()``, and adds one
outbox destination: the in-process SSE wake-up. The signed webhook is its own integration
(``integrations.webhooks.webhook_integration``), because ``bot/`` and ``integrations/`` never import each other.

Customer endpoints accept only the handoff's ``customer_token`` (``Authorization: Bearer`` or ``?token=``,
because a browser's EventSource cannot set headers) — never the server API key — and allow any origin
(no cookies are involved, so CORS cannot leak anyone else's data).
"""


import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import ConfigDict, Field, StrictInt

from bot.web.cors import CustomerCors
from bot.web.demo import mount_demo
from bot.web.sse import Broadcaster, SseDestination, StreamSettings, customer_stream
from handoff.contract import CleanModel
from handoff.models import Handoff
from handoff.services.customer import CustomerSide, StatusView
from handoff.services.updates import CustomerUpdates
from handoff.services.waits import WaitTimes
from templates import Renderer

log = logging.getLogger("baton.customer")
STATIC = Path(__file__).resolve().parent / "static"


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


def status_json(view: StatusView, labels: Mapping[str, str], *, with_messages: bool = True) -> dict[str, Any]:
    """The customer's status; only customer-safe fields (no reasons, notes, agent ids or estimate basis)."""
    h, e = view.handoff, view.estimate
    out: dict[str, Any] = {
        "id": h.id, "status": h.status.value, "queue": h.queue, "team": labels.get(h.queue, h.queue),
        "position": view.position or None,
        "estimate": None if e is None else {"seconds": e.seconds, "low": e.low, "high": e.high,
                                            "confidence": e.confidence, "longer_than_usual": e.longer_than_usual},
        "agent": {"display_name": view.agent_name} if view.agent_name else None,
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
    labels: dict[str, str]
    demo: bool
    tick_seconds: float
    intake: Any = None
    destinations: list[Any] = field(default_factory=list)
    stream: StreamSettings = field(default_factory=StreamSettings)
    name: str = "customer"
    _scheduler: Any = None

    def mount(self, app: FastAPI) -> None:
        app.include_router(self.router())
        _static_routes(app)
        if self.demo:
            mount_demo(app, intake=self.intake, waits=self.waits, renderer=self.renderer, labels=self.labels)
        app.add_middleware(CustomerCors)  # type: ignore[arg-type]

    async def start(self) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self.broadcaster.closing = False
        # APScheduler logs every run at INFO; a tick every few seconds would drown the service's own log.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        # The tick only claims due rows; the database remembers what is due, so a missed tick loses nothing.
        self._scheduler.add_job(self._tick, "interval", seconds=self.tick_seconds, max_instances=1, coalesce=True,
                                next_run_time=datetime.now(UTC), id="customer-updates")
        self._scheduler.start()

    async def _tick(self) -> None:
        try:
            await self.updates.tick()
        except Exception:
            log.exception("customer update tick failed; the next tick retries")

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        self.broadcaster.close()

    def readiness(self) -> tuple[bool, str]:
        running = self._scheduler is not None and self._scheduler.running
        return True, (f"updates {'scheduled' if running else 'not running'} every {self.tick_seconds:g}s, "
                      f"{self.broadcaster.count} live streams")

    # ------------------------------------------------------------------------------------------------ routes

    def router(self) -> APIRouter:
        side, labels = self.side, self.labels
        r = APIRouter(prefix="/v1/handoffs/{handoff_id}", tags=["customer"])

        async def customer(handoff_id: str, authorization: Annotated[str | None, Header()] = None,
                           token: Annotated[str | None, Query(max_length=200)] = None) -> Handoff:
            bearer = None
            if authorization:
                scheme, _, value = authorization.partition(" ")
                bearer = value.strip() if scheme.lower() == "bearer" else None
            return await side.authorize(handoff_id, bearer or token)

        Customer = Annotated[Handoff, Depends(customer)]

        @r.get("/status")
        async def status(h: Customer, after: Annotated[int, Query(ge=-1, le=10**9)] = -1) -> dict[str, Any]:
            """Status, place in line, estimate, the agent's display name, and messages after the ``after`` cursor."""
            return status_json(await side.status(h.id, after), labels)

        @r.get("/events")
        async def events(h: Customer, request: Request,
                         last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
                         after: Annotated[int | None, Query(ge=0)] = None) -> StreamingResponse:
            """Server-Sent Events; ``Last-Event-ID`` (or ``?after=``) resumes after that event."""
            start = after or 0
            if last_event_id and last_event_id.strip().isdigit():
                start = int(last_event_id.strip())

            async def current(handoff_id: str) -> dict[str, Any]:
                return status_json(await side.status(handoff_id, 10**9), labels, with_messages=False)

            body = customer_stream(side, self.broadcaster, self.renderer, labels, h.id, h.queue, start, current,
                                   request.is_disconnected, self.stream)
            return StreamingResponse(body, media_type="text/event-stream",
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
    deps = rt.deps
    waits = WaitTimes(deps)
    side = CustomerSide(deps, waits, rt.conversation)
    renderer = Renderer()
    labels = {k: (q.display_name or k) for k, q in rt.config.queues.items()}
    broadcaster = Broadcaster()
    integ = CustomerIntegration(
        side=side, waits=waits, updates=CustomerUpdates(deps, WaitTimes(deps)), broadcaster=broadcaster,
        renderer=renderer, labels=labels, demo=bool(getattr(settings, "demo", False)),
        tick_seconds=rt.config.customer_updates.tick_seconds, intake=rt.intake,
    )
    integ.destinations.append(SseDestination(broadcaster, waits, deps))
    return integ
