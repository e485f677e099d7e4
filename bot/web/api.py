"""The ``/v1`` API: intake for the AI widget, agent actions for tools and tests, reads, health."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from bot.web import errors
from bot.web.auth import KeyAuth
from bot.web.limits import CUSTOMER_ROUTE, BodyLimit, HeaderGate, header
from bot.web.limits import Scope as AsgiScope
from bot.web.metrics import CONTENT_TYPE, MetricsEndpoint
from bot.web.ratelimit import TokenBuckets
from bot.web.schemas import (
    AgentBody,
    AgentIn,
    AgentOut,
    ClaimBody,
    DetailOut,
    EscalateBody,
    EvaluateOut,
    EventOut,
    HandoffOut,
    IntakeOut,
    ListOut,
    NoteBody,
    ReasonBody,
    ReleaseBody,
    ReplyOut,
    ResolveBody,
    ReviewBody,
    TransferBody,
)
from handoff.auth import Scope
from handoff.config import Limits
from handoff.contract import ConversationIn, HandoffIn
from handoff.eta import CustomerWait, wait_facts
from handoff.ids import ID_PATTERN
from handoff.lifecycle import EscalationForm
from handoff.models import Actor, Agent, Decision, Event, Handoff, Status, Surface
from handoff.services.agent_actions import AgentActions
from handoff.services.analytics import Analytics
from handoff.services.conversation import Conversation
from handoff.services.intake import Intake
from handoff.services.queries import Queries
from templates import Renderer
from templates.customer import QueueLabels, customer_text

Health = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
WaitEstimator = Callable[[Handoff, int, "str | None"], Awaitable[CustomerWait | None]]
"""``WaitTimes.customer_wait``: (handoff, position, customer's time zone) → what the customer is told."""


async def _no_estimate(h: Handoff, position: int, customer_tz: str | None) -> CustomerWait | None:
    return None


@dataclass
class WebContext:
    """What the HTTP edge needs, built by the composition root."""

    intake: Intake
    actions: AgentActions
    queries: Queries
    conversation: Conversation
    auth: KeyAuth
    renderer: Renderer
    readiness: Health
    limits: Limits = field(default_factory=Limits)
    estimate_wait: WaitEstimator = _no_estimate
    queue_labels: QueueLabels = field(default_factory=QueueLabels)
    reload_rules: Callable[[], str] | None = None
    analytics: Analytics | None = None
    metrics: MetricsEndpoint | None = None  # GET /metrics (Prometheus) and the evaluation counter


API_DESCRIPTION = """\
Every error answers in one shape, `{"error": code, "message": sentence, ...}` — 422 adds `errors`
(each field problem), domain errors add `details`.

**Intake decisions.** Only `conversation_id` is required. A body without a customer name, email or id, or with
an empty transcript, is accepted (an anonymous visitor who asks for a person before typing still gets one);
the answer's `warnings` say what is missing and what it costs. NUL and the other C0 control characters
(except tab, newline, carriage return) are removed from every string of a body; vertical tab and form feed
become newlines. Free-form objects (`ai.entities`, `technical`) may nest 20 levels and hold 500 keys.
Booleans and integers are strict: `false` is not a number and `0` is not a boolean.
"""


def handoff_out(h: Handoff, position: int | None = None) -> HandoffOut:
    return HandoffOut(
        id=h.id, source=h.source, conversation_id=h.conversation_id, status=h.status, priority=h.priority,
        queue=h.queue, topic=h.topic, tier=h.tier, urgency=h.urgency,
        trigger={"reason": h.trigger_reason, "detail": h.trigger_detail}, why=h.why,
        reasons=[r.as_dict() for r in h.reasons], rules_version=h.rules_version,  # type: ignore[misc]
        summary=h.summary, claimed_by=h.claimed_by, claimed_at=h.claimed_at, first_response_at=h.first_response_at,
        resolved_at=h.resolved_at, closed_at=h.closed_at, suggested_agent_id=h.suggested_agent_id,
        reopen_count=h.reopen_count, transfer_count=h.transfer_count, escalation_count=h.escalation_count,
        outcome=h.outcome, sla_due_at=h.sla_due_at, created_at=h.created_at, updated_at=h.updated_at,
        version=h.version, position=position,
    )


def event_out(e: Event) -> EventOut:
    return EventOut(id=e.id, kind=e.kind, actor=str(e.actor), source=e.source, at=e.at, reason=e.reason,
                    data=dict(e.data))


def agent_out(a: Agent) -> AgentOut:
    return AgentOut(id=a.id, display_name=a.display_name, tier=a.tier, skills=list(a.skills), capacity=a.capacity,
                    status=a.status, languages=list(a.languages), timezone=a.timezone, working_hours=a.working_hours,
                    handles=dict(a.handles))


def create_api(ctx: WebContext) -> FastAPI:
    """The FastAPI app for the ``/v1`` API. Other edges (Slack, widget) mount onto it."""
    # The Swagger UI and ReDoc assets are served from the fastapi-offline package: /docs needs no CDN.
    app = FastAPIOffline(title="Baton", version="0.1.0", summary="Escalation hub for AI customer support",
                         description=API_DESCRIPTION)
    errors.install(app)
    app.state.check_key = ctx.auth.check_key  # for edges that must reject a bad key before reading a body
    # One router per scope: intake keys (the widget's back end) create and evaluate; agent keys act and read;
    # admin keys do both and change agents and rules.
    intake = APIRouter(prefix="/v1", dependencies=[Depends(ctx.auth.require(Scope.INTAKE))])
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(ctx.auth.require(Scope.AGENT))])
    admin = APIRouter(prefix="/v1", dependencies=[Depends(ctx.auth.require(Scope.ADMIN))])
    per_key = TokenBuckets(ctx.limits.api.per_second, ctx.limits.api.burst)

    async def key_gate(scope: AsgiScope) -> None:
        """The API key and its rate, from the headers alone: an unauthenticated upload is never read."""
        path = scope["path"]
        if not path.startswith("/v1/") or CUSTOMER_ROUTE.match(path):
            return  # customer routes take the customer token (their own gate); the rest is not /v1
        authorization = header(scope, b"authorization")
        await ctx.auth.check_key(authorization)
        per_key.check(hashlib.sha256((authorization or "").encode()).digest(), "requests for this API key")

    def customer_message(locale: str, queue: str, position: int | None, wait: CustomerWait | None,
                         name: str | None) -> str:
        return customer_text(ctx.renderer, ctx.queue_labels, "escalated", locale, {
            "name": (name or "").split(" ")[0] or None, "queue": queue, "position": position, **wait_facts(wait)})

    @intake.post("/handoffs", status_code=201, response_model=IntakeOut, tags=["intake"], responses={
        200: {"model": IntakeOut, "description": "the same source + conversation_id again: the same handoff"}})
    async def create_handoff(body: HandoffIn, request: Request, response: Response) -> IntakeOut:
        result = await ctx.intake.submit(body)
        h = result.handoff
        if not result.created:
            response.status_code = 200
        wait = await ctx.estimate_wait(h, result.position, body.customer.timezone)
        return IntakeOut(
            id=h.id, status=h.status, priority=h.priority, queue=h.queue, topic=h.topic, urgency=h.urgency, why=h.why,
            position=result.position, estimated_wait_seconds=wait.seconds if wait else None,
            customer_message=customer_message(h.locale, h.queue, result.position, wait, body.customer.name),
            status_url=f"/v1/handoffs/{h.id}/status", customer_token=h.customer_token, sla_due_at=h.sla_due_at,
            created=result.created, wait=wait.as_json() if wait else None, warnings=body.warnings(),
        )

    @intake.post("/evaluate", response_model=EvaluateOut, tags=["intake"])
    async def evaluate(body: ConversationIn) -> EvaluateOut:
        d: Decision = await ctx.intake.evaluate(body)
        if ctx.analytics is not None:
            await ctx.analytics.count_evaluation(body.source)
        if ctx.metrics is not None:
            ctx.metrics.metrics.evaluation(d.escalate)
        msg = customer_message(body.customer.locale, d.queue, None, None, None) if d.escalate else ""
        return EvaluateOut(escalate=d.escalate, urgency=d.urgency, reasons=[r.as_dict() for r in d.reasons],  # type: ignore[misc]
                           topic=d.topic, priority=d.priority, queue=d.queue, why=d.why,
                           rules_version=d.rules_version, model_version=d.model_version,
                           model_data=d.model_data, suggested_agent_id=d.suggested_agent_id,
                           backup_agent_id=d.backup_agent_id, flag_for_lead=d.flag_for_lead,
                           suggested_customer_message=msg, warnings=body.warnings())

    @v1.get("/handoffs/{handoff_id}", response_model=DetailOut, tags=["handoffs"])
    async def get_handoff(handoff_id: str) -> DetailOut:
        view = await ctx.queries.handoff(handoff_id)
        base = handoff_out(view.handoff, view.position).model_dump()
        c = view.customer
        return DetailOut(
            **base,
            customer=None if c is None else {
                "id": c.id, "name": c.name, "email": c.email, "company": c.company, "plan": c.plan,
                "account_value": c.account_value, "vip": c.vip, "locale": c.locale, "timezone": c.timezone,
                "flags": list(c.flags)},
            transcript=[{"seq": m.seq, "role": m.role, "text": m.text, "ts": m.ts, "confidence": m.confidence}
                        for m in view.transcript],
            timeline=[event_out(e) for e in view.timeline],
        )

    @v1.get("/handoffs", response_model=ListOut, tags=["handoffs"])
    async def list_handoffs(status: Status | None = None, queue: str | None = None,
                            limit: Annotated[int, Query(ge=1, le=200)] = 50,
                            cursor: Annotated[str | None, Query(
                                pattern=ID_PATTERN.pattern, description="the next_cursor of the previous page")] = None,
                            ) -> ListOut:
        page = await ctx.queries.list(status=status, queue=queue, limit=limit, cursor=cursor)
        return ListOut(items=[handoff_out(h) for h in page.items], next_cursor=page.next_cursor)

    @v1.post("/handoffs/{handoff_id}/claim", response_model=HandoffOut, tags=["agent actions"])
    async def claim(handoff_id: str, body: ClaimBody) -> HandoffOut:
        return handoff_out(await ctx.actions.claim(handoff_id, body.agent_id, Surface.API))

    @v1.post("/handoffs/{handoff_id}/release", response_model=HandoffOut, tags=["agent actions"])
    async def release(handoff_id: str, body: ReleaseBody) -> HandoffOut:
        return handoff_out(await ctx.actions.release(handoff_id, body.agent_id, Surface.API, body.reason))

    @v1.post("/handoffs/{handoff_id}/transfer", response_model=HandoffOut, tags=["agent actions"])
    async def transfer(handoff_id: str, body: TransferBody) -> HandoffOut:
        return handoff_out(await ctx.actions.transfer(handoff_id, body.agent_id, Surface.API, to_queue=body.to_queue,
                                                      note=body.note, to_agent=body.to_agent))

    @v1.post("/handoffs/{handoff_id}/escalate", response_model=HandoffOut, tags=["agent actions"])
    async def escalate(handoff_id: str, body: EscalateBody) -> HandoffOut:
        form = EscalationForm(summary=body.summary, steps_taken=tuple(body.steps_taken), hypothesis=body.hypothesis,
                              customer_impact=body.customer_impact, warm=body.warm)
        return handoff_out(await ctx.actions.escalate(handoff_id, body.agent_id, Surface.API, to_tier=body.to_tier,
                                                      form=form))

    @v1.post("/handoffs/{handoff_id}/resolve", response_model=HandoffOut, tags=["agent actions"])
    async def resolve(handoff_id: str, body: ResolveBody) -> HandoffOut:
        return handoff_out(await ctx.actions.resolve(handoff_id, body.agent_id, Surface.API, note=body.note,
                                                     outcome=body.outcome, kb_gap=body.kb_gap))

    @v1.post("/handoffs/{handoff_id}/pending", response_model=HandoffOut, tags=["agent actions"])
    async def pending(handoff_id: str, body: ReleaseBody) -> HandoffOut:
        return handoff_out(await ctx.actions.pending_customer(handoff_id, body.agent_id, Surface.API, body.reason))

    @v1.post("/handoffs/{handoff_id}/resume", response_model=HandoffOut, tags=["agent actions"])
    async def resume(handoff_id: str, body: AgentBody) -> HandoffOut:
        return handoff_out(await ctx.actions.resume(handoff_id, body.agent_id, Surface.API))

    @v1.post("/handoffs/{handoff_id}/reopen", response_model=HandoffOut, tags=["agent actions"])
    async def reopen(handoff_id: str, body: ReasonBody) -> HandoffOut:
        actor = Actor.agent(body.agent_id) if body.agent_id else Actor.system()
        return handoff_out(await ctx.actions.reopen(handoff_id, actor, Surface.API, body.reason))

    @v1.post("/handoffs/{handoff_id}/close", response_model=HandoffOut, tags=["agent actions"])
    async def close(handoff_id: str, body: ReasonBody) -> HandoffOut:
        actor = Actor.agent(body.agent_id) if body.agent_id else Actor.system()
        return handoff_out(await ctx.actions.close(handoff_id, actor, Surface.API, body.reason))

    @v1.post("/handoffs/{handoff_id}/review", status_code=201, response_model=EventOut, tags=["agent actions"])
    async def review(handoff_id: str, body: ReviewBody) -> EventOut:
        """A reviewer's verdict on a resolved handoff: was the resolution accurate? It feeds the resolving agent's
        quality score (accuracy, 25 points). 409 before resolution or for the agent's own resolution."""
        return event_out(await ctx.actions.review(handoff_id, body.agent_id, Surface.API, accurate=body.accurate,
                                                  note=body.note))

    @v1.post("/handoffs/{handoff_id}/notes", status_code=201, response_model=EventOut, tags=["agent actions"])
    async def add_note(handoff_id: str, body: NoteBody) -> EventOut:
        return event_out(await ctx.actions.add_note(handoff_id, Actor.agent(body.agent_id), Surface.API, body.text))

    @v1.post("/handoffs/{handoff_id}/replies", status_code=201, response_model=ReplyOut, tags=["agent actions"])
    async def agent_reply(handoff_id: str, body: NoteBody) -> ReplyOut:
        """An agent's message to the customer (kept internal unless the agent holds the claim)."""
        out = await ctx.conversation.agent_reply(handoff_id, body.agent_id, body.text, Surface.API)
        return ReplyOut(to_customer=out.to_customer, why_internal=out.why_internal, event=event_out(out.event))

    @v1.get("/agents", response_model=list[AgentOut], tags=["agents"])
    async def list_agents() -> list[AgentOut]:
        return [agent_out(a) for a in await ctx.queries.agents()]

    @admin.put("/agents/{agent_id}", response_model=AgentOut, tags=["agents"])
    async def put_agent(agent_id: Annotated[str, Path(min_length=1, max_length=200)], body: AgentIn) -> AgentOut:
        """Create the agent or change the given fields (status, skills, capacity, languages, hours …)."""
        changes = body.model_dump(exclude_none=True)
        return agent_out(await ctx.actions.update_agent(agent_id, changes))

    @admin.post("/admin/rules/reload", tags=["admin"])
    async def reload_rules() -> JSONResponse:
        """Re-read the rules file; an invalid file is refused (422, each problem named) and the old rules stay."""
        from handoff.config import ConfigError
        from handoff.decide import RulesError

        if ctx.reload_rules is None:
            return JSONResponse(errors.error_body("not_available", "rules reload is not wired"), status_code=404)
        try:
            version = ctx.reload_rules()
        except (RulesError, ConfigError) as exc:
            return JSONResponse(errors.error_body("invalid_rules", str(exc)), status_code=422)
        return JSONResponse({"status": "reloaded", "rules_version": version})

    for router in (intake, v1, admin):
        app.include_router(router)
    if ctx.analytics is not None:
        from bot.web.analytics import analytics_routers

        for router in analytics_routers(ctx.analytics, reader=[Depends(ctx.auth.require(Scope.AGENT))],
                                        writer=[Depends(ctx.auth.require(Scope.INTAKE))]):
            app.include_router(router)
        from bot.web import dashboard

        dashboard.install(app, ctx.analytics, ctx.auth)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "not ready; the details say why"}})
    async def readyz() -> JSONResponse:
        # 503 only when this process cannot serve; "degraded" (a failing integration or destination) is 200.
        ok, details = await ctx.readiness()
        status = details.pop("status", None) or ("ready" if ok else "not ready")
        return JSONResponse({"status": status, **details}, status_code=200 if ok else 503)

    if ctx.metrics is not None:
        endpoint = ctx.metrics
        # An admin key by default (a Prometheus scrape config sends it as `authorization: credentials:`);
        # `metrics: {public: true}` in BATON_CONFIG serves it keyless, for a scraper on a private network.
        gate = [] if endpoint.public else [Depends(ctx.auth.require(Scope.ADMIN))]

        @app.get("/metrics", tags=["health"], dependencies=gate, response_class=Response, responses={
            200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
        async def metrics() -> Response:
            """Prometheus metrics: counters per process (multiprocess mode on one host); state gauges from the
            database. Needs an admin key unless `metrics.public` is set."""
            return Response(await endpoint.render(), media_type=CONTENT_TYPE)

    app.add_middleware(BodyLimit, max_bytes=ctx.limits.max_body_bytes,  # type: ignore[arg-type]
                       read_seconds=ctx.limits.body_read_seconds)
    app.add_middleware(HeaderGate, check=key_gate)  # type: ignore[arg-type]  # added last = runs first
    return app

