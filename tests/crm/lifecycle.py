"""Drive one handoff's life through the real services, and drain the real dispatcher (shared by CRM tests)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from handoff.contract import HandoffIn
from handoff.models import Surface
from handoff.services.dispatcher import Dispatcher
from tests.support.clock import FakeClock
from tests.support.factories import intake_body

MESSAGES = 3


async def create(rt: Any, email: str = "pat.obrien@x.com", **overrides: Any) -> str:
    body = intake_body(customer={"email": email, "name": "Pat O'Brien"}, **overrides)
    return str((await rt.intake.submit(HandoffIn.model_validate(body))).handoff.id)


async def record_csat(rt: Any, handoff_id: str, score: int, comment: str | None = None) -> None:
    """The customer rates the help, through the customer-side use case (as ``POST …/csat`` does)."""
    from handoff.services.customer import CustomerSide
    from handoff.services.waits import WaitTimes

    await CustomerSide(rt.deps, WaitTimes(rt.deps), rt.conversation).rate(handoff_id, score, comment)


def steps(rt: Any, hid: str) -> list[Any]:
    """The rest of the life after create, as awaitable factories (so tests can drain between any two)."""
    a, c = rt.actions, rt.conversation
    out: list[Any] = [
        lambda: a.claim(hid, "emma", Surface.SLACK),
        lambda: a.transfer(hid, "emma", Surface.SLACK, to_queue="billing", note="refund question"),
        lambda: a.claim(hid, "liam", Surface.TEAMS),
    ]
    for i in range(MESSAGES):
        out.append(lambda i=i: c.customer_message(hid, f"customer says {i} — it's <broken> & \"odd\""))
        out.append(lambda i=i: c.agent_reply(hid, "liam", f"agent answers {i}", Surface.TEAMS))
    out.append(lambda: a.resolve(hid, "liam", Surface.TEAMS, note="refunded"))
    out.append(lambda: record_csat(rt, hid, 4, "quick, thanks"))
    return out


async def live(rt: Any, hid: str, drain_between: Dispatcher | None = None) -> None:
    for step in steps(rt, hid):
        await step()
        if drain_between is not None:
            await drain(drain_between)


async def drain(d: Dispatcher, rounds: int = 50) -> int:
    total = 0
    for _ in range(rounds):
        n = await d.drain_once()
        total += n
        if n == 0:
            break
    return total


class RunningClock(FakeClock):
    """Real time plus an offset tests push forward (so retries come due without sleeping)."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def dispatcher(rt: Any, clock: FakeClock | None = None) -> Dispatcher:
    deps = rt.deps if clock is None else replace(rt.deps, clock=clock)
    return Dispatcher(deps, rt.destinations)


async def timeline_kinds(rt: Any, hid: str) -> list[tuple[int, str]]:
    """(event id, kind) of the events a CRM timeline shows, in order."""
    from handoff.crm import SILENT_KINDS

    async with rt.deps.uow(read_only=True) as uow:
        events = await uow.events.for_handoff(hid)
    return [(int(e.id or 0), e.kind.value) for e in events if e.kind not in SILENT_KINDS]
