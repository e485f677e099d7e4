"""Prometheus metrics: counters per process (multiprocess mode on one host); state gauges from the database.

Two kinds of figures, kept apart on purpose:

* **Counters and histograms** count what *this process* did: intakes (``baton_intakes_total{result}``),
  evaluations, HTTP request durations by route template, outbox deliveries and their latency, SLA warnings and
  breaches. They live in the process. Without ``PROMETHEUS_MULTIPROC_DIR`` each process serves its own on its
  ``/metrics`` (scrape every process; Prometheus sums them). With ``PROMETHEUS_MULTIPROC_DIR`` set (to an empty
  directory, before the processes start) every process of one host writes its values to files there and any of
  them answers ``/metrics`` with the sum over all (prometheus_client's ``MultiProcessCollector``); a process that
  stops calls ``mark_process_dead``. Counters of processes that exited stay in the sum, as counters should.
* **State gauges** (queue depth, oldest wait, open handoffs, outbox backlog, running SLA clocks) are read from the
  database at each scrape (:class:`handoff.store.gauges.SqlGauges`), so every process answers the same and none
  of them is ever written to the multiprocess files.

Labels are bounded vocabularies only — route templates (``/v1/handoffs/{handoff_id}``, never the raw path),
methods, status codes, queue names, priorities, destinations, clock kinds — never ids, tokens or personal data.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from handoff.models import Priority, Status
from handoff.ports import StateGauges
from handoff.sla.clocks import ClockKind

log = logging.getLogger("baton.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
INTAKE_ROUTE = "/v1/handoffs"
UNMATCHED = "unmatched"  # requests no route matched (404): one label value, not one per path tried
# Created → delivered spans milliseconds (a healthy lane) to hours (an outage waited out).
DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)
OUTBOX_STATUSES = ("pending", "delivering", "dead")
HELD_STATUSES = (Status.CLAIMED.value, Status.PENDING_CUSTOMER.value)


def multiprocess_dir() -> str | None:
    """The multiprocess directory, when this process runs in prometheus_client's multiprocess mode."""
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """This process's counters and histograms (:class:`handoff.ports.Telemetry` for the dispatcher and SLA engine).

    Each instance has its own registry, so two runtimes in one process (tests) never mix their counts.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.intakes = Counter("baton_intakes", "Handoff intakes at POST /v1/handoffs: created, repeat (the same "
                               "conversation again), rejected (4xx), error (5xx)", ["result"], registry=r)
        self.evaluations = Counter("baton_evaluations", "Decisions at POST /v1/evaluate, by whether they escalate",
                                   ["escalate"], registry=r)
        self.requests = Histogram("baton_http_request_duration_seconds", "HTTP request duration by route template "
                                  "(an event stream: time to its first byte)", ["method", "route", "status"],
                                  registry=r)
        self.deliveries = Counter("baton_outbox_deliveries", "Outbox delivery attempts by result: delivered, retry "
                                  "(scheduled again), dead (dead-lettered)", ["destination", "result"], registry=r)
        self.delivery_seconds = Histogram("baton_outbox_delivery_seconds", "Time from an outbox item's creation to "
                                          "its delivery", ["destination"], buckets=DELIVERY_BUCKETS, registry=r)
        self.sla_warnings = Counter("baton_sla_warnings", "SLA warnings recorded, by clock", ["clock"], registry=r)
        self.sla_breaches = Counter("baton_sla_breaches", "SLA breaches recorded, by clock", ["clock"], registry=r)

    # ------------------------------------------------------------------ what the edges and the domain report

    def intake(self, status: int) -> None:
        """One answer of ``POST /v1/handoffs``: 201 created, 200 repeat, 4xx rejected, anything else error."""
        result = {201: "created", 200: "repeat"}.get(status) or ("rejected" if 400 <= status < 500 else "error")
        self.intakes.labels(result=result).inc()

    def evaluation(self, escalate: bool) -> None:
        self.evaluations.labels(escalate="true" if escalate else "false").inc()

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method=method, route=route, status=str(status)).observe(seconds)

    def outbox_delivery(self, destination: str, result: str, seconds: float | None) -> None:
        self.deliveries.labels(destination=destination, result=result).inc()
        if result == "delivered" and seconds is not None:
            self.delivery_seconds.labels(destination=destination).observe(seconds)

    def sla_alert(self, kind: str, clock: str) -> None:
        (self.sla_breaches if kind == "breach" else self.sla_warnings).labels(clock=clock).inc()

    # ------------------------------------------------------------------ exposition

    def exposition(self, state: StateGauges | None, now: datetime, *, queues: Iterable[str] = (),
                   destinations: Iterable[str] = ()) -> bytes:
        """The text a scrape gets: this process's (or, in multiprocess mode, this host's) counters, then the
        database gauges of ``state`` (None: the database could not be read; the counters are still served)."""
        registry = CollectorRegistry(auto_describe=False)
        path = multiprocess_dir()
        if path is not None:
            MultiProcessCollector(registry, path=path)
        else:
            registry.register(_Forward(self.registry))
        if state is not None:
            registry.register(_Static(state_families(state, now, queues=queues, destinations=destinations)))
        return generate_latest(registry)

    def process_exit(self) -> None:
        """In multiprocess mode, tell the files this process is gone (its live gauges, if any, drop out)."""
        if multiprocess_dir() is not None:
            mark_process_dead(os.getpid())


class _Forward:
    """Collects another registry (this process's counters) into a scrape's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


class _Static:
    """Families computed before the scrape (the database gauges): nothing of them is kept or written to files."""

    def __init__(self, families: Sequence[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def state_families(state: StateGauges, now: datetime, *, queues: Iterable[str] = (),
                   destinations: Iterable[str] = ()) -> list[Metric]:
    """The gauge families of one database snapshot. Every configured queue (by priority) and destination (by status),
    every held status and clock kind has a series, zero when idle, so a series never vanishes when work drains."""
    depth = GaugeMetricFamily("baton_queue_depth", "Handoffs waiting (status queued) by queue and priority",
                              labels=["queue", "priority"])
    oldest = GaugeMetricFamily("baton_queue_oldest_wait_seconds", "Age of the oldest waiting handoff per queue "
                               "(0 when none waits)", labels=["queue"])
    held = GaugeMetricFamily("baton_open_handoffs", "Open handoffs someone holds, by status", labels=["status"])
    backlog = GaugeMetricFamily("baton_outbox_backlog", "Outbox items not delivered, by destination and status",
                                labels=["destination", "status"])
    outbox_oldest = GaugeMetricFamily("baton_outbox_oldest_pending_seconds", "Age of the oldest item not yet "
                                      "delivered (pending or delivering) per destination (0 when none)",
                                      labels=["destination"])
    clocks = GaugeMetricFamily("baton_sla_clocks_running", "SLA clocks running (neither stopped nor paused), by "
                               "clock", labels=["clock"])

    counts: dict[tuple[str, str], int] = {(q, p.value): 0 for q in queues for p in Priority}
    first: dict[str, datetime | None] = dict.fromkeys(queues)
    for d in state.queues:
        counts[(d.queue, d.priority)] = counts.get((d.queue, d.priority), 0) + d.count
        was = first.get(d.queue)
        first[d.queue] = d.oldest_created_at if was is None else min(was, d.oldest_created_at or was)
    for (q, p), n in sorted(counts.items()):
        depth.add_metric([q, p], n)
    for q, at in sorted(first.items()):
        oldest.add_metric([q], _age(now, at))

    for s in sorted({*HELD_STATUSES, *state.open_by_status}):
        held.add_metric([s], state.open_by_status.get(s, 0))

    items: dict[tuple[str, str], int] = {(d, s): 0 for d in destinations for s in OUTBOX_STATUSES}
    live: dict[str, datetime | None] = dict.fromkeys(destinations)
    for o in state.outbox:
        items[(o.destination, o.status)] = items.get((o.destination, o.status), 0) + o.count
        if o.status != "dead":
            was = live.get(o.destination)
            live[o.destination] = o.oldest_created_at if was is None else min(was, o.oldest_created_at or was)
        else:
            live.setdefault(o.destination, None)
    for (d, s), n in sorted(items.items()):
        backlog.add_metric([d, s], n)
    for d, at in sorted(live.items()):
        outbox_oldest.add_metric([d], _age(now, at))

    for k in sorted({*(c.value for c in ClockKind), *state.clocks_running}):
        clocks.add_metric([k], state.clocks_running.get(k, 0))
    return [depth, oldest, held, backlog, outbox_oldest, clocks]


StateReader = Callable[[], Awaitable[StateGauges]]


@dataclass
class MetricsEndpoint:
    """What ``GET /metrics`` needs: the counters, how to read the database state, and who may scrape."""

    metrics: Metrics
    read_state: StateReader
    now: Callable[[], datetime]
    queues: Sequence[str] = ()
    destinations: Callable[[], Sequence[str]] = tuple
    public: bool = False

    async def render(self) -> bytes:
        try:
            state: StateGauges | None = await self.read_state()
        except Exception as exc:  # the counters still answer; the missing gauges show the outage
            log.warning("metrics: the database state could not be read: %s", type(exc).__name__)
            state = None
        return self.metrics.exposition(state, self.now(), queues=self.queues, destinations=self.destinations())


# ---------------------------------------------------------------------------------------------- HTTP timing

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _candidates(routes: Sequence[Any]) -> Iterator[tuple[Any, Any, str]]:
    """(path regex, methods or None, template) of every route, those of included routers flattened."""
    for r in routes:
        contexts = getattr(r, "effective_route_contexts", None)  # FastAPI's included routers (0.120+)
        if contexts is not None:
            for c in contexts():
                yield c.path_regex, getattr(c, "methods", None), c.path_format
        elif getattr(r, "path_regex", None) is not None:
            yield r.path_regex, getattr(r, "methods", None), r.path_format


def route_template(scope: Scope, routes: Sequence[Any]) -> str:
    """The template of the route that served (or would serve) this request: ``/v1/handoffs/{handoff_id}``.

    The router leaves the route in the scope; a request refused before routing (401 at the key gate, 413) is
    matched here against the app's routes. Nothing matched: ``unmatched`` (one label value, not one per path).
    """
    template = getattr(scope.get("route"), "path_format", None)
    if template:
        return str(template)
    path, method = scope.get("path", ""), scope.get("method", "")
    partial = None
    for regex, methods, fmt in _candidates(routes):
        if not regex.match(path):
            continue
        if not methods or method in methods or (method == "HEAD" and "GET" in methods):
            return str(fmt)
        partial = partial or str(fmt)  # the path matched, the method did not (405)
    return partial or UNMATCHED


class RequestMetrics:
    """Pure ASGI middleware: times every HTTP request by (method, route template, status) and counts intakes.

    Installed outermost, so answers given by the gates (401, 413, 422 for a bad URL) are counted too.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Callable[[], Sequence[Any]]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        observed = False

        def observe() -> None:
            nonlocal observed
            if observed:
                return
            observed = True
            try:
                route = route_template(scope, self.routes())
                self.metrics.request(scope["method"], route, status, time.perf_counter() - start)
                if route == INTAKE_ROUTE and scope["method"] == "POST":
                    self.metrics.intake(status)
            except Exception:  # counting must never cost a request
                log.exception("request metrics failed")

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                kind = next((bytes(v) for k, v in message.get("headers", ()) if bytes(k).lower() == b"content-type"),
                            b"")
                if kind.startswith(b"text/event-stream"):
                    observe()  # a stream lasts as long as its reader: time it to the first byte
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            observe()


__all__ = ["CONTENT_TYPE", "Metrics", "MetricsEndpoint", "RequestMetrics", "multiprocess_dir", "route_template",
           "state_families"]
