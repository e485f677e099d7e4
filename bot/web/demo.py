"""``POST /demo/handoffs``: the demo page's same-origin intake, served only when ``BATON_DEMO`` is on.

Why it exists: the demo page at ``/`` plays the AI widget in a browser, and a browser must never hold the
server API key. Why it is safe enough on a developer's machine: it is off unless ``BATON_DEMO`` is set (``python
app.py`` sets it only when it generated a dev key, i.e. nothing was configured); it forces ``source="demo"`` so
demo handoffs are visibly apart and can never collide with a real conversation id; it takes no email address
(a real customer's record, found by email, cannot be touched), no callback URL (no outbound requests to
arbitrary hosts), no trigger or priority inputs beyond "the customer asked for a human"; bodies are small;
and it is rate-limited per client address and overall. Do not turn it on in production.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.web.ratelimit import TokenBuckets
from handoff.contract import AIContext, CustomerIn, HandoffIn, TriggerIn, Turn
from handoff.eta import wait_facts
from handoff.services.intake import Intake
from handoff.services.waits import WaitTimes
from handoff.shifts import zone
from templates import Renderer
from templates.customer import QueueLabels, customer_text

PER_CLIENT_PER_MINUTE = 6
OVERALL_PER_MINUTE = 60


class DemoTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["customer", "ai"]
    text: Annotated[str, Field(min_length=1, max_length=1000)]


class DemoHandoffBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    conversation_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
    name: Annotated[str, Field(max_length=80)] | None = None
    locale: Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")] = "en"
    timezone: Annotated[str, Field(max_length=64)] | None = None
    transcript: Annotated[list[DemoTurn], Field(min_length=1, max_length=30)]

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        """A zone the browser reports that this machine does not know is dropped, not refused: it only words
        "the team is back at …", and the customer then reads the time in UTC."""
        return v if v and zone(v) is not None else None


class DemoLimits:
    """Token buckets per client address and overall (in-process: the demo runs as one process)."""

    def __init__(self, per_client: int = PER_CLIENT_PER_MINUTE, overall: int = OVERALL_PER_MINUTE) -> None:
        self.per_client = TokenBuckets(per_client / 60, per_client)
        self.overall = TokenBuckets(overall / 60, overall)

    def check(self, client: str) -> None:
        """Raises RateLimited (429 with Retry-After) over either budget."""
        self.per_client.check(client, "demo handoffs from this address")
        self.overall.check("all", "demo handoffs")


def mount_demo(app: FastAPI, *, intake: Intake, waits: WaitTimes, renderer: Renderer,
               labels: QueueLabels, limiter: DemoLimits | None = None) -> None:
    """Add ``POST /demo/handoffs`` (call only when ``settings.demo`` is true)."""
    limits = limiter or DemoLimits()

    @app.post("/demo/handoffs", tags=["demo"], status_code=201)
    async def demo_handoff(body: DemoHandoffBody, request: Request) -> Any:
        """Escalate the demo page's conversation: an intake with ``source="demo"``, no API key."""
        limits.check(request.client.host if request.client else "?")
        first = next((t.text for t in body.transcript if t.role == "customer"), "")
        handoff_in = HandoffIn(
            source="demo", conversation_id=body.conversation_id,
            customer=CustomerIn(name=body.name or None, locale=body.locale, timezone=body.timezone),
            transcript=[Turn(role=t.role, text=t.text) for t in body.transcript],
            ai=AIContext(summary=f"Demo: {first[:200]}"),
            trigger=TriggerIn(reason="customer_request", detail="asked for a human in the demo widget"),
        )
        result = await intake.submit(handoff_in)
        h = result.handoff
        wait = await waits.intake_wait(h, result.position, body.timezone)
        message = customer_text(renderer, labels, "escalated", h.locale, {
            "name": (body.name or "").split(" ")[0] or None, "queue": h.queue, "position": result.position,
            **wait_facts(wait)})
        return JSONResponse({
            "id": h.id, "customer_token": h.customer_token, "status": h.status.value, "queue": h.queue,
            "team": labels.label(h.queue, renderer.customer_locale(h.locale)), "position": result.position,
            "estimated_wait_seconds": wait.seconds if wait else None, "wait": wait.as_json() if wait else None,
            "customer_message": message, "status_url": f"/v1/handoffs/{h.id}/status",
        }, status_code=201 if result.created else 200)
