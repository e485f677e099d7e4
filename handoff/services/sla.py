"""The SLA engine: clocks that follow every handoff, warnings and breaches on time, bumps, management escalation.

Two halves, one code path each:

* **The keeper** (:meth:`SlaEngine.observe`) runs inside every unit of work's commit, on the events about to
  be written: a CREATED starts the clocks, a claim stops the first-response clock, ``pending_customer`` pauses
  the resolution clock and ``resumed`` restarts it, a resolution stops it, and so on. Clock rows change in the
  same transaction as the state change that moved them, so a crash can never leave a clock running for a
  resolved handoff; each commit that moved clocks records one ``sla_clock`` event saying what and why.
* **The tick** (:meth:`SlaEngine.tick`, run by the scheduler every ``sla.tick_seconds``) claims the clocks whose
  warning point or target has come (``next_at <= now``, ``FOR UPDATE SKIP LOCKED``), and acts: a warning at
  80 % (``sla_warning``, with the mention the cards show), a breach at 100 % (``sla_breached``: priority +1,
  re-route a waiting handoff to the queue's backup, the supervisor told), the long-wait bump, the enterprise
  watch that escalates to management. Several processes tick the same database; each clock is acted on once.

Every bump raises one level, once per reason, and is explained on the card (a ``sla.<code>`` reason).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from handoff import lifecycle
from handoff.models import Actor, Event, EventKind, Handoff, Reason, Status, Surface
from handoff.ports import NoTelemetry, Telemetry, UnitOfWork
from handoff.services.common import Deps
from handoff.sla import timing
from handoff.sla.clocks import ClockKind, ClockOutcome, SlaClock
from handoff.sla.management import intake_triggers, word_hit
from handoff.sla.policy import SlaPolicy
from handoff.sla.timing import WALL, WATCHES, Calendar

log = logging.getLogger("baton.sla")

#: Events the keeper reacts to; everything else passes untouched.
_WATCHED = frozenset({
    EventKind.CREATED, EventKind.CLAIMED, EventKind.TRANSFERRED, EventKind.ESCALATED, EventKind.PENDING_CUSTOMER,
    EventKind.RESUMED, EventKind.RESOLVED, EventKind.REOPENED, EventKind.CLOSED, EventKind.CUSTOMER_MESSAGE,
    EventKind.ACKNOWLEDGED, EventKind.MANAGEMENT_ESCALATED,
})
_LABEL = {ClockKind.FIRST_RESPONSE: "first response", ClockKind.RESOLUTION: "resolution",
          ClockKind.TIER_ACK: "tier acknowledgement", ClockKind.MANAGEMENT_ACK: "management acknowledgement",
          ClockKind.LONG_WAIT: "long-wait watch", ClockKind.MANAGEMENT_WATCH: "enterprise watch"}


class Frustration(Protocol):
    """The decide layer's reading of one customer message (:meth:`handoff.decide.RuleEngine.frustration`)."""

    def frustration(self, text: str, locale: str = "en") -> str | None: ...


class Calendars(Protocol):
    """Business hours per queue (:class:`handoff.sla.calendar.Calendars`)."""

    def for_queue(self, queue: str) -> Calendar: ...


def minutes(seconds: float) -> str:
    """``90`` → "1.5 min", ``3600`` → "60 min", ``14400`` → "4 h" (how targets are spoken on cards and timelines)."""
    if seconds >= 7200:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


@dataclass
class _Work:
    """What one handoff's commit changed: clocks to write, the timeline lines about them, extra events."""

    handoff: Handoff
    clocks: list[SlaClock]
    changed: dict[int, SlaClock] = field(default_factory=dict)  # index in clocks → clock
    lines: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def open(self, *kinds: ClockKind) -> list[tuple[int, SlaClock]]:
        return [(i, c) for i, c in enumerate(self.clocks) if c.open and (not kinds or c.kind in kinds)]

    def put(self, i: int, clock: SlaClock) -> None:
        self.clocks[i] = clock
        self.changed[i] = clock

    def add(self, clock: SlaClock) -> None:
        self.clocks.append(clock)
        self.changed[len(self.clocks) - 1] = clock


class SlaEngine:
    """See the module docstring.

    Args:
        deps: shared collaborators (``deps.config.sla`` is the policy).
        decider: reads frustration in new customer messages (the rules engine).
        calendars: business hours per queue; None counts wall time everywhere.
        telemetry: told each warning and breach once the tick that recorded it has committed, for metrics.
    """

    def __init__(self, deps: Deps, decider: Frustration | None = None, calendars: Calendars | None = None,
                 telemetry: Telemetry | None = None) -> None:
        self.deps = deps
        self.telemetry: Telemetry = telemetry or NoTelemetry()
        self.cfg = deps.config.sla
        self.policy = SlaPolicy(self.cfg)
        self.decider = decider
        self.calendars = calendars

    def calendar_for(self, clock: SlaClock) -> Calendar:
        if clock.business_hours and clock.calendar and self.calendars is not None:
            return self.calendars.for_queue(clock.calendar)
        return WALL

    # ------------------------------------------------------------------------------------------ the keeper

    async def observe(self, uow: UnitOfWork, events: Sequence[Event]) -> list[Event]:
        """Move the clocks for ``events`` (about to be committed); returns the events to record with them."""
        if not self.cfg.enabled:
            return []
        out: list[Event] = []
        pending = [e for e in events if e.kind in _WATCHED]
        while pending:  # events the keeper itself records (management escalation) are observed too
            by_handoff: dict[str, list[Event]] = {}
            for e in pending:
                by_handoff.setdefault(e.handoff_id, []).append(e)
            pending = []
            for handoff_id, evs in by_handoff.items():
                extra = await self._observe_one(uow, handoff_id, evs)
                out.extend(extra)
                pending.extend(e for e in extra if e.kind in _WATCHED)
        return out

    async def _observe_one(self, uow: UnitOfWork, handoff_id: str, events: list[Event]) -> list[Event]:
        h = await uow.handoffs.get(handoff_id)
        if h is None:
            return []
        fresh = events[0].kind is EventKind.CREATED
        clocks = [] if fresh else list(await uow.sla.for_handoff(handoff_id))
        work = _Work(h, clocks)
        for e in events:
            await self._react(uow, work, e)
        await self._persist(uow, work, events[-1].at)
        return work.events

    async def _react(self, uow: UnitOfWork, w: _Work, e: Event) -> None:
        now, h = e.at, w.handoff
        match e.kind:
            case EventKind.CREATED:
                await self._created(uow, w, now)
            case EventKind.CLAIMED:
                self._stop(w, now, "claimed", ClockKind.FIRST_RESPONSE, ClockKind.TIER_ACK, ClockKind.LONG_WAIT)
            case EventKind.TRANSFERRED:
                if "transfer" in self.cfg.restart_on:
                    self._restart(w, now, "transferred (the policy restarts clocks on transfer)")
            case EventKind.ESCALATED:
                if "escalation" in self.cfg.restart_on:
                    self._restart(w, now, "escalated (the policy restarts clocks on escalation)")
                self._stop(w, now, "a newer escalation", ClockKind.TIER_ACK, outcome=ClockOutcome.CANCELLED)
                target = self.policy.tier_ack(h.tier)
                if target is not None:
                    self._start(w, ClockKind.TIER_ACK, target, now, f"escalated to {h.tier.value}")
                if h.escalation_count >= 2:
                    await self._bump(uow, w, "repeat_escalation", f"escalated {h.escalation_count} times", now)
            case EventKind.PENDING_CUSTOMER:
                for i, c in w.open(ClockKind.RESOLUTION, ClockKind.FIRST_RESPONSE, ClockKind.TIER_ACK):
                    if c.running:
                        w.put(i, timing.pause(c, now))
                        w.lines.append(self._line(c, "paused", "waiting for the customer"))
            case EventKind.RESUMED:
                for i, c in w.open():
                    if c.paused_at is not None:
                        resumed = timing.resume(c, now, self.calendar_for(c), self.cfg.warn_at)
                        w.put(i, resumed)
                        w.lines.append(self._line(resumed, "resumed", e.reason or "the conversation resumed"))
            case EventKind.RESOLVED:
                self._stop(w, now, "resolved", ClockKind.RESOLUTION)
                self._stop(w, now, "resolved", outcome=ClockOutcome.CANCELLED)
            case EventKind.REOPENED:
                self._stop(w, now, "reopened", ClockKind.RESOLUTION, outcome=ClockOutcome.CANCELLED)
                t = await self._targets(uow, h)
                if t.resolution is not None:
                    self._start(w, ClockKind.RESOLUTION, t.resolution, now, "reopened", policy=t.policy,
                                business_hours=t.business_hours)
                await self._bump(uow, w, "repeat_escalation", f"reopened ({h.reopen_count} times)", now)
            case EventKind.CLOSED:
                self._stop(w, now, "closed", outcome=ClockOutcome.CANCELLED)
            case EventKind.CUSTOMER_MESSAGE:
                await self._customer_message(uow, w, e)
            case EventKind.MANAGEMENT_ESCALATED:
                self._stop(w, now, "escalated to management", ClockKind.MANAGEMENT_WATCH)
                if not w.open(ClockKind.MANAGEMENT_ACK):
                    self._start(w, ClockKind.MANAGEMENT_ACK, self.policy.management_ack, now, "escalated to management")
            case EventKind.ACKNOWLEDGED:
                try:
                    kind = ClockKind(str(e.data.get("clock") or ClockKind.MANAGEMENT_ACK.value))
                except ValueError:
                    return
                self._stop(w, now, f"acknowledged by {e.actor.id or 'someone'}", kind)

    async def _created(self, uow: UnitOfWork, w: _Work, now: datetime) -> None:
        h = w.handoff
        customer = await uow.customers.get(h.customer_id)
        plan = customer.plan if customer else None
        t = self.policy.targets(h.priority, plan, h.queue)
        self._start(w, ClockKind.FIRST_RESPONSE, t.first_response, now, "handoff created", policy=t.policy)
        if t.resolution is not None:
            self._start(w, ClockKind.RESOLUTION, t.resolution, now, "handoff created", policy=t.policy,
                        business_hours=t.business_hours)
        if self.cfg.bumps.long_wait is not None:
            self._start(w, ClockKind.LONG_WAIT, self.cfg.bumps.long_wait, now, "handoff created")
        m = self.cfg.management
        if plan in m.plans and h.priority in m.priorities:
            self._start(w, ClockKind.MANAGEMENT_WATCH, m.open_longer_than, now,
                        f"{plan} customer, {h.priority.value} priority")
        recent = 0
        if customer is not None and (customer.created_at is None or customer.created_at < now):  # new: no history
            recent = await uow.handoffs.count_recent_for_customer(
                customer.id, now - timedelta(days=m.repeat_days), h.id)
        texts = [x.text for x in await uow.handoffs.transcript(h.id) if x.role == "customer"] if m.words else []
        triggers = intake_triggers(m, account_value=customer.account_value if customer else 0.0,
                                   recent_escalations=recent, texts=texts)
        if triggers:
            self._escalate_to_management(w, triggers, now)

    async def _customer_message(self, uow: UnitOfWork, w: _Work, e: Event) -> None:
        h = w.handoff
        if not h.is_open:
            return
        text = str(e.data.get("text") or "")
        if self.cfg.bumps.frustration and self.decider is not None:
            why = self.decider.frustration(text, h.locale)
            if why:
                await self._bump(uow, w, "frustration", why, e.at)
        hit = word_hit(self.cfg.management, [text])
        if hit:
            self._escalate_to_management(w, [{"code": "churn_or_legal", "detail": f"the customer wrote '{hit}'"}],
                                         e.at)

    # ------------------------------------------------------------------------------------------ actions

    def _escalate_to_management(self, w: _Work, triggers: list[dict[str, str]], now: datetime) -> None:
        """Once per handoff: a management card (drawn by the chat layer) with its own acknowledgement clock."""
        if any(c.kind is ClockKind.MANAGEMENT_ACK for c in w.clocks) or any(
                e.kind is EventKind.MANAGEMENT_ESCALATED for e in w.events):
            return
        detail = "; ".join(t["detail"] for t in triggers)
        w.events.append(Event(handoff_id=w.handoff.id, kind=EventKind.MANAGEMENT_ESCALATED, actor=Actor.system(),
                              source=Surface.SYSTEM, at=now, reason=f"escalated to management: {detail}",
                              data={"triggers": triggers, "channels": dict(self.cfg.management.channels)}))

    async def _bump(self, uow: UnitOfWork, w: _Work, code: str, detail: str, now: datetime) -> bool:
        """Raise the priority one level for ``code``, once per handoff; explained on the card and the timeline."""
        h = w.handoff
        enabled = {"long_wait": self.cfg.bumps.long_wait is not None,
                   "repeat_escalation": self.cfg.bumps.repeat_escalation,
                   "frustration": self.cfg.bumps.frustration, "breach": self.cfg.on_breach.bump}
        if not enabled.get(code, True) or not h.is_open:
            return False
        if code != "breach" and any(r.code == f"sla.{code}" for r in h.reasons):
            return False
        new = h.priority.bumped(1)
        if new is h.priority:
            return False
        text = f"{detail}: {h.priority.value} → {new.value}"
        changed = replace(h, priority=new, reasons=(*h.reasons, Reason(f"sla.{code}", text, 0.5)), updated_at=now)
        w.handoff = await uow.handoffs.save(changed, h.version)
        w.events.append(Event(handoff_id=h.id, kind=EventKind.PRIORITY_CHANGED, actor=Actor.system(),
                              source=Surface.SYSTEM, at=now, reason=f"priority raised: {text}",
                              data={"from": h.priority.value, "to": new.value, "code": code, "detail": detail}))
        return True

    # ------------------------------------------------------------------------------------------ clocks

    def _start(self, w: _Work, kind: ClockKind, target: float, now: datetime, why: str, *, policy: str = "",
               business_hours: bool = False) -> None:
        h = w.handoff
        calendar = h.queue if business_hours else None
        cal = self.calendars.for_queue(h.queue) if business_hours and self.calendars is not None else WALL
        clock = timing.start(h.id, kind, target, now, cal, self.cfg.warn_at, policy=policy,
                             business_hours=business_hours, calendar=calendar)
        if h.status is Status.PENDING_CUSTOMER and kind in (ClockKind.RESOLUTION,):
            clock = timing.pause(clock, now)
        w.add(clock)
        w.lines.append(self._line(clock, "started", why))

    def _stop(self, w: _Work, now: datetime, why: str, *kinds: ClockKind, outcome: ClockOutcome | None = None
              ) -> None:
        for i, c in w.open(*kinds):
            result = outcome
            if result is None and c.kind in WATCHES:
                result = ClockOutcome.CANCELLED  # a watch that did not fire: nothing to report
            stopped = timing.stop(c, now, self.calendar_for(c), result)
            w.put(i, stopped)
            w.lines.append(self._line(stopped, "stopped", why))

    def _restart(self, w: _Work, now: datetime, why: str) -> None:
        for i, c in w.open(ClockKind.FIRST_RESPONSE, ClockKind.RESOLUTION):
            w.put(i, timing.stop(c, now, self.calendar_for(c), ClockOutcome.CANCELLED))
            fresh = timing.start(c.handoff_id, c.kind, c.target_seconds, now, self.calendar_for(c), self.cfg.warn_at,
                                 policy=c.policy, business_hours=c.business_hours, calendar=c.calendar)
            w.add(fresh)
            w.lines.append(self._line(fresh, "restarted", why))

    def _line(self, c: SlaClock, action: str, why: str) -> dict[str, Any]:
        line: dict[str, Any] = {"clock": c.kind.value, "action": action, "target_seconds": c.target_seconds,
                                "due_at": c.due_at.isoformat() if c.due_at else None, "why": why}
        if c.outcome is not None:
            line["outcome"] = c.outcome.value
            line["elapsed_seconds"] = c.elapsed_seconds
        if c.policy:
            line["policy"] = c.policy
        return line

    async def _persist(self, uow: UnitOfWork, w: _Work, now: datetime) -> None:
        soon = now + timedelta(seconds=self.cfg.tick_seconds)
        new: list[int] = []
        changed: list[int] = []
        for i in sorted(w.changed):
            c = w.clocks[i]
            due = timing.next_at(c)
            if due is not None and due <= soon:  # due before the next tick: let every process look right away
                uow.wake_timers()
            (new if c.id is None else changed).append(i)
        for i, stored in zip(new, await uow.sla.add_many([w.clocks[i] for i in new], now), strict=True):
            w.clocks[i] = stored  # one INSERT for the new clocks, one UPDATE (executemany) for the changed ones
        if changed:
            await uow.sla.save_many([w.clocks[i] for i in changed], now)
        shown = [x for x in w.lines if x["clock"] not in (k.value for k in WATCHES)]
        if shown:
            text = "; ".join(f"{_LABEL[ClockKind(x['clock'])]} clock {x['action']}"
                             f"{' (' + minutes(x['target_seconds']) + ')' if x['action'] == 'started' else ''}"
                             f" — {x['why']}" for x in shown)
            data: dict[str, Any] = {"changes": shown, "clock": shown[0]["clock"], "action": shown[0]["action"]}
            w.events.insert(0, Event(handoff_id=w.handoff.id, kind=EventKind.SLA_CLOCK, actor=Actor.system(),
                                     source=Surface.SYSTEM, at=now, reason=text, data=data))
        w.changed.clear()
        w.lines.clear()

    async def _targets(self, uow: UnitOfWork, h: Handoff) -> Any:
        customer = await uow.customers.get(h.customer_id)
        return self.policy.targets(h.priority, customer.plan if customer else None, h.queue)

    # ------------------------------------------------------------------------------------------ the tick

    async def tick(self) -> int:
        """Act on every clock that is due (in batches of ``sla.batch_size``); returns how many were handled."""
        if not self.cfg.enabled:
            return 0
        total = 0
        while True:
            async with self.deps.uow() as uow:
                now = self.deps.now()
                due = await uow.sla.claim_due(now, self.cfg.batch_size)
                # Never wait on a handoff an agent is changing right now (no lock cycle with the keeper, which
                # takes the handoff first and the clocks second): its clocks come up again at the next tick.
                locked = await uow.handoffs.lock_many([c.handoff_id for c in due], skip_locked=True)
                changed: list[SlaClock] = []
                recorded: list[Event] = []
                for clock in due:
                    if clock.handoff_id not in locked:
                        continue
                    clocks, after = await self._fire(uow, clock, locked.get(clock.handoff_id), now, recorded)
                    changed.extend(clocks)
                    if after is not None:  # a bump or re-route saved it: the next clock of it sees that version
                        locked[after.id] = after
                await uow.sla.save_many(changed, now)
                await uow.commit()
            self._report(recorded)
            handled = sum(1 for c in due if c.handoff_id in locked)
            total += handled
            if len(due) < self.cfg.batch_size or handled == 0:  # all busy: the next tick, not a spin
                return total

    def _report(self, events: Sequence[Event]) -> None:
        """Count the committed warnings and breaches (by clock kind: no ids, no personal data)."""
        try:
            for e in events:
                if e.kind in (EventKind.SLA_WARNING, EventKind.SLA_BREACHED):
                    self.telemetry.sla_alert("warning" if e.kind is EventKind.SLA_WARNING else "breach",
                                             str(e.data.get("clock") or "unknown"))
        except Exception:  # counting must never cost a tick
            log.exception("SLA telemetry failed")

    async def _fire(self, uow: UnitOfWork, c: SlaClock, h: Handoff | None, now: datetime,
                    recorded: list[Event] | None = None) -> tuple[list[SlaClock], Handoff | None]:
        """Act on one due clock of a locked handoff; returns the clocks to write and the handoff as it is now.

        The events recorded are also appended to ``recorded`` (counted once the tick commits)."""
        cal = self.calendar_for(c)
        if h is None or not h.is_open:
            return [timing.stop(c, now, cal, ClockOutcome.CANCELLED)], h
        w = _Work(h, [c])
        if c.kind in WATCHES:
            if c.due_at is not None and c.due_at <= now:
                fired = timing.stop(replace(c, breached_at=now), now, cal, ClockOutcome.BREACHED)
                w.put(0, fired)
                await self._watch_fired(uow, w, c, now)
        else:
            if c.warned_at is None and c.warn_at is not None and c.warn_at <= now:
                c = replace(c, warned_at=now)
                w.put(0, c)
                w.events.append(self._warning(h, c, now, cal))
            if c.breached_at is None and c.due_at is not None and c.due_at <= now:
                c = replace(c, breached_at=now)
                w.put(0, c)
                await self._breach(uow, w, c, now, cal)
        for e in w.events:
            uow.record(e)
        if recorded is not None:
            recorded.extend(w.events)
        return [w.clocks[i] for i in sorted(w.changed)], w.handoff

    async def _watch_fired(self, uow: UnitOfWork, w: _Work, c: SlaClock, now: datetime) -> None:
        h = w.handoff
        if c.kind is ClockKind.LONG_WAIT and h.status is Status.QUEUED:
            await self._bump(uow, w, "long_wait", f"waited over {minutes(c.target_seconds)} unclaimed", now)
        elif c.kind is ClockKind.MANAGEMENT_WATCH:
            other = await uow.sla.for_handoff(h.id)
            w.clocks.extend(x for x in other if x.id != c.id)
            self._escalate_to_management(w, [{"code": "enterprise_open_long", "detail": (
                f"{h.priority.value} handoff of an enterprise customer open over {minutes(c.target_seconds)}")}], now)

    def _warning(self, h: Handoff, c: SlaClock, now: datetime, cal: Calendar) -> Event:
        spent = timing.elapsed(c, now, cal)
        percent = round(100 * spent / c.target_seconds) if c.target_seconds else 100
        mention = None
        if self.cfg.mention != "none":
            q = self.deps.config.queues.get(h.queue)
            mention = f"lead:{q.lead}" if self.cfg.mention == "lead" and q is not None and q.lead else "here"
        label = _LABEL[c.kind]
        return Event(handoff_id=h.id, kind=EventKind.SLA_WARNING, actor=Actor.system(), source=Surface.SYSTEM, at=now,
                     reason=f"{label} target {minutes(c.target_seconds)} is {percent}% used",
                     data={"clock": c.kind.value, "target_seconds": c.target_seconds,
                           "elapsed_seconds": round(spent, 3), "due_at": c.due_at.isoformat() if c.due_at else None,
                           "percent": percent, "mention": mention})

    async def _breach(self, uow: UnitOfWork, w: _Work, c: SlaClock, now: datetime, cal: Calendar) -> None:
        """Priority +1, re-route a waiting handoff to the backup queue/agent, tell the supervisor — as configured."""
        h = w.handoff
        at = len(w.events)  # the breach line goes before what it caused
        actions: list[str] = []
        before = h.priority
        q = self.deps.config.queues.get(h.queue)
        label = _LABEL[c.kind]
        if self.cfg.on_breach.bump and await self._bump(uow, w, "breach", f"{label} target missed", now):
            # _bump recorded a PRIORITY_CHANGED; the breach event below says it all, so keep only one line
            w.events = w.events[:at] + [e for e in w.events[at:] if e.kind is not EventKind.PRIORITY_CHANGED]
            actions.append(f"priority {before.value}→{w.handoff.priority.value}")
        to_queue = None
        if self.cfg.on_breach.reroute and q is not None and w.handoff.status is Status.QUEUED and (
                (q.backup and q.backup != h.queue) or q.backup_agent):
            target = q.backup if q.backup and q.backup != h.queue else h.queue
            tr = lifecycle.transfer(w.handoff, "sla", Surface.SYSTEM, now, to_queue=target,
                                    known_queues=self.deps.config.queue_names, to_agent=q.backup_agent,
                                    note=f"{label} target missed: moved to the backup")
            w.handoff = await uow.handoffs.save(tr.after, w.handoff.version)
            w.events.append(replace(tr.event, actor=Actor.system()))
            to_queue = target
            actions.append(f"rerouted to {target}" + (f" (suggested {q.backup_agent})" if q.backup_agent else ""))
        supervisor = (q.supervisor or q.lead) if q is not None and self.cfg.on_breach.notify_supervisor else None
        if supervisor:
            actions.append(f"supervisor:{supervisor}")
        spent = timing.elapsed(c, now, cal)
        w.events.insert(at, Event(
            handoff_id=h.id, kind=EventKind.SLA_BREACHED, actor=Actor.system(), source=Surface.SYSTEM, at=now,
            reason=f"{label} target {minutes(c.target_seconds)} missed"
            + (f": {', '.join(actions)}" if actions else ""),
            data={"clock": c.kind.value, "target_seconds": c.target_seconds, "elapsed_seconds": round(spent, 3),
                  "due_at": c.due_at.isoformat() if c.due_at else None, "actions": actions, "supervisor": supervisor,
                  "from_priority": before.value, "to_priority": w.handoff.priority.value, "to_queue": to_queue}))


__all__ = ["SlaEngine", "minutes"]
