"""Unit tests of the wait-time estimator (handoff.eta): pure inputs, no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from handoff.eta import (
    HORIZON_S,
    PRIOR_MEDIAN_HANDLE_S,
    AgentLoad,
    HandleTimeHistory,
    HandleTimeModel,
    InProgress,
    QueueSnapshot,
    WaitEstimate,
    WaitingHandoff,
    estimate_wait,
)
from handoff.models import Agent, AgentStatus, Priority

NOW = datetime(2026, 11, 4, 14, 0, tzinfo=UTC)
NO_HISTORY = HandleTimeHistory()


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def later(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def make_agent(
    id: str = "a1",
    queues: tuple[str, ...] = ("technical",),
    status: AgentStatus = AgentStatus.AVAILABLE,
    capacity: int = 1,
    busy_for: tuple[float, ...] = (),
    **overrides: object,
) -> AgentLoad:
    """An agent holding one piece of `technical` work per entry of `busy_for` (seconds already spent)."""
    work = tuple(InProgress("technical", ago(s)) for s in busy_for)
    return replace(AgentLoad(id, frozenset(queues), status, capacity, work), **overrides)  # type: ignore[arg-type]


def own(priority: Priority = Priority.MEDIUM, queue: str = "technical") -> WaitingHandoff:
    return WaitingHandoff("me", queue, priority, NOW)


def ahead(n: int, queue: str = "technical", priority: Priority = Priority.MEDIUM) -> tuple[WaitingHandoff, ...]:
    """`n` handoffs that arrived before `own()`, oldest first."""
    return tuple(WaitingHandoff(f"{queue}-{i}", queue, priority, ago(60 * (n - i))) for i in range(n))


def snapshot(*agents: AgentLoad, waiting: tuple[WaitingHandoff, ...] = (), **kw: object) -> QueueSnapshot:
    return QueueSnapshot(own(), tuple(agents), waiting, **kw)  # type: ignore[arg-type]


def history(queue: str, seconds: float, n: int = 40) -> HandleTimeHistory:
    """`n` handle times spread around `seconds`."""
    return HandleTimeHistory({queue: [seconds * (0.6 + 0.8 * i / (n - 1)) for i in range(n)]})


def test_empty_queue_with_a_free_agent_is_immediate_and_sure() -> None:
    est = estimate_wait(snapshot(make_agent()), NO_HISTORY, NOW)
    assert (est.seconds, est.low, est.high) == (0, 0, 0)
    assert est.confidence == "high"
    assert not est.longer_than_usual
    assert est.basis.startswith("position 1, 0 ahead, 1/1 agents available, 1 free slots")


def test_all_agents_away_says_longer_than_usual_but_expects_them_back() -> None:
    away = make_agent(status=AgentStatus.AWAY, status_since=ago(60))
    busy = make_agent("a2", status=AgentStatus.BUSY, status_since=ago(300))
    est = estimate_wait(snapshot(away, busy), NO_HISTORY, NOW)
    assert est.longer_than_usual
    assert 0 < est.seconds < HORIZON_S


def test_no_eligible_agent_on_shift_is_longer_than_usual_and_low_confidence() -> None:
    offline = make_agent(status=AgentStatus.OFFLINE)
    other_queue = make_agent("a2", queues=("billing",))
    for snap in (snapshot(offline, other_queue), snapshot()):
        est = estimate_wait(snap, NO_HISTORY, NOW)
        assert est.longer_than_usual
        assert est.confidence == "low"
        assert est.seconds == HORIZON_S


def test_prior_is_used_with_no_history() -> None:
    snap = snapshot(make_agent(busy_for=(0.0,)))
    est = estimate_wait(snap, NO_HISTORY, NOW)
    assert "prior" in est.basis
    # A fresh chat ahead of us: the wait is about one prior median handle time.
    assert 0.7 * PRIOR_MEDIAN_HANDLE_S["technical"] <= est.seconds <= 1.3 * PRIOR_MEDIAN_HANDLE_S["technical"]
    doubled = HandleTimeHistory(prior_median_s={"technical": 2 * PRIOR_MEDIAN_HANDLE_S["technical"]})
    assert estimate_wait(snap, doubled, NOW).seconds > 1.6 * est.seconds


def test_history_shifts_the_estimate_away_from_the_prior() -> None:
    snap = snapshot(make_agent(busy_for=(0.0,)), waiting=ahead(2))
    prior_only = estimate_wait(snap, NO_HISTORY, NOW).seconds
    slow = estimate_wait(snap, history("technical", 3000), NOW)
    fast = estimate_wait(snap, history("technical", 200), NOW)
    assert fast.seconds < prior_only < slow.seconds
    assert "from 40 recent" in slow.basis
    # With plenty of history the prior barely matters: three handle times of ~3000 s.
    assert 6000 < slow.seconds < 12000


def test_more_history_overrides_the_prior_more() -> None:
    snap = snapshot(make_agent(busy_for=(0.0,)))
    few = estimate_wait(snap, history("technical", 3000, n=3), NOW).seconds
    many = estimate_wait(snap, history("technical", 3000, n=200), NOW).seconds
    assert PRIOR_MEDIAN_HANDLE_S["technical"] < few < many


def test_capacity_above_one_takes_more_work_at_once() -> None:
    with_room = make_agent(capacity=3, busy_for=(100.0,))
    assert estimate_wait(snapshot(with_room, waiting=ahead(1)), NO_HISTORY, NOW).seconds == 0
    one_slot = make_agent(capacity=1, busy_for=(100.0,))
    three_slots = make_agent(capacity=3, busy_for=(100.0, 200.0, 300.0))
    waiting = ahead(2)
    assert (
        estimate_wait(snapshot(three_slots, waiting=waiting), NO_HISTORY, NOW).seconds
        < estimate_wait(snapshot(one_slot, waiting=waiting), NO_HISTORY, NOW).seconds
    )


def test_over_capacity_agent_frees_a_slot_only_when_enough_work_is_done() -> None:
    at_capacity = make_agent(capacity=1, busy_for=(0.0,))
    over = make_agent(capacity=1, busy_for=(0.0, 0.0, 0.0))
    assert (
        estimate_wait(snapshot(over), NO_HISTORY, NOW).seconds
        > estimate_wait(snapshot(at_capacity), NO_HISTORY, NOW).seconds
    )


def test_an_agent_whose_shift_ends_soon_does_not_help() -> None:
    staying = make_agent("a1", busy_for=(0.0,))
    leaving = make_agent("a2", busy_for=(0.0,), shift_ends_at=later(60))
    staying_too = replace(leaving, shift_ends_at=None)
    with_leaver = estimate_wait(snapshot(staying, leaving, waiting=ahead(2)), NO_HISTORY, NOW).seconds
    without = estimate_wait(snapshot(staying, waiting=ahead(2)), NO_HISTORY, NOW).seconds
    with_stayer = estimate_wait(snapshot(staying, staying_too, waiting=ahead(2)), NO_HISTORY, NOW).seconds
    assert with_leaver == without
    assert with_stayer < without
    alone = estimate_wait(snapshot(leaving), NO_HISTORY, NOW)
    assert alone.seconds == HORIZON_S and alone.longer_than_usual


def test_an_agent_starting_a_shift_soon_counts_from_then() -> None:
    starting = make_agent(status=AgentStatus.OFFLINE, shift_starts_at=later(600))
    est = estimate_wait(snapshot(starting), NO_HISTORY, NOW)
    assert est.seconds == 600
    assert est.longer_than_usual  # nobody is there now


def test_a_wide_range_says_longer_than_usual_rather_than_a_precise_wrong_number() -> None:
    bimodal = HandleTimeHistory({"technical": [60.0] * 22 + [5000.0] * 18})
    est = estimate_wait(snapshot(make_agent(busy_for=(0.0,))), bimodal, NOW)
    assert est.high - est.low > 2 * max(est.seconds, 300)
    assert est.confidence == "low"
    assert est.longer_than_usual
    steady = estimate_wait(snapshot(make_agent(busy_for=(0.0,))), history("technical", 600), NOW)
    assert not steady.longer_than_usual


def test_higher_priority_waits_less_and_lower_priority_work_is_not_ahead() -> None:
    agent = make_agent(busy_for=(0.0,))
    waiting = ahead(3, priority=Priority.MEDIUM)
    snap = snapshot(agent, waiting=waiting)
    medium = estimate_wait(snap, NO_HISTORY, NOW).seconds
    critical = estimate_wait(replace(snap, handoff=own(Priority.CRITICAL)), NO_HISTORY, NOW).seconds
    assert critical < medium
    low_ahead = snapshot(agent, waiting=ahead(3, priority=Priority.LOW))
    assert estimate_wait(low_ahead, NO_HISTORY, NOW).seconds == critical


def test_expected_higher_priority_arrivals_delay_low_priority_only() -> None:
    agent = make_agent(busy_for=(0.0,))
    rates = {"technical": {Priority.CRITICAL: 6.0, Priority.HIGH: 6.0}}
    base = snapshot(agent, waiting=ahead(2))
    for priority, delayed in ((Priority.LOW, True), (Priority.CRITICAL, False)):
        quiet = replace(base, handoff=own(priority))
        busy = replace(quiet, arrivals_per_hour=rates)
        quiet_s, busy_s = (estimate_wait(s, NO_HISTORY, NOW).seconds for s in (quiet, busy))
        assert (busy_s > quiet_s) is delayed


def test_work_in_another_queue_delays_us_only_through_shared_agents() -> None:
    shared = make_agent("shared", queues=("technical", "billing"), busy_for=(0.0,))
    billing_only = make_agent("billing", queues=("billing",), busy_for=(0.0,))
    billing_ahead = ahead(3, queue="billing")
    alone = estimate_wait(snapshot(shared), NO_HISTORY, NOW).seconds
    competing = estimate_wait(snapshot(shared, waiting=billing_ahead), NO_HISTORY, NOW).seconds
    helped = estimate_wait(snapshot(shared, billing_only, waiting=billing_ahead), NO_HISTORY, NOW).seconds
    assert alone < helped < competing


def test_long_running_work_is_expected_to_run_on() -> None:
    hist = history("technical", 600)
    fresh = estimate_wait(snapshot(make_agent(busy_for=(0.0,))), hist, NOW).seconds
    nearly_done = estimate_wait(snapshot(make_agent(busy_for=(700.0,))), hist, NOW).seconds
    assert nearly_done < fresh


def test_same_input_same_answer() -> None:
    snap = snapshot(make_agent(busy_for=(30.0,)), make_agent("a2", busy_for=(90.0,)), waiting=ahead(4))
    assert estimate_wait(snap, NO_HISTORY, NOW) == estimate_wait(snap, NO_HISTORY, NOW)


def test_the_estimated_handoff_in_waiting_is_not_counted_twice() -> None:
    snap = snapshot(make_agent(busy_for=(0.0,)), waiting=ahead(2))
    assert estimate_wait(replace(snap, waiting=(*snap.waiting, own())), NO_HISTORY, NOW) == estimate_wait(
        snap, NO_HISTORY, NOW
    )


def test_agent_load_from_domain_agent() -> None:
    agent = Agent("a9", "Ana", skills=("technical", "general"), capacity=2, status=AgentStatus.BUSY)
    load = AgentLoad.from_agent(agent, in_progress=[InProgress("general", ago(10))], shift_ends_at=later(3600))
    assert load.queues == frozenset({"technical", "general"})
    assert (load.capacity, load.status, len(load.in_progress)) == (2, AgentStatus.BUSY, 1)


def test_handle_time_model_blends_prior_and_history() -> None:
    prior_only = HandleTimeModel([], 600.0)
    assert 550 < prior_only.quantile(0.5) < 650
    learned = HandleTimeModel([100.0] * 200, 600.0)
    assert learned.quantile(0.5) == 100.0
    assert learned.n == 200
    assert all(learned.residual(50.0, u / 10) >= 0 for u in range(10))
    assert prior_only.residual(10 * 600.0, 0.5) > 0  # beyond every sample: the lognormal tail


# --- properties -------------------------------------------------------------------------------------------------

statuses = st.sampled_from([AgentStatus.AVAILABLE, AgentStatus.AVAILABLE, AgentStatus.BUSY, AgentStatus.AWAY])


@st.composite
def floors(draw: st.DrawFn) -> QueueSnapshot:
    """A random floor: agents with mixed skills, load, status and shifts; handoffs ahead in several queues."""
    agents = []
    for i in range(draw(st.integers(1, 4))):
        capacity = draw(st.integers(1, 3))
        elapsed = draw(st.lists(st.floats(0, 3000), max_size=capacity + 1))
        ends = draw(st.none() | st.floats(60, 7200))
        agents.append(
            make_agent(
                f"a{i}",
                queues=tuple(draw(st.sets(st.sampled_from(["technical", "billing"]), min_size=1))),
                status=draw(statuses),
                capacity=capacity,
                busy_for=tuple(elapsed),
                status_since=ago(draw(st.floats(0, 1800))),
                shift_ends_at=None if ends is None else later(ends),
            )
        )
    queues, priorities = st.sampled_from(["technical", "billing"]), st.sampled_from(Priority)
    waiting = tuple(
        WaitingHandoff(f"w{i}", draw(queues), draw(priorities), ago(i)) for i in range(draw(st.integers(0, 6)))
    )
    rate = draw(st.floats(0, 20))
    return QueueSnapshot(own(), tuple(agents), waiting, {"technical": {Priority.HIGH: rate}})


@settings(max_examples=60, deadline=None, database=None)
@given(floors(), st.integers(1, 4))
def test_more_handoffs_ahead_never_shorten_the_wait(snap: QueueSnapshot, extra: int) -> None:
    before = estimate_wait(snap, NO_HISTORY, NOW)
    # Same queue and priority as ours, arrived just before us: they are picked right before us.
    more = tuple(WaitingHandoff(f"x{i}", "technical", Priority.MEDIUM, ago(0.001 * (extra - i))) for i in range(extra))
    after = estimate_wait(replace(snap, waiting=snap.waiting + more), NO_HISTORY, NOW)
    assert after.seconds >= before.seconds
    assert after.low >= before.low
    assert after.high >= before.high


@settings(max_examples=60, deadline=None, database=None)
@given(floors())
def test_range_contains_the_point_and_flags_are_consistent(snap: QueueSnapshot) -> None:
    est: WaitEstimate = estimate_wait(snap, history("technical", 500), NOW)
    assert 0 <= est.low <= est.seconds <= est.high <= HORIZON_S
    assert est.confidence in ("high", "medium", "low")
    if est.confidence == "low":
        assert est.longer_than_usual
