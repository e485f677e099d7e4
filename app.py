"""Baton's composition root and command line.

    python3 app.py                 # = serve: API + dispatcher on 127.0.0.1:8000 (SQLite, no credentials needed)
    python3 app.py migrate         # bring the database schema up to date
    python3 app.py worker          # a dispatcher only (scale-out: run several against one PostgreSQL)
    python3 app.py demo            # post the sample handoffs in examples/ to the running service
    python3 app.py outbox list|dead|retry ID
    python3 app.py rules test FILE.jsonl
    python3 app.py agents list | python3 app.py agents set ID --status away
    python3 app.py keys create --scope intake [--name widget] | keys list | keys revoke ID
    python3 app.py purge --older-than 90d
    python3 app.py report daily|weekly [--days-ago N] [--post] [--json]
    python3 app.py teams package --base-url https://baton.example.com [--out baton-teams.zip]

Started by any Python 3.11+ outside ``.venv``, it re-executes itself inside ``.venv`` (creating it first).

Nothing is built at import time: :func:`build` wires a :class:`Runtime` from settings; tests call it too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent
DEV_KEY_FILE = ROOT / ".baton-dev-key"
log = logging.getLogger("baton")


class Integration(Protocol):
    """One optional edge (Slack, Teams, customer channel, a CRM), built from settings when configured.

    It adds outbox destinations, may mount HTTP routes on the app, may run background work between
    :meth:`start` and :meth:`stop`, and reports its health for ``/readyz``.
    """

    name: str
    destinations: Sequence[Any]

    def mount(self, app: Any) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def readiness(self) -> tuple[bool, str]: ...


IntegrationFactory = Callable[[Any, "Runtime"], "Integration | None"]


def default_integrations() -> list[IntegrationFactory]:
    """The integrations this build knows; each returns None when its settings are absent."""
    from bot.slack.integration import slack_integration
    from bot.teams.integration import teams_integration
    from bot.web.customer import customer_integration
    from integrations.hubspot.integration import hubspot_integration
    from integrations.salesforce.integration import salesforce_integration
    from integrations.webhooks import webhook_integration

    return [customer_integration, webhook_integration, slack_integration, teams_integration, salesforce_integration,
            hubspot_integration]


@dataclass
class Runtime:
    """Everything one process runs, wired together."""

    settings: Any
    config: Any
    engine: Any
    deps: Any
    engine_rules: Any
    intake: Any
    actions: Any
    queries: Any
    conversation: Any
    routing: Any
    waits: Any = None  # handoff.services.waits.WaitTimes: the one wait estimate every customer path reads
    labels: Any = None  # templates.customer.QueueLabels: queue names customers read, per locale
    dispatcher: Any = None
    callbacks: Any = None  # handoff.callbacks.CallbackPolicy: where customer webhooks may go
    destinations: list[Any] = field(default_factory=list)
    integrations: list[Any] = field(default_factory=list)
    sla: Any = None  # handoff.services.sla.SlaEngine: the clocks' keeper (in every commit) and their tick
    analytics: Any = None  # handoff.services.analytics.Analytics: every figure (API, dashboard, reports, chat)
    reports: Any = None  # handoff.services.reports.Reports: the daily/weekly report's facts and its tick
    ticks: Any = None  # scheduler.Ticks: the process's one scheduler; parts register their ticks on it
    listener: Any = None  # handoff.store.wakeups.Listener: PostgreSQL LISTEN for other processes' commits
    metrics: Any = None  # bot.web.metrics.Metrics: this process's counters (the dispatcher's, the SLA tick's, HTTP)

    def rules_path(self) -> Path:
        return Path(self.config.rules) if self.config.rules else ROOT / "config" / "rules.yaml"

    def reload_rules(self) -> str:
        """Re-read the rules file. An invalid file raises RulesError and the running rules stay in force."""
        from handoff.decide import RuleEngine, Rules

        rules = Rules.load(self.rules_path())
        _check_rule_queues(rules, self.config)
        self.engine_rules = RuleEngine(rules)
        self.intake.decider = self.engine_rules
        if self.sla is not None:
            self.sla.decider = self.engine_rules
        log.info("rules reloaded: version %s", rules.version)
        return str(rules.version)

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """``/readyz``: (serving, details). ``details["status"]`` is ``ready``, ``degraded`` or ``not ready``.

        Not ready (HTTP 503) only when this process cannot take intakes: the database is unreachable or its
        schema is not current. A failing integration or destination (rejected token, outage, items retrying
        or dead-lettered) is ``degraded`` with HTTP 200: intakes are still taken and kept in the outbox, and a
        load balancer must not restart a process that a restart would not fix.
        """
        from datetime import timedelta

        from sqlalchemy import text

        from handoff.store.migrate import current_revision, head_revision

        pool = self.engine.pool
        details: dict[str, Any] = {"database_pool": f"{pool.checkedout()} in use of {pool.size()}"}  # before ours
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            details["database"] = "ok"
            current, head = await current_revision(self.engine), head_revision()
            details["migrations"] = "current" if current == head else f"at {current}, expected {head}"
            now = self.deps.now()
            async with self.deps.uow(read_only=True) as uow:
                backlog = await uow.outbox.backlog(dead_since=now - timedelta(seconds=DEAD_WINDOW_SECONDS))
        except Exception as exc:
            log.warning("readiness check failed: %s", type(exc).__name__)
            details.setdefault("database", f"unreachable: {type(exc).__name__}")
            return False, {"status": "not ready", **details}
        if details["migrations"] != "current":
            return False, {"status": "not ready", **details}
        degraded = False
        for integ in self.integrations:
            good, detail = integ.readiness()
            details[integ.name] = detail
            degraded = degraded or not good or str(detail).startswith("degraded")
        outbox: dict[str, Any] = {}
        for d in self.destinations:
            b = backlog.get(d.name)
            if b is None:
                outbox[d.name] = {"status": "ok", "pending": 0, "dead": 0}
                continue
            degraded = degraded or b.degraded
            outbox[d.name] = {
                "status": "degraded" if b.degraded else "ok", "pending": b.pending, "failing": b.failing,
                "dead": b.dead, "dead_last_24h": b.dead_recent,
                "oldest_pending_seconds": round((now - b.oldest_pending_at).total_seconds(), 1)
                if b.oldest_pending_at else None,
                "last_error": (b.last_error or "")[:300] or None,
            }
        details["outbox"] = outbox
        if self.ticks is not None:  # the one scheduler: each tick's runs, failures and how long since it ran
            details["scheduler"] = self.ticks.status()
        if self.listener is not None and self.listener.enabled:
            details["wakeups"] = {"listening": self.listener.connected, "received": self.listener.received}
        return True, {"status": "degraded" if degraded else "ready", **details}


DEAD_WINDOW_SECONDS = 24 * 3600  # a dead-lettered item keeps /readyz degraded this long (or until replayed)


def _check_rule_queues(rules: Any, config: Any) -> None:
    from handoff.config import ConfigError

    unknown = sorted(set(rules.topic_queues.values()) - set(config.queues))
    if unknown:
        raise ConfigError(f"rules topic_queues name queues that BATON_CONFIG does not define: {', '.join(unknown)}")


def build(settings: Any, *, extra_destinations: Sequence[Any] = (), with_log: bool | None = None,
          integrations: Sequence[IntegrationFactory] | None = None, clock: Any = None) -> Runtime:
    """Wire one process: database, rules, use cases, integrations and their destinations, dispatcher.

    ``clock`` (anything with ``now()``) replaces the system clock, for tests that need one fixed moment.
    """

    from bot.web.metrics import Metrics
    from handoff.callbacks import CallbackPolicy
    from handoff.config import ConfigError, load_config
    from handoff.decide import RuleEngine, Rules
    from handoff.outbox import OutboxRouting
    from handoff.services.agent_actions import AgentActions
    from handoff.services.analytics import Analytics
    from handoff.services.common import Deps
    from handoff.services.conversation import Conversation
    from handoff.services.dispatcher import Dispatcher
    from handoff.services.intake import Intake
    from handoff.services.queries import Queries
    from handoff.services.reports import Reports
    from handoff.services.sla import SlaEngine
    from handoff.services.waits import WaitTimes
    from handoff.sla.calendar import Calendars
    from handoff.store.db import create_engine
    from handoff.store.uow import SqlUnitOfWork
    from handoff.store.wakeups import OUTBOX, TIMERS, Listener
    from integrations.log_destination import LogDestination
    from scheduler import Ticks
    from templates.customer import QueueLabels

    config = load_config(settings.config_path)
    callbacks = CallbackPolicy.parse(getattr(settings, "callback_allow", ""))
    rules = Rules.load(config.rules or ROOT / "config" / "rules.yaml")
    _check_rule_queues(rules, config)
    rule_engine = RuleEngine(rules)
    calendars = Calendars(config)
    engine = create_engine(settings.database_url, pool_size=getattr(settings, "db_pool_size", 20))
    destinations: list[Any] = []
    routing = OutboxRouting(destinations)  # filled below; read only when a unit of work commits
    holder: dict[str, Any] = {}

    class _Notify:
        def notify(self) -> None:
            if "dispatcher" in holder:
                holder["dispatcher"].notify()

    class _Observe:
        async def observe(self, uow: Any, events: Any) -> list[Any]:
            return await holder["sla"].observe(uow, events) if "sla" in holder else []

    notify, observe = _Notify(), _Observe()

    def uow(*, read_only: bool = False, autocommit: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, routing, notify, read_only=read_only, autocommit=autocommit,
                             observer=None if read_only else observe)

    deps = Deps(uow=uow, config=config) if clock is None else Deps(uow=uow, config=config, clock=clock)
    waits = WaitTimes(deps, default_zone=rules.business_hours.timezone, calendars=calendars)
    rt = Runtime(settings=settings, config=config, engine=engine, deps=deps, engine_rules=rule_engine,
                 intake=Intake(deps, rule_engine, callbacks, calendars, promise=waits.promise_in),
                 actions=AgentActions(deps), queries=Queries(deps),
                 conversation=Conversation(deps), routing=routing, destinations=destinations,
                 callbacks=callbacks, waits=waits, labels=QueueLabels(config.queues))
    rt.metrics = Metrics()
    rt.sla = holder["sla"] = SlaEngine(deps, rule_engine, calendars, telemetry=rt.metrics)
    rt.analytics = Analytics(deps, default_zone=rules.business_hours.timezone)
    rt.ticks = Ticks()
    rt.ticks.add("sla", config.sla.tick_seconds, rt.sla.tick)
    if config.outbox.log_destination if with_log is None else with_log:
        destinations.append(LogDestination())
    destinations.extend(extra_destinations)
    for factory in default_integrations() if integrations is None else integrations:
        integ = factory(settings, rt)
        if integ is not None:
            rt.integrations.append(integ)
            destinations.extend(integ.destinations)
    names = [d.name for d in destinations]
    if len(set(names)) != len(names):
        raise ConfigError(f"two outbox destinations share a name: {names}")
    rt.dispatcher = Dispatcher(deps, destinations, telemetry=rt.metrics)
    holder["dispatcher"] = rt.dispatcher
    reports = config.analytics.reports
    wanted = (("slack", reports.slack_channel), ("teams", reports.teams_channel))
    rt.reports = Reports(deps, rt.analytics, [(n, ch) for n, ch in wanted if ch and n in names])
    if rt.reports.targets:
        rt.ticks.add("reports", reports.tick_seconds, rt.reports.tick)
    # PostgreSQL: other processes' commits wake this one's dispatcher and SLA tick at once (polling stays).
    rt.listener = Listener(engine)
    rt.listener.on(OUTBOX, rt.dispatcher.notify)
    rt.listener.on(TIMERS, lambda: rt.ticks.wake("sla"))
    return rt


async def sync_agents(rt: Runtime) -> None:
    """Agents and queues from BATON_CONFIG into the database (runtime changes through the API win for status)."""
    from handoff.store.sync import sync_config

    async with rt.deps.uow() as uow:
        await sync_config(uow.connection, rt.config, rt.deps.now())
        await uow.commit()


async def read_state(rt: Runtime) -> Any:
    """The database state ``/metrics`` exports as gauges (:class:`handoff.ports.StateGauges`), one read transaction."""
    async with rt.deps.uow(read_only=True) as uow:
        return await uow.gauges.snapshot()


def settle_memory() -> None:
    """Move everything built at start (the intent model's weights, rules, templates, SDK clients: millions of
    objects) out of the garbage collector's sight (:func:`gc.freeze`). Otherwise every full collection walks them
    all, a pause of ~100 ms that lands on whichever requests are in flight: at 50 intakes/s the p99 was 163 ms
    for a p50 of 14 ms, and 29 ms with the freeze (``bench/intake.py``, open loop). Once per process: a frozen
    object is never collected, so freezing again (a test process starting many apps) would keep their garbage."""
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()


def create_app(rt: Runtime, *, run_dispatcher: bool = True) -> Any:
    """The ASGI app: the ``/v1`` API plus, in its lifespan, the dispatcher loop."""
    from bot.web.api import WebContext, create_api
    from bot.web.auth import KeyAuth
    from bot.web.metrics import MetricsEndpoint, RequestMetrics
    from handoff.services.keys import ApiKeys
    from templates import Renderer

    ctx = WebContext(intake=rt.intake, actions=rt.actions, queries=rt.queries, conversation=rt.conversation,
                     auth=KeyAuth(ApiKeys(rt.deps, rt.settings.api_keys)),
                     renderer=Renderer(), readiness=rt.readiness, limits=rt.config.limits,
                     queue_labels=rt.labels, reload_rules=rt.reload_rules, estimate_wait=rt.waits.intake_wait,
                     analytics=rt.analytics,
                     metrics=MetricsEndpoint(rt.metrics, read_state=lambda: read_state(rt), now=rt.deps.now,
                                             queues=sorted(rt.config.queues),
                                             destinations=lambda: [d.name for d in rt.destinations],
                                             public=rt.config.metrics.public))
    api = create_api(ctx)
    for integ in rt.integrations:
        integ.mount(api)
    from bot.web.limits import CleanUrl

    api.add_middleware(CleanUrl)  # type: ignore[arg-type]  # runs before every gate …
    # … and request timing around everything, so the gates' answers (401, 413, 422) are timed and counted too.
    api.add_middleware(RequestMetrics, metrics=rt.metrics, routes=lambda: api.router.routes)  # type: ignore[arg-type]

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        await sync_agents(rt)
        for integ in rt.integrations:
            await integ.start()
        stop = asyncio.Event()
        task = asyncio.create_task(rt.dispatcher.run(stop)) if run_dispatcher else None
        refresher = asyncio.create_task(rt.waits.run(stop))  # every process that answers customers keeps one
        if run_dispatcher:  # a web-only process (serve --no-dispatcher) leaves timed work to the workers
            rt.ticks.start()
            rt.listener.start()
        settle_memory()
        try:
            yield
        finally:
            await rt.listener.stop()
            rt.ticks.shutdown()
            with contextlib.suppress(Exception):  # the database may be gone; the counts are then lost, said so
                await rt.analytics.flush()
            rt.dispatcher.stop_soon()
            stop.set()
            if task is not None:
                await task  # the batch in flight finishes; leased items not started are given back
            await refresher
            for integ in reversed(rt.integrations):
                await integ.stop()
            await rt.engine.dispose()
            rt.metrics.process_exit()
            log.info("stopped cleanly")

    api.router.lifespan_context = lifespan
    return api


# ---------------------------------------------------------------------------------------------------- CLI


def _settings() -> Any:
    from handoff.config import ConfigError
    from settings import SettingsError, load_settings

    try:
        return load_settings()
    except (SettingsError, ConfigError) as exc:
        sys.exit(f"baton: {exc}")


def _build_or_exit(settings: Any, **kw: Any) -> Runtime:
    from handoff.config import ConfigError
    from handoff.decide import RulesError

    try:
        return build(settings, **kw)
    except (ConfigError, RulesError, ValueError) as exc:
        sys.exit(f"baton: {exc}")


def _logging(level: str) -> None:
    from bot.web import log_filters

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    log_filters.install()  # customer tokens (?token=…) never reach the access log
    # /readyz compares migration revisions on every probe; Alembic would log that at INFO each time.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every job start at INFO
    logging.getLogger("aiosqlite").setLevel(logging.INFO)  # at DEBUG it logs every SQL statement with parameters


PROBE_TIMEOUT_SECONDS = 3.0


async def startup_report(settings: Any, rt: Runtime, seconds: float = PROBE_TIMEOUT_SECONDS) -> list[str]:
    """One banner line per integration: "configured" only when it exists and its service answered.

    Each built integration with a ``probe`` is asked once (Slack ``auth.test``, Salesforce ``limits``, HubSpot
    ticket pipelines), all at once with a short timeout. Lines name no token.
    """
    keys = {"Slack": "slack", "Microsoft Teams": "teams", "Salesforce": "salesforce", "HubSpot": "hubspot"}
    built = {integ.name: integ for integ in rt.integrations}
    probed = [(name, built[keys[name]]) for name, has, _ in settings.integrations()
              if has and keys.get(name) in built]
    answers = await asyncio.gather(*(integ.probe(seconds) for _, integ in probed))
    said = {name: answer for (name, _), answer in zip(probed, answers, strict=True)}
    lines = []
    for name, has, otherwise in settings.integrations():
        if not has:
            text = otherwise
        elif name not in said:
            text = "settings present but this build does not start it"
        else:
            ok, detail = said[name]
            text = f"configured ({detail})" if ok else f"configured but not answering: {detail}"
        lines.append(f"  {name:<15} {text}")
    return lines


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.web.server import uvicorn_options
    from handoff.store.db import redacted
    from handoff.store.migrate import upgrade

    settings = _settings()
    _logging(settings.log_level)
    if not settings.api_keys:
        key = DEV_KEY_FILE.read_text().strip() if DEV_KEY_FILE.exists() else f"dev-{secrets.token_urlsafe(24)}"
        DEV_KEY_FILE.write_text(key + "\n")
        os.environ["BATON_API_KEYS"] = key
        os.environ.setdefault("BATON_DEMO", "1")  # a dev run: let the demo page at / escalate without a key
        settings = _settings()
        print(f"  dev API key     {key}   (BATON_API_KEYS is not set; kept in {DEV_KEY_FILE.name} for `app.py demo`)")
    rt = _build_or_exit(settings)
    auto = settings.auto_migrate if settings.auto_migrate is not None else settings.is_sqlite
    if auto:
        upgrade(settings.database_url)
    print(f"  database        {redacted(settings.database_url)}{' (migrated)' if auto else ''}")
    print(f"  rules           {rt.engine_rules.version} ({len(rt.config.queues)} queues, "
          f"{len(rt.config.agents)} agents in config)")
    for line in asyncio.run(startup_report(settings, rt)):
        print(line)
    print(f"  outbox          delivering to: {', '.join(d.name for d in rt.destinations) or 'nothing'}")
    print(f"  listening on    http://{settings.host}:{settings.port}  (Ctrl-C stops after in-flight deliveries)")
    lim = rt.config.limits
    print(f"  client limits   {lim.max_connections} connections, headers in {lim.header_read_seconds:g} s, "
          f"bodies in {lim.body_read_seconds:g} s, {lim.streams_per_token} streams per conversation")
    common = {"host": settings.host, "port": settings.port, "log_level": settings.log_level.lower(),
              "access_log": args.access_log, "timeout_graceful_shutdown": 30, **uvicorn_options(lim)}
    if args.workers > 1:
        # Several processes share the port; each runs its own dispatcher (leases make that safe).
        if settings.is_sqlite:
            print("  note            several workers on SQLite share one writer; PostgreSQL scales further")
        os.environ["BATON_NO_DISPATCHER"] = "1" if args.no_dispatcher else ""
        uvicorn.run("app:app_from_env", factory=True, workers=args.workers, **common)
        return 0
    uvicorn.run(create_app(rt, run_dispatcher=not args.no_dispatcher), **common)
    return 0


def app_from_env() -> Any:
    """The ASGI app for one of several ``serve --workers N`` processes, built from the environment."""
    from bot.web.server import configure

    settings = _settings()
    _logging(settings.log_level)
    rt = _build_or_exit(settings)
    configure(rt.config.limits)  # this worker's connections get the configured header deadline and size
    return create_app(rt, run_dispatcher=not os.environ.get("BATON_NO_DISPATCHER"))


def cmd_migrate(_: argparse.Namespace) -> int:
    from handoff.store.db import redacted
    from handoff.store.migrate import head_revision, upgrade

    settings = _settings()
    upgrade(settings.database_url)
    print(f"{redacted(settings.database_url)} is at revision {head_revision()}")
    return 0


def cmd_worker(_: argparse.Namespace) -> int:
    settings = _settings()
    _logging(settings.log_level)
    rt = _build_or_exit(settings)
    return asyncio.run(run_worker(rt))


async def run_worker(rt: Runtime) -> int:
    """A dispatcher-only process; SIGINT/SIGTERM stop it after the batch in flight."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: (rt.dispatcher.stop_soon(), stop.set()))
    rt.ticks.start()  # SLA clocks, customer updates, …: timed work runs in workers too (rows decide who acts)
    rt.listener.start()
    refresher = asyncio.create_task(rt.waits.run(stop))  # the customer-update tick reads wait estimates
    settle_memory()
    try:
        await rt.dispatcher.run(stop)
    finally:
        stop.set()
        await refresher
        await rt.listener.stop()
        rt.ticks.shutdown()
        await rt.engine.dispose()
        rt.metrics.process_exit()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import httpx

    settings = _settings()
    key = (settings.api_keys or [DEV_KEY_FILE.read_text().strip() if DEV_KEY_FILE.exists() else ""])[0]
    if not key:
        sys.exit("baton: no API key: set BATON_API_KEYS, or start `python3 app.py` first (it writes a dev key)")
    base = args.url or f"http://{settings.host}:{settings.port}"
    files = sorted((ROOT / "examples").glob("*.json"))
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        for f in files:
            try:
                r = client.post("/v1/handoffs", content=f.read_bytes(), headers={"Content-Type": "application/json"})
            except httpx.ConnectError:
                sys.exit(f"baton: nothing is listening at {base}; start it with `python3 app.py`")
            body = r.json()
            if r.status_code in (200, 201):
                print(f"{f.stem:<28} → {body['id']}  {body['priority']:<8} {body['queue']:<10} "
                      f"#{body['position']}  {body['why']}")
                print(f"{'':<31}customer sees: {' '.join(body['customer_message'].split())}")
            else:
                print(f"{f.stem:<28} → HTTP {r.status_code}: {body.get('message')}")
    return 0


def _with_runtime(work: Callable[[Runtime], Any]) -> int:
    """Run one async CLI command against a freshly built runtime, and close its database pool after."""
    rt = _build_or_exit(_settings())

    async def go() -> int:
        try:
            return int(await work(rt))
        finally:
            await rt.engine.dispose()

    return asyncio.run(go())


def cmd_outbox(args: argparse.Namespace) -> int:
    async def go(rt: Runtime) -> int:
        async with rt.deps.uow() as uow:
            if args.action == "retry":
                item = await uow.outbox.get(args.id)
                if item is None:
                    print(f"baton: outbox item {args.id} not found", file=sys.stderr)
                    return 1
                ok = await uow.outbox.retry(args.id, rt.deps.now())
                await uow.commit()
                if not ok:
                    print(f"baton: outbox item {args.id} is {item.status.value}, not dead-lettered; nothing to retry",
                          file=sys.stderr)
                    return 1
                print(f"item {args.id} queued for delivery again")
                return 0
            status = "dead" if args.action == "dead" else args.status
            counts = await uow.outbox.counts()
            items = await uow.outbox.list(status=status, limit=args.limit)
        print("  ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "the outbox is empty")
        for i in items:
            print(f"{i.id:>8}  {i.status.value:<10} {i.destination:<10} {i.kind:<16} {i.handoff_id or '-':<30} "
                  f"attempts={i.attempts}  {(i.last_error or '')[:80]}")
        return 0

    return _with_runtime(go)


def cmd_rules(args: argparse.Namespace) -> int:
    from handoff.decide import RuleEngine, Rules, RulesError, run_corpus

    settings = _settings()
    from handoff.config import load_config

    config = load_config(settings.config_path)
    try:
        rules = Rules.load(args.rules or config.rules or ROOT / "config" / "rules.yaml")
    except RulesError as exc:
        sys.exit(f"baton: {exc}")
    if args.action == "check":
        print(f"rules OK, version {rules.version}")
        return 0
    lines = [json.loads(x) for x in Path(args.file).read_text(encoding="utf-8").splitlines() if x.strip()]
    from handoff.decide.intent_eval import is_intent_line, run_intents

    engine = RuleEngine(rules)
    if lines and all(is_intent_line(x) for x in lines):  # {"text", "intents", "topic"} lines: per-intent report
        print(run_intents(engine, lines).format())
        return 0
    report = run_corpus(engine, lines)
    print(report.format())
    return 0


INTENT_DATA = ROOT / "data" / "intent"


def training_files(folder: Path = INTENT_DATA) -> list[Path]:
    """The training files of the intent model: every ``*.jsonl`` in ``folder`` except the test split."""
    return sorted(p for p in folder.glob("*.jsonl") if not p.name.startswith("test"))


def cmd_model(args: argparse.Namespace) -> int:
    from handoff.decide.intent import IntentModel, IntentModelError
    from tools.intent.train import read_rows, train, write_generated

    out = Path(args.out)
    folder = Path(args.data)
    if args.action == "train":
        if args.regenerate:
            print(f"wrote {write_generated(folder / 'train_paraphrases.jsonl')} generated paraphrases")
        files = training_files(folder)
        if not files:
            sys.exit(f"baton: no training files (*.jsonl) in {folder}")
        summary = train(files, out)
        print(f"trained on {summary['lines']} lines from {', '.join(p.name for p in files)}")
        print(f"wrote {out} ({summary['features']} features, training data sha256 {summary['data_sha256'][:12]})")
        print("thresholds: " + ", ".join(f"{k} {v:.2f}" for k, v in summary["thresholds"].items()))
        return 0
    try:
        model = IntentModel.load(out)
    except IntentModelError as exc:
        sys.exit(f"baton: {exc}")
    _, data_sha = read_rows(training_files(folder))
    if data_sha != model.data_sha:
        sys.exit(f"baton: {out} was trained on data {model.data_sha[:12]}, the files in {folder} hash to "
                 f"{data_sha[:12]}: retrain with python3 app.py model train")
    print(f"model OK, version {model.version}, training data {data_sha[:12]} ({model.trained.get('lines')} lines)")
    return 0


def cmd_agents(args: argparse.Namespace) -> int:
    from handoff.errors import NotFound

    async def go(rt: Runtime) -> int:
        if args.action == "set":
            changes = {k: v for k, v in {"status": args.status, "capacity": args.capacity,
                                         "display_name": args.name}.items() if v is not None}
            if args.skills is not None:
                changes["skills"] = [s for s in args.skills.split(",") if s]
            try:
                a = await rt.actions.update_agent(args.id, changes, create=args.create)
            except NotFound:
                print(f"baton: no agent {args.id!r}; add --create to create it", file=sys.stderr)
                return 1
            print(f"{a.id}: {a.status.value}, capacity {a.capacity}, skills {', '.join(a.skills) or '-'}")
            return 0
        for a in await rt.queries.agents():
            print(f"{a.id:<24} {a.display_name:<20} {a.tier.value:<11} {a.status.value:<10} cap={a.capacity} "
                  f"skills={','.join(a.skills)}")
        return 0

    return _with_runtime(go)


def cmd_admin(args: argparse.Namespace) -> int:
    """``keys``, ``purge`` and ``report`` (bot/admin_cli.py)."""
    from bot import admin_cli

    work = {"keys": admin_cli.keys, "purge": admin_cli.purge, "report": admin_cli.report}[args.command]
    return _with_runtime(lambda rt: work(args, rt))


def cmd_teams(args: argparse.Namespace) -> int:
    """``teams package``: the Teams app zip an admin uploads (bot/teams/package.py)."""
    from bot.teams.package import PackageError, PackageOptions, next_steps, write_package

    settings = _settings()
    if not settings.teams_app_id:
        sys.exit("baton: TEAMS_APP_ID is not set: the package names the bot by its Microsoft App ID (register the "
                 "bot in Azure first, then set TEAMS_APP_ID and TEAMS_APP_PASSWORD)")
    options = PackageOptions(bot_app_id=settings.teams_app_id, base_url=args.base_url, app_guid=args.app_guid,
                             app_version=args.app_version, developer=args.developer, website=args.website,
                             privacy_url=args.privacy_url, terms_url=args.terms_url)
    try:
        out = write_package(options, Path(args.out))
    except PackageError as exc:
        sys.exit(f"baton: {exc}")
    print("\n".join(next_steps(options, out)))
    return 0


def _item_id(value: str) -> int:
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise argparse.ArgumentTypeError(f"{value!r} is not an outbox item ID (a number; see `outbox list`)")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    """The command line (README's "Command line" lines are checked against it by a test)."""
    from bot import admin_cli

    p = argparse.ArgumentParser(prog="app.py", description="Baton: escalation hub for AI customer support")
    sub = p.add_subparsers(dest="command")
    s = sub.add_parser("serve", help="run the HTTP service and the dispatcher (default)")
    s.add_argument("--no-dispatcher", action="store_true", help="serve HTTP only; run `worker` processes instead")
    s.add_argument("--access-log", action="store_true")
    s.add_argument("--workers", type=int, default=int(os.environ.get("BATON_WORKERS", "1")),
                   help="HTTP worker processes (default 1; BATON_WORKERS)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    sub.add_parser("worker", help="run a dispatcher only")
    d = sub.add_parser("demo", help="post the sample handoffs in examples/ to the running service")
    d.add_argument("--url", help="service base URL (default: BATON_HOST:BATON_PORT)")
    o = sub.add_parser("outbox", help="inspect and replay outbox items")
    o.add_argument("action", choices=["list", "dead", "retry"])
    o.add_argument("id", nargs="?", type=_item_id, help="the item ID (retry)")
    o.add_argument("--status", choices=["pending", "delivering", "done", "dead"])
    o.add_argument("--limit", type=int, default=50)
    r = sub.add_parser("rules", help="check the rules file or run it over a labeled corpus")
    r.add_argument("action", choices=["test", "check"])
    r.add_argument("file", nargs="?")
    r.add_argument("--rules", help="rules file (default: BATON_CONFIG's, else config/rules.yaml)")
    m = sub.add_parser("model", help="train the intent model, or check it matches its training data")
    m.add_argument("action", choices=["train", "check"])
    m.add_argument("--data", default=str(ROOT / "data" / "intent"), help="folder of training *.jsonl (not test*)")
    m.add_argument("--out", default=str(ROOT / "config" / "intent_model.json"), help="model file to write/check")
    m.add_argument("--regenerate", action="store_true", help="rewrite train_paraphrases.jsonl from the templates")
    a = sub.add_parser("agents", help="list agents or change one at runtime")
    a.add_argument("action", choices=["list", "set"])
    a.add_argument("id", nargs="?")
    a.add_argument("--status", choices=["available", "busy", "away", "offline"])
    a.add_argument("--capacity", type=int)
    a.add_argument("--skills", help="comma-separated")
    a.add_argument("--name")
    a.add_argument("--create", action="store_true", help="create the agent if it does not exist yet")
    admin_cli.add_parsers(sub)
    t = sub.add_parser("teams", help="build the Teams app package (manifest.json + icons) an admin uploads")
    t.add_argument("action", choices=["package"])
    t.add_argument("--base-url", required=True, help="the service's public https URL (Teams posts to /api/messages)")
    t.add_argument("--out", default="baton-teams.zip", help="where to write the zip (default baton-teams.zip)")
    t.add_argument("--app-guid", help="the Teams app id (default: derived from TEAMS_APP_ID, stable across builds)")
    t.add_argument("--app-version", help="x.y.z; raise it for each re-upload (default: Baton's version)")
    t.add_argument("--developer", default="Baton", help="publisher name shown in Teams (default Baton)")
    t.add_argument("--website", help="developer website (default: --base-url)")
    t.add_argument("--privacy-url", help="privacy statement (default: --website)")
    t.add_argument("--terms-url", help="terms of use (default: --website)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    command = args.command or "serve"
    if command == "serve" and not hasattr(args, "no_dispatcher"):
        args = p.parse_args(["serve", *(argv or [])])
    if command == "outbox" and args.action == "retry" and args.id is None:
        p.error("outbox retry needs an item ID")
    if command == "rules" and args.action == "test" and not args.file:
        p.error("rules test needs a FILE.jsonl")
    if command == "agents" and args.action == "set" and not args.id:
        p.error("agents set needs an agent ID")
    from bot import admin_cli

    admin_cli.check_args(p, args)
    handlers = {"serve": cmd_serve, "migrate": cmd_migrate, "worker": cmd_worker, "demo": cmd_demo,
                "outbox": cmd_outbox, "rules": cmd_rules, "model": cmd_model,
                "agents": cmd_agents, "keys": cmd_admin, "purge": cmd_admin, "report": cmd_admin,
                "teams": cmd_teams}
    return handlers[command](args)


if __name__ == "__main__":
    if not os.environ.get("BATON_NO_VENV"):
        # Started by the system Python from a clone: continue inside .venv (created on first use) — `python3
        # app.py …` then works as printed in the README. dev.py sits beside this file.
        sys.path.insert(0, str(ROOT))
        import dev

        dev.reexec_in_venv(Path(__file__).resolve(), sys.argv[1:])
    sys.exit(main())
