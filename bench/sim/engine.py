"""Discrete-event simulation of support days; asks for predictions at every arrival, records real waits.

Dispatch rule (what the estimator models, and what agents do): an available agent on shift with a free
slot picks the waiting handoff of highest priority, then oldest, among the queues they take; when several
agents are free, the least loaded picks first. Work in progress continues while an agent is away or busy.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bench.sim import world
from handoff.eta import AgentLoad, HandleTimeHistory, InProgress, QueueSnapshot, WaitingHandoff
from handoff.eta.distributions import MAX_HISTORY, PRIOR_MEDIAN_HANDLE_S, PRIOR_SIGMA
from handoff.models import AgentStatus, Priority

RATE_WINDOW_S = 3600.0
MIN_RATE_WINDOW_S = 900.0


@dataclass(slots=True)
class SimHandoff:
    id: str
    queue: str
    priority: Priority
    arrived: float
    z: float  # standard-normal draw fixing its handle time (scaled by who takes it)
    picked: float | None = None

    def rank(self) -> tuple[int, float, str]:
        return (self.priority.rank, self.arrived, self.id)


@dataclass(frozen=True, slots=True)
class Arrive:
    handoff: SimHandoff


@dataclass(frozen=True, slots=True)
class Finish:
    agent_id: str
    handoff_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class StatusChange:
    agent_id: str
    status: AgentStatus


@dataclass(frozen=True, slots=True)
class ShiftStart:
    agent_id: str
    start: float
    stop: float


@dataclass(frozen=True, slots=True)
class ShiftEnd:
    agent_id: str


Event = Arrive | Finish | StatusChange | ShiftStart | ShiftEnd


@dataclass(slots=True)
class AgentState:
    spec: world.AgentSpec
    status: AgentStatus = AgentStatus.OFFLINE
    status_since: float = 0.0
    on_shift: bool = False
    overtime: bool = False
    shift_start: float = 0.0
    shift_end: float = 0.0
    open: dict[str, tuple[str, float]] = field(default_factory=dict)  # handoff id -> (queue, started)

    def can_pick(self) -> bool:
        return self.on_shift and self.status is AgentStatus.AVAILABLE and len(self.open) < self.spec.capacity


@dataclass(frozen=True, slots=True)
class Observation:
    """What the service knows when a handoff arrives, plus the figures the baselines use."""

    t: float
    now: datetime
    handoff: SimHandoff
    snapshot: QueueSnapshot
    history: HandleTimeHistory
    position: int  # 1-based, among waiting handoffs of its queue, by priority then age
    agents_on_shift: int  # on shift for its queue, whatever their status
    slots_on_shift: int
    present_slots: int  # capacity of available agents on shift for its queue
    free_slots: int
    mean_handle: float
    arrival_rate: float  # per second, its queue, trailing window


@dataclass(frozen=True, slots=True)
class Record:
    weekday: int
    hour: float
    queue: str
    priority: Priority
    wait: float
    predictions: dict[str, float]


Predict = Callable[[Observation], dict[str, float]]


def _dt(t: float) -> datetime:
    return world.MONDAY + timedelta(seconds=t)


class Simulation:
    """One seeded run over ``days`` weekdays starting at weekday index ``first_day`` (0 = Monday)."""

    def __init__(self, seed: int, days: int, predict: Predict, first_day: int = 0) -> None:
        self.predict = predict
        self.events: list[tuple[float, int, Event]] = []
        self.seq = 0
        self.agents = {spec.id: AgentState(spec) for spec in world.AGENTS}
        self.waiting: list[SimHandoff] = []
        self.history: dict[str, list[float]] = {q: [] for q in world.TOPICS}
        self.recent: deque[tuple[float, str, Priority]] = deque()
        self.day_open = 0.0
        self.records: list[tuple[SimHandoff, dict[str, float]]] = []
        arrivals = random.Random(f"{seed}/arrivals")
        spells = random.Random(f"{seed}/spells")
        for day in range(first_day, first_day + days):
            self._schedule_day(day, arrivals, spells)

    def _push(self, t: float, event: Event) -> None:
        self.seq += 1  # ties go in scheduling order
        heapq.heappush(self.events, (t, self.seq, event))

    def _schedule_day(self, day: int, arrivals: random.Random, spells: random.Random) -> None:
        weekday = day % 5
        day0 = ((day // 5) * 7 + weekday) * 86400.0
        factor = world.DAY_FACTOR[weekday]
        t = day0 + world.OPEN_H * 3600  # thinning of a non-homogeneous Poisson process
        end = day0 + world.CLOSE_H * 3600
        n = 0
        while True:
            t += arrivals.expovariate(world.PEAK_RATE / 3600)
            if t >= end:
                break
            if arrivals.random() * world.PEAK_RATE < factor * world.hourly_rate((t - day0) / 3600):
                queue = arrivals.choices(world.TOPICS, weights=[world.TOPIC_MIX[q] for q in world.TOPICS])[0]
                priority = arrivals.choices(list(world.PRIORITY_MIX), weights=list(world.PRIORITY_MIX.values()))[0]
                n += 1
                self._push(t, Arrive(SimHandoff(f"d{day}-{n}", queue, priority, t, arrivals.gauss(0, 1))))
        for spec in world.AGENTS:
            start, stop = day0 + spec.start_h * 3600, day0 + spec.end_h * 3600
            self._push(start, ShiftStart(spec.id, start, stop))
            self._push(stop, ShiftEnd(spec.id))
            lunch = (start, start)
            if spec.end_h - spec.start_h >= 7:
                at = start + (world.LUNCH_AFTER_H + spells.uniform(-1, 1) * world.LUNCH_JITTER_H) * 3600
                lunch = (at, at + world.lognormal(world.LUNCH_MEDIAN_S, world.LUNCH_SIGMA, spells.gauss(0, 1)))
                self._spell(spec.id, lunch[0], lunch[1], AgentStatus.AWAY)
            t = start
            while True:
                t += spells.expovariate(1 / world.SPELL_EVERY_S)
                if spells.random() < world.BREAK_SHARE:
                    status, median, sigma = AgentStatus.AWAY, world.BREAK_MEDIAN_S, world.BREAK_SIGMA
                else:
                    status, median, sigma = AgentStatus.BUSY, world.MEETING_MEDIAN_S, world.MEETING_SIGMA
                until = t + world.lognormal(median, sigma, spells.gauss(0, 1))
                if until >= stop - 600:
                    break
                if until > lunch[0] and t < lunch[1]:
                    t = lunch[1]
                    continue
                self._spell(spec.id, t, until, status)
                t = until

    def _spell(self, agent_id: str, start: float, end: float, status: AgentStatus) -> None:
        self._push(start, StatusChange(agent_id, status))
        self._push(end, StatusChange(agent_id, AgentStatus.AVAILABLE))

    def run(self) -> list[Record]:
        """Play every event; returns one record per handoff."""
        while self.events:
            t, _, event = heapq.heappop(self.events)
            match event:
                case Arrive(handoff):
                    self._arrive(t, handoff)
                case Finish(agent_id, handoff_id, queue):
                    _, started = self.agents[agent_id].open.pop(handoff_id)
                    self.history[queue].append(t - started)
                case StatusChange(agent_id, status):
                    agent = self.agents[agent_id]
                    if agent.on_shift:
                        agent.status, agent.status_since = status, t
                case ShiftStart(agent_id, start, stop):
                    agent = self.agents[agent_id]
                    agent.on_shift, agent.overtime = True, False
                    agent.status, agent.status_since = AgentStatus.AVAILABLE, t
                    agent.shift_start, agent.shift_end = start, stop
                    if agent.spec.start_h == min(a.start_h for a in world.AGENTS):
                        self.day_open = t
                case ShiftEnd(agent_id):
                    agent = self.agents[agent_id]
                    if agent.spec.closes:
                        agent.overtime = True
                    else:
                        agent.on_shift, agent.status, agent.status_since = False, AgentStatus.OFFLINE, t
            self._dispatch(t)
        return [
            Record(
                weekday=int(h.arrived // 86400) % 7,
                hour=(h.arrived % 86400) / 3600,
                queue=h.queue,
                priority=h.priority,
                wait=(h.picked if h.picked is not None else h.arrived) - h.arrived,
                predictions=p,
            )
            for h, p in self.records
        ]

    def _arrive(self, t: float, handoff: SimHandoff) -> None:
        self.recent.append((t, handoff.queue, handoff.priority))
        while self.recent and self.recent[0][0] < t - RATE_WINDOW_S:
            self.recent.popleft()
        self.records.append((handoff, self.predict(self._observe(t, handoff))))
        self.waiting.append(handoff)

    def _dispatch(self, t: float) -> None:
        while True:
            free = sorted(
                (a for a in self.agents.values() if a.can_pick()),
                key=lambda a: (len(a.open) / a.spec.capacity, a.spec.id),
            )
            for agent in free:
                choices = [h for h in self.waiting if h.queue in agent.spec.skills]
                if choices:
                    handoff = min(choices, key=SimHandoff.rank)
                    self.waiting.remove(handoff)
                    handoff.picked = t
                    agent.open[handoff.id] = (handoff.queue, t)
                    median, sigma = world.HANDLE_TIME[handoff.queue]
                    handle = world.lognormal(median * agent.spec.speed, sigma, handoff.z)
                    self._push(t + handle, Finish(agent.spec.id, handoff.id, handoff.queue))
                    break
            else:
                break
        for agent in self.agents.values():  # closers go home once nothing they take is waiting
            if agent.overtime and agent.on_shift and not any(h.queue in agent.spec.skills for h in self.waiting):
                agent.on_shift, agent.overtime, agent.status, agent.status_since = False, False, AgentStatus.OFFLINE, t

    def _observe(self, t: float, handoff: SimHandoff) -> Observation:
        now = _dt(t)
        loads: list[AgentLoad] = []
        day0 = t // 86400 * 86400
        for a in self.agents.values():
            start_today = day0 + a.spec.start_h * 3600
            later_today = not a.on_shift and start_today > t  # the schedule says they start later today
            if not a.on_shift and not later_today:
                continue
            loads.append(
                AgentLoad(
                    id=a.spec.id,
                    queues=a.spec.skills,
                    status=a.status if a.on_shift else AgentStatus.OFFLINE,
                    capacity=a.spec.capacity,
                    in_progress=tuple(InProgress(q, _dt(s)) for q, s in a.open.values()),
                    status_since=_dt(a.status_since),
                    shift_starts_at=_dt(start_today) if later_today else None,
                    shift_ends_at=None if a.spec.closes else _dt(day0 + a.spec.end_h * 3600),
                )
            )
        window = min(RATE_WINDOW_S, max(MIN_RATE_WINDOW_S, t - self.day_open))
        rates: dict[str, dict[Priority, float]] = {}
        for _, q, p in self.recent:
            rates.setdefault(q, {}).setdefault(p, 0.0)
            rates[q][p] += 3600 / window
        snapshot = QueueSnapshot(
            handoff=WaitingHandoff(handoff.id, handoff.queue, handoff.priority, now),
            agents=tuple(loads),
            waiting=tuple(WaitingHandoff(h.id, h.queue, h.priority, _dt(h.arrived)) for h in self.waiting),
            arrivals_per_hour=rates,
        )
        recent = self.history[handoff.queue][-MAX_HISTORY:]
        prior_mean = PRIOR_MEDIAN_HANDLE_S[handoff.queue] * math.exp(PRIOR_SIGMA**2 / 2)
        eligible = [a for a in self.agents.values() if a.on_shift and handoff.queue in a.spec.skills]
        present = [a for a in eligible if a.status is AgentStatus.AVAILABLE]
        return Observation(
            t=t,
            now=now,
            handoff=handoff,
            snapshot=snapshot,
            history=HandleTimeHistory({q: tuple(v[-MAX_HISTORY:]) for q, v in self.history.items() if v}),
            position=1 + sum(1 for h in self.waiting if h.queue == handoff.queue and h.rank() < handoff.rank()),
            agents_on_shift=len(eligible),
            slots_on_shift=sum(a.spec.capacity for a in eligible),
            present_slots=sum(a.spec.capacity for a in present),
            free_slots=sum(a.spec.capacity - len(a.open) for a in present if len(a.open) < a.spec.capacity),
            mean_handle=sum(recent) / len(recent) if recent else prior_mean,
            arrival_rate=sum(rates.get(handoff.queue, {}).values()) / 3600,
        )
