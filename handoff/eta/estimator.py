"""When will an agent pick this handoff? A small seeded Monte Carlo of the dispatch rule itself.

Each sample plays the queue forward: every agent slot frees after the *remaining* time of its work in
progress (drawn from the handle-time distribution conditioned on the time already spent), away/busy
agents come back after the rest of a typical absence, agents stop picking when their shift ends, and a
freed slot takes the best-ranked waiting handoff it can serve (priority, then age), exactly as agents do.
Higher-priority arrivals, at the recent rate (fading over the next half hour), jump ahead. The customer's
wait is when a slot finally takes them. The median of the samples is the estimate (the median minimises the
absolute error), the 20th-80th percentiles the range.

Random numbers are fixed per (sample, agent, draw) from seeds, so the same snapshot always gets the same
answer, and one more handoff ahead can only delay each sample path: the estimate never shrinks as the queue
grows. 64 paths take about 1 ms.
"""

from __future__ import annotations

import heapq
import math
import random
from array import array
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from typing import Final

from handoff.eta.distributions import (
    DEFAULT_PRIOR_MEDIAN_HANDLE_S,
    PRIOR_MEDIAN_HANDLE_S,
    RESIDUAL_POINTS,
    HandleTimeModel,
    absence_quantiles,
    handle_time_model,
)
from handoff.eta.types import Confidence, HandleTimeHistory, QueueSnapshot, WaitEstimate
from handoff.models import AgentStatus

SAMPLES: Final = 64
DEEP_QUEUE_AHEAD: Final = 150  # beyond this many ahead, a flow estimate replaces the simulation
"""Monte Carlo sample paths per estimate."""
SEED: Final = 0x5EED
"""Fixed seed: estimates are a pure function of their inputs."""
HORIZON_S: Final = 4 * 3600
"""Waits are not simulated past this; an estimate this long means "no idea, long"."""
LOW_Q: Final = 0.2
HIGH_Q: Final = 0.8
SPREAD_SCALE_FLOOR_S: Final = 300.0
"""A range is judged relative to max(point, this): 0-4 min is a fine answer for a short wait."""
HIGH_CONFIDENCE_SPREAD: Final = 1.0
WIDE_SPREAD: Final = 2.0
"""Wider than this (relative) and the customer is told "longer than usual" instead of a number."""
MIN_HISTORY_FOR_HIGH: Final = 10
_PICK_DRAWS: Final = 16  # random bytes per agent per sample for the work it picks (reused cyclically beyond)
_ARRIVAL_DRAWS: Final = 48  # most arrivals ahead of us simulated per sample
ARRIVAL_RATE_MEMORY_S: Final = 1800.0
"""Recent arrival rates are assumed to fade with this time constant: the estimator knows no daily curve, and a
peak-hour rate extrapolated for hours would starve every low-priority estimate."""

_INF: Final = math.inf


@dataclass(frozen=True, slots=True)
class _PlannedAgent:
    id: str
    serves: frozenset[str]
    capacity: int
    start: float  # seconds until the agent can pick, when known for certain
    back: list[float] | None  # away/busy: quantiles of when they are back, drawn instead of start
    stop: float  # seconds until the agent stops picking
    work: tuple[list[float], ...]  # quantiles of the remaining time of each piece of work in progress


@dataclass(frozen=True, slots=True)
class _Plan:
    own_queue: str
    ahead: tuple[str, ...]  # queues of the handoffs that outrank ours, in pick order
    agents: tuple[_PlannedAgent, ...]
    models: dict[str, HandleTimeModel]
    jump_rate: float  # per second, all queues
    jump_queues: tuple[str, ...]
    jump_cum: tuple[float, ...]


def estimate_wait(snapshot: QueueSnapshot, history: HandleTimeHistory, now: datetime,
                  known_ahead: int | None = None) -> WaitEstimate:
    """Estimate how long until an agent picks ``snapshot.handoff``.

    Args:
        snapshot: Waiting handoffs, agents and their load, recent arrival rates.
        history: Recent handle times per queue (may be empty: the priors are used).
        now: The moment of the snapshot (timezone-consistent with its datetimes).
        known_ahead: How many of its own queue are ahead, when the caller knows (the store's position - 1):
            past ``DEEP_QUEUE_AHEAD`` the flow estimate needs no scan of the waiting list.

    Returns:
        Point estimate, 20th-80th percentile range, confidence, and whether to say "longer than usual".
    """
    own = snapshot.handoff
    deep = known_ahead is not None and known_ahead > DEEP_QUEUE_AHEAD
    outranking = [] if deep else [w for w in snapshot.waiting if w.id != own.id and w.outranks(own)]
    models: dict[str, HandleTimeModel] = {}

    def model(queue: str) -> HandleTimeModel:
        if queue not in models:
            prior = history.prior_median_s.get(queue, PRIOR_MEDIAN_HANDLE_S.get(queue, DEFAULT_PRIOR_MEDIAN_HANDLE_S))
            models[queue] = handle_time_model(history.by_queue.get(queue, ()), prior)
        return models[queue]

    if deep or len(outranking) > DEEP_QUEUE_AHEAD:  # decided before any sorting or planning: bursts stay cheap
        n_ahead = max(known_ahead or 0, len(outranking))
        slots = sum(a.capacity for a in snapshot.agents
                    if own.queue in a.queues and a.status is not AgentStatus.OFFLINE and a.capacity > 0)
        median = model(own.queue).quantile(0.5)
        basis = f"{n_ahead} ahead, median handle {_fmt(median)}"
        return _flow_estimate(n_ahead, slots, median, basis)
    ahead = sorted(outranking, key=lambda w: w.rank)
    jumps = [
        (queue, rate / 3600.0)
        for queue, by_priority in snapshot.arrivals_per_hour.items()
        for priority, rate in by_priority.items()
        if priority.rank < own.priority.rank and rate > 0
    ]
    relevant = {own.queue, *(w.queue for w in ahead), *(q for q, _ in jumps)}
    agents: list[_PlannedAgent] = []
    eligible = present = free_now = 0
    for load in snapshot.agents:
        serves = load.queues & relevant
        stop = _INF if load.shift_ends_at is None else (load.shift_ends_at - now).total_seconds()
        shift_delay = 0.0 if load.shift_starts_at is None else max(0.0, (load.shift_starts_at - now).total_seconds())
        if not serves or load.capacity <= 0 or stop <= shift_delay:
            continue
        back: list[float] | None = None
        if shift_delay > 0:
            pass  # not on shift yet: assume they start on time
        elif load.status is AgentStatus.OFFLINE:
            continue
        elif load.status in (AgentStatus.AWAY, AgentStatus.BUSY):
            since = (now - load.status_since).total_seconds() if load.status_since else 0.0
            back = absence_quantiles(load.status, since)
        work = tuple(
            model(w.queue).residual_quantiles((now - w.started_at).total_seconds()) for w in load.in_progress
        )
        agents.append(_PlannedAgent(load.id, serves, load.capacity, shift_delay, back, stop, work))
        if own.queue in serves:
            eligible += 1
            if back is None and shift_delay == 0:
                present += 1
                free_now += max(0, load.capacity - len(load.in_progress))
    own_model = model(own.queue)
    for queue in relevant:
        model(queue)
    jump_rate = sum(r for _, r in jumps)
    plan = _Plan(
        own_queue=own.queue,
        ahead=tuple(w.queue for w in ahead),
        agents=tuple(agents),
        models=models,
        jump_rate=jump_rate,
        jump_queues=tuple(q for q, _ in jumps),
        jump_cum=tuple(accumulate(r / jump_rate for _, r in jumps)) if jump_rate > 0 else (),
    )
    position = 1 + sum(1 for w in ahead if w.queue == own.queue)
    basis = (
        f"position {position}, {len(ahead)} ahead, {present}/{eligible} agents available, {free_now} free slots, "
        f"median handle {_fmt(own_model.quantile(0.5))} from "
        + (f"{own_model.n} recent" if own_model.n else "prior")
    )
    if free_now > len(ahead):
        return WaitEstimate(0, 0, 0, "high", False, basis)
    if eligible == 0:
        return WaitEstimate(HORIZON_S, HORIZON_S, HORIZON_S, "low", True, basis + ", no eligible agent on shift")

    waits = _simulate(plan, SAMPLES)
    point, low, high = (_quantile(waits, q) for q in (0.5, LOW_Q, HIGH_Q))
    spread = (high - low) / max(point, SPREAD_SCALE_FLOOR_S)
    confidence: Confidence
    if point >= HORIZON_S or spread > WIDE_SPREAD:
        confidence = "low"
    elif spread <= HIGH_CONFIDENCE_SPREAD and own_model.n >= MIN_HISTORY_FOR_HIGH:
        confidence = "high"
    else:
        confidence = "medium"
    longer = present == 0 or confidence == "low"
    return WaitEstimate(round(point), round(low), round(high), confidence, longer, basis)


def _flow_estimate(ahead: int, slots: int, median_s: float, basis: str) -> WaitEstimate:
    """Past ``DEEP_QUEUE_AHEAD`` handoffs ahead (an incident burst), simulating every pick costs more than it
    tells: a flow estimate — the queue's slots working through the line at the median handle time — is cheap,
    and the customer is told it will take longer than usual rather than a precise number."""
    seconds = min(float(HORIZON_S), (ahead + 1) * median_s / max(1, slots))
    return WaitEstimate(round(seconds), round(seconds * 0.7), round(min(float(HORIZON_S), seconds * 1.5)), "low",
                        True, basis + f", deep queue: flow estimate over {slots} slots")


def _quantile(sorted_values: list[float], p: float) -> float:
    pos = p * (len(sorted_values) - 1)
    i = int(pos)
    j = min(i + 1, len(sorted_values) - 1)
    return sorted_values[i] + (sorted_values[j] - sorted_values[i]) * (pos - i)


def _simulate(plan: _Plan, samples: int) -> list[float]:
    """Sample paths: seconds until a slot takes our handoff (``HORIZON_S`` if none does in time), sorted.

    Common random numbers: every (sample, agent, draw) and (sample, arrival) has its own pre-drawn byte(s),
    from a stream seeded by the agent's id. So one more handoff ahead only extends each sample path (the
    estimate is monotone), and adding an agent does not reshuffle everyone else's luck.
    """
    heappop, heappush, log = heapq.heappop, heapq.heappush, math.log
    agents = plan.agents
    stops = [a.stop for a in agents]
    serves = [a.serves for a in agents]
    takes_own = [plan.own_queue in a.serves for a in agents]
    idles_for_jumps = [not a.serves.isdisjoint(plan.jump_queues) for a in agents]
    tables = {q: m.draw_table for q, m in plan.models.items()}  # 256 quantiles: indexed by a random byte
    strides = [1 + len(a.work) + _PICK_DRAWS for a in agents]
    blocks = [random.Random(f"{SEED}:{a.id}").randbytes(samples * n) for a, n in zip(agents, strides, strict=True)]
    jump_cum, jump_queues = plan.jump_cum, plan.jump_queues
    # Arrivals ahead of us come at the recent rate fading with ARRIVAL_RATE_MEMORY_S: the n-th arrives when the
    # cumulative intensity r * m * (1 - exp(-t / m)) reaches the n-th point of a unit-rate Poisson process.
    memory = ARRIVAL_RATE_MEMORY_S
    jump_mass = plan.jump_rate * memory
    jumps = array("H", random.Random(f"{SEED}:arrivals").randbytes(4 * samples * _ARRIVAL_DRAWS) if jump_mass else b"")
    points = RESIDUAL_POINTS
    waits: list[float] = []
    for j in range(samples):
        heap: list[tuple[float, int]] = []
        picks = [0] * len(agents)
        for idx, agent in enumerate(agents):
            block, base = blocks[idx], j * strides[idx]
            start = agent.start if agent.back is None else agent.back[block[base] * points >> 8]
            if start >= agent.stop:
                continue
            spare = agent.capacity - len(agent.work)
            frees = [remaining[block[base + 1 + w] * points >> 8] for w, remaining in enumerate(agent.work)]
            if spare > 0:
                heap.extend([(start, idx)] * spare)
            else:  # at or over capacity: a slot opens only once enough work is done
                frees = sorted(frees)[-spare:]
            heap.extend([(t if t > start else start, idx) for t in frees])
        heapq.heapify(heap)
        pending = list(plan.ahead)
        jump_base, n_jumps, mass, next_jump = j * 2 * _ARRIVAL_DRAWS, 0, 0.0, _INF
        if jump_mass:
            mass = -log((jumps[jump_base] + 0.5) / 65536)
            next_jump = -memory * log(1 - mass / jump_mass) if mass < jump_mass else _INF
        wait = float(HORIZON_S)
        while heap:
            t, idx = heappop(heap)
            if t >= HORIZON_S:
                break
            if t >= stops[idx]:
                continue
            while next_jump <= t:
                choice = (jumps[jump_base + 2 * n_jumps + 1] + 0.5) / 65536
                pending.insert(0, jump_queues[_bisect(jump_cum, choice)])
                n_jumps += 1
                next_jump = _INF
                if n_jumps < _ARRIVAL_DRAWS:
                    mass -= log((jumps[jump_base + 2 * n_jumps] + 0.5) / 65536)
                    if mass < jump_mass:
                        next_jump = -memory * log(1 - mass / jump_mass)
            can = serves[idx]
            for i, queue in enumerate(pending):
                if queue in can:
                    del pending[i]
                    n = picks[idx]
                    picks[idx] = n + 1
                    byte = blocks[idx][j * strides[idx] + strides[idx] - _PICK_DRAWS + n % _PICK_DRAWS]
                    heappush(heap, (t + tables[queue][byte], idx))
                    break
            else:
                if takes_own[idx]:
                    wait = t
                    break
                if next_jump < _INF and idles_for_jumps[idx]:
                    heappush(heap, (next_jump, idx))  # idle until the next arrival it might take
        waits.append(wait)
    waits.sort()
    return waits


def _bisect(cum: tuple[float, ...], u: float) -> int:
    for i, c in enumerate(cum):
        if u < c:
            return i
    return len(cum) - 1


def _fmt(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"
