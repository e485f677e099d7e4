"""The yardsticks the estimator is compared with."""

from __future__ import annotations

from bench.sim.engine import Observation
from handoff.eta import HORIZON_S


def position_x_handle(obs: Observation) -> float:
    """Baseline 1 as specified: position x mean handle time / agents on shift for the queue."""
    if obs.agents_on_shift == 0:
        return float(HORIZON_S)
    return obs.position * obs.mean_handle / obs.agents_on_shift


def position_x_handle_slots(obs: Observation) -> float:
    """Baseline 1, capacity-aware: 0 if a slot is free, else (position - free slots) x mean / present slots."""
    if obs.position <= obs.free_slots:
        return 0.0
    slots = obs.present_slots or obs.slots_on_shift
    if slots == 0:
        return float(HORIZON_S)
    return (obs.position - obs.free_slots) * obs.mean_handle / slots


def erlang_c_wait(arrival_rate: float, mean_handle: float, servers: int) -> float | None:
    """Expected wait in an M/M/c queue (s); ``None`` when the queue is unstable (load >= servers).

    Args:
        arrival_rate: Arrivals per second.
        mean_handle: Mean service time (s).
        servers: c.
    """
    load = arrival_rate * mean_handle
    if servers <= 0 or load >= servers:
        return None
    if load == 0:
        return 0.0
    blocking = 1.0  # Erlang B by its stable recursion, then Erlang C from it
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    wait_prob = servers * blocking / (servers - load * (1 - blocking))
    return wait_prob * mean_handle / (servers - load)


def erlang_c(obs: Observation) -> float:
    """Baseline 2 as specified: Erlang C with c = agents on shift for the queue (unstable: baseline 1)."""
    wait = erlang_c_wait(obs.arrival_rate, obs.mean_handle, obs.agents_on_shift)
    return position_x_handle(obs) if wait is None else wait


def erlang_c_slots(obs: Observation) -> float:
    """Erlang C with c = chat slots on shift for the queue (unstable: capacity-aware baseline 1)."""
    wait = erlang_c_wait(obs.arrival_rate, obs.mean_handle, obs.slots_on_shift)
    return position_x_handle_slots(obs) if wait is None else wait
