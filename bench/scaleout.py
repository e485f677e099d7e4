"""Scale-out run: several Baton processes on one PostgreSQL, thousands of handoffs and their whole lifecycle,
driven through HTTP only, with the vendor fakes counting every side effect.

    .venv/bin/python bench/scaleout.py [--handoffs 10000] [--processes 3] [--agents 40] [--workers 0]
        [--web-only] [--slack-share 0.02] [--intake-connections 12] [--drain-timeout 1800] [--seed 7]

Small defaults make a quick smoke (``--handoffs 300``). What runs:

* a fresh PostgreSQL database ``baton_scaleout_<random>`` on ``BATON_TEST_PG``'s server (default
  ``postgresql://postgres@127.0.0.1:5432``), migrated with ``python app.py migrate``, dropped at the end;
  scoped API keys made with ``python app.py keys create`` (an ``intake`` key for the widget, an ``agent`` key);
* ``--processes`` x ``python app.py serve`` on their own loopback ports (each serves HTTP and runs a dispatcher and
  the scheduler ticks, the README's scale-out layout), optionally ``--workers`` x ``python app.py worker`` beside
  them, or ``--web-only`` serves (``serve --no-dispatcher``) with the workers doing all delivery;
* the fake Slack Web API and the fake HubSpot (``tests/fakes``), each in its own process, as ``SLACK_API_URL`` and
  ``HUBSPOT_API_URL``; Slack is not rate-limited by the fake (Baton's own pacing applies: about one post per
  second per channel and 50 card updates a minute, per process). Salesforce's fake answers in-process through
  ``responses`` only, so it cannot serve other processes: HubSpot is the CRM here.

The load: ``--handoffs`` intakes (``POST /v1/handoffs``, round-robin over the processes, distinct customers and
conversations, five topics), and for each one a script played by ``--agents`` simulated agents as soon as its
intake answered: a claim race (1 to 4 agents at once on random processes: exactly one ``200``, the others ``409
already_claimed`` naming the holder), then resolve, or transfer / escalate a tier and a second claim race and
resolve, or transfer / escalate and leave it waiting. Most act through the agent API (``/v1/handoffs/{id}/claim``
…); a ``--slack-share`` of the handoffs are played in Slack only: agents wait for the card to appear in the fake
Slack, race on its Claim button (two Slack users plus one API agent: one winner across surfaces, Slack losers get
the "Already claimed" ephemeral), and transfer / escalate / resolve through the modals, each a signed
``block_actions`` → ``views.open`` → ``view_submission`` to ``/slack/events``.

At the end it checks, and prints: every handoff's final state against its script, each Slack card posted exactly
once per handoff and channel (and its transcript once), each HubSpot ticket created exactly once, no outbox item
undelivered or dead; and the figures (intake rate and latency, agent-action latency, time until every side effect
created before the last request was delivered, card lag, per-process peak RSS, PostgreSQL connections and lock
waits, CPU per component). Children's output goes to files in a run directory (printed), never to a pipe.
SLA targets are set far out (no warnings or breaches during the run: ``bench/sla.py`` measures those). Prints
figures; asserts nothing about time. Exit status 1 when a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing as mp
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import scaleout_fakes  # noqa: E402
from bench.loadgen import Connection  # noqa: E402
from tests.fakes.slack_payloads import block_actions_payload, view_submission_payload  # noqa: E402
from tests.support.factories import intake_body  # noqa: E402
from tests.support.pg import pg_create_database, pg_drop_database  # noqa: E402
from tests.support.server import free_port, stop_all, wait_up  # noqa: E402

HOST = "127.0.0.1"
TOPICS = ("technical", "billing", "account", "sales", "general")
CHANNELS = {"technical": "C0SOTECH001", "billing": "C0SOBILL001", "accounts": "C0SOACCT001",
            "sales": "C0SOSALE001", "general": "C0SOGENR001"}
OUTCOMES = (("resolve", 55), ("transfer_resolve", 15), ("escalate_resolve", 15), ("transfer_left", 8),
            ("escalate_left", 7))
TIERS = ("L1", "L2", "L3")
ADMIN_KEY = f"scaleout-admin-{uuid.uuid4().hex}"
CLAIMED_BY = re.compile(r"Already claimed by (<@[A-Z0-9]+>)")


# ---------------------------------------------------------------------------------------------- the cast
@dataclass(frozen=True)
class Agent:
    id: str
    slack: str
    tier: str


@dataclass
class Script:
    """What one handoff should live through, and what happened."""

    index: int
    surface: str  # "api" or "slack"
    outcome: str
    racers: int
    racers2: int
    hid: str = ""
    queue: str = ""  # at intake
    target: str = ""  # the transfer's queue
    created_at: float = 0.0  # wall clock of the intake answer
    holders: list[str] = field(default_factory=list)
    done: bool = False
    failed: str = ""

    def expected(self) -> dict[str, Any]:
        status = "resolved" if self.outcome.endswith("resolve") else "queued"
        queue = self.target if self.outcome.startswith("transfer") else self.queue
        tier = "L2" if self.outcome.startswith("escalate") else "L1"
        claims = 2 if self.outcome in ("transfer_resolve", "escalate_resolve") else 1
        return {"status": status, "queue": queue, "tier": tier, "claims": claims,
                "resolver": self.holders[-1] if status == "resolved" and self.holders else None}


def _agents(n: int) -> list[Agent]:
    tiers = ["L1"] * 6 + ["L2"] * 3 + ["L3"]
    return [Agent(f"agent-{i:02d}", f"U0AGENT{i:04d}", tiers[i % len(tiers)]) for i in range(n)]


def _scripts(n: int, share: float, seed: int) -> list[Script]:
    rng = random.Random(seed)
    names = [name for name, _ in OUTCOMES]
    weights = [float(w) for _, w in OUTCOMES]
    return [Script(i, "slack" if rng.random() < share else "api", rng.choices(names, weights)[0],
                   rng.choice((1, 2, 2, 3, 3, 4)), rng.choice((1, 2))) for i in range(n)]


def _config(path: Path, agents: list[Agent]) -> Path:
    far = {"first_response": "2h", "resolution": "8h"}
    cfg = {
        "queues": {q: {"display_name": q.title(), "channels": {"slack": ch}} for q, ch in CHANNELS.items()},
        "agents": [{"id": a.id, "display_name": f"Agent {a.id[-2:]}", "tier": a.tier,
                    "skills": [TOPICS[i % len(TOPICS)], TOPICS[(i + 1) % len(TOPICS)]],
                    "handles": {"slack": a.slack}} for i, a in enumerate(agents)],
        "outbox": {"log_destination": False},
        "chat": {"burst_threshold": 10_000},  # every handoff gets its own card (the run counts them)
        "sla": {"priorities": {p: far for p in ("critical", "high", "medium", "low")},
                "tier_ack": {"L2": "2h", "L3": "2h", "L4": "2h"},
                "bumps": {"long_wait": None, "frustration": False, "repeat_escalation": False},
                "on_breach": {"reroute": False}, "management": {"words": [], "plans": []}},
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


# ---------------------------------------------------------------------------------------------- HTTP plumbing
class Pools:
    """Keep-alive connections per Baton process; a request takes one of the chosen process's."""

    def __init__(self, ports: list[int], size: int) -> None:
        self.ports = ports
        self.free: list[asyncio.Queue[Connection]] = []
        for port in ports:
            q: asyncio.Queue[Connection] = asyncio.Queue()
            for _ in range(size):
                q.put_nowait(Connection(HOST, port))
            self.free.append(q)

    async def request(self, process: int, method: str, path: str, body: bytes = b"",
                      headers: dict[str, str] | None = None, content_type: str = "application/json"
                      ) -> tuple[int, bytes]:
        conn = await self.free[process].get()
        try:
            return await conn.request(method, path, body, headers, content_type)
        finally:
            self.free[process].put_nowait(conn)

    async def close(self) -> None:
        for q in self.free:
            while not q.empty():
                await q.get_nowait().close()


class AgentPool:
    """Idle agents; ``take`` hands out ``k`` at once (FIFO among waiters), ``give`` returns them."""

    def __init__(self, agents: list[Agent], rng: random.Random) -> None:
        self.idle = list(agents)
        self.rng = rng
        self.waiting: list[tuple[int, Callable[[Agent], bool], asyncio.Future[list[Agent]]]] = []

    def _pick(self, k: int, ok: Callable[[Agent], bool]) -> list[Agent] | None:
        eligible = [a for a in self.idle if ok(a)]
        if len(eligible) < k:
            return None
        chosen = self.rng.sample(eligible, k)
        for a in chosen:
            self.idle.remove(a)
        return chosen

    async def take(self, k: int, ok: Callable[[Agent], bool] = lambda a: True) -> list[Agent]:
        if not self.waiting:
            got = self._pick(k, ok)
            if got is not None:
                return got
        fut: asyncio.Future[list[Agent]] = asyncio.get_running_loop().create_future()
        self.waiting.append((k, ok, fut))
        return await fut

    def give(self, agents: list[Agent]) -> None:
        self.idle.extend(agents)
        while self.waiting:
            k, ok, fut = self.waiting[0]
            got = self._pick(k, ok)
            if got is None:
                return
            self.waiting.pop(0)
            fut.set_result(got)


@dataclass
class Stats:
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    problems: list[str] = field(default_factory=list)
    last_request: float = 0.0  # wall clock of the last answer to the load
    races: Counter[str] = field(default_factory=Counter)
    expected_ephemerals: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def problem(self, text: str) -> None:
        self.problems.append(text)
        if len(self.problems) <= 20:
            print(f"  ! {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- the load
class Load:
    def __init__(self, args: argparse.Namespace, ports: list[int], keys: dict[str, str], slack: dict[str, Any],
                 agents: list[Agent], scripts: list[Script]) -> None:
        self.args = args
        self.ports = ports
        self.rng = random.Random(args.seed + 1)
        self.pools = Pools(ports, max(4, args.agents + 4))
        self.agent_headers = {"Authorization": f"Bearer {keys['agent']}"}
        self.intake_headers = {"Authorization": f"Bearer {keys['intake']}"}
        self.slack = slack
        self.agents = agents
        self.by_id = {a.id: a for a in agents}
        self.pool = AgentPool(agents, random.Random(args.seed + 2))
        self.scripts = scripts
        self.stats = Stats()
        self.work: asyncio.Queue[Script | None] = asyncio.Queue()
        self.slack_tasks: list[asyncio.Task[None]] = []
        self.watch: dict[int, tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = {}
        self.deadline = 0.0
        self.intake_done_at = self.api_done_at = 0.0
        self._next = 0

    # --------------------------------------------------------------- requests
    def _process(self) -> int:
        return self.rng.randrange(len(self.ports))

    async def _api(self, kind: str, method: str, path: str, body: Any = None, process: int | None = None
                   ) -> tuple[int, Any]:
        raw = json.dumps(body).encode() if body is not None else b""
        t0 = time.perf_counter()
        status, data = await self.pools.request(self._process() if process is None else process, method, path,
                                                raw, self.agent_headers)
        self.stats.latency[kind].append(time.perf_counter() - t0)
        self.stats.statuses[kind][status] += 1
        self.stats.last_request = time.time()
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data.decode(errors="replace")

    async def _slack_post(self, kind: str, inbound: Any) -> tuple[int, Any]:
        headers = {k: v for k, v in inbound.headers(self.slack["secret"]).items() if k != "Content-Type"}
        t0 = time.perf_counter()
        status, data = await self.pools.request(self._process(), "POST", "/slack/events", inbound.body, headers,
                                                inbound.content_type)
        self.stats.latency["slack_ack"].append(time.perf_counter() - t0)
        self.stats.statuses[kind][status] += 1
        self.stats.last_request = time.time()
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data.decode(errors="replace")

    # --------------------------------------------------------------- intake
    async def intake(self, connection: int) -> None:
        conn = Connection(HOST, self.ports[connection % len(self.ports)])
        n = len(self.scripts)
        try:
            while True:
                i = self._next
                if i >= n or self.stopped():
                    return
                self._next += 1
                s = self.scripts[i]
                body = intake_body(conversation_id=f"so-{self.args.run}-{i}", source="widget",
                                   customer={"email": customer_email(self.args.run, i), "name": f"Customer {i}"},
                                   ai={"intent": TOPICS[i % len(TOPICS)]})
                t0 = time.perf_counter()
                status, data = await conn.request("POST", "/v1/handoffs", json.dumps(body).encode(),
                                                  self.intake_headers)
                self.stats.latency["intake"].append(time.perf_counter() - t0)
                self.stats.statuses["intake"][status] += 1
                self.stats.last_request = s.created_at = time.time()
                if status != 201:
                    s.failed = f"intake answered {status}: {data[:200]!r}"
                    self.stats.problem(f"handoff #{i}: {s.failed}")
                    continue
                answer = json.loads(data)
                s.hid, s.queue = answer["id"], answer["queue"]
                others = [q for q in CHANNELS if q != s.queue]
                s.target = others[i % len(others)]
                if s.surface == "slack":
                    self.slack_tasks.append(asyncio.create_task(self.slack_script(s)))
                else:
                    self.work.put_nowait(s)
        finally:
            await conn.close()

    # --------------------------------------------------------------- API scripts
    async def runner(self) -> None:
        while (s := await self.work.get()) is not None:
            if self.stopped():
                s.failed = "not started: the load's time limit was reached"
                continue
            try:
                await self.api_script(s)
            except Exception as exc:
                s.failed = f"{type(exc).__name__}: {exc}"
                self.stats.problem(f"{s.hid}: script failed: {s.failed}")

    async def race_api(self, s: Script, racers: list[Agent]) -> Agent | None:
        """Every racer claims at once (each through a random process); exactly one may win."""
        answers = await asyncio.gather(*(self._api("claim", "POST", f"/v1/handoffs/{s.hid}/claim",
                                                   {"agent_id": a.id}) for a in racers))
        winners = [a for a, (st, _) in zip(racers, answers, strict=True) if st == 200]
        self.stats.races[f"{len(racers)} racers"] += 1
        if len(winners) != 1:
            self.stats.problem(f"{s.hid}: {len(winners)} winners among {len(racers)} claims: "
                               f"{[st for st, _ in answers]}")
            self.pool.give([a for a in racers if a not in winners])
            return winners[0] if winners else None
        winner = winners[0]
        for a, (st, body) in zip(racers, answers, strict=True):
            if a is winner:
                continue
            self.stats.races["losers"] += 1
            if not (st == 409 and isinstance(body, dict) and body.get("error") == "already_claimed"
                    and (body.get("details") or {}).get("claimed_by") == winner.id):
                self.stats.problem(f"{s.hid}: losing claim of {a.id} answered {st} {str(body)[:200]}")
            else:
                self.stats.races["losers answered 409 already_claimed naming the holder"] += 1
        self.pool.give([a for a in racers if a is not winner])
        s.holders.append(winner.id)
        return winner

    async def _act(self, s: Script, agent: Agent, action: str) -> bool:
        body: dict[str, Any] = {"agent_id": agent.id}
        if action == "transfer":
            body.update(to_queue=s.target, note="belongs to the other team")
        elif action == "escalate":
            body.update(to_tier="L2", summary="needs a specialist", steps_taken=["reproduced", "checked logs"],
                        hypothesis="configuration", customer_impact="blocked", warm=False)
        elif action == "resolve":
            body.update(outcome="resolved", note="fixed")
        status, answer = await self._api(action, "POST", f"/v1/handoffs/{s.hid}/{action}", body)
        if status != 200:
            self.stats.problem(f"{s.hid}: {action} by {agent.id} answered {status} {str(answer)[:200]}")
            return False
        return True

    async def api_script(self, s: Script, holder: Agent | None = None) -> None:
        if holder is None:
            holder = await self.race_api(s, await self.pool.take(s.racers))
            if holder is None:
                return
        try:
            if s.outcome == "resolve":
                s.done = await self._act(s, holder, "resolve")
                return
            if not await self._act(s, holder, "transfer" if s.outcome.startswith("transfer") else "escalate"):
                return
        finally:
            self.pool.give([holder])
        if s.outcome.endswith("_left"):
            s.done = True
            return
        ok = (lambda a: a.tier != "L1") if s.outcome.startswith("escalate") else (lambda a: True)
        second = await self.race_api(s, await self.pool.take(s.racers2, ok))
        if second is None:
            return
        try:
            s.done = await self._act(s, second, "resolve")
        finally:
            self.pool.give([second])

    # --------------------------------------------------------------- Slack scripts
    async def watcher(self) -> None:
        """Ask the fake Slack twice a second which awaited cards are there (in the wanted state)."""
        conn = Connection(HOST, self.slack["control"])
        try:
            while True:
                await asyncio.sleep(0.5)
                if not self.watch:
                    continue
                keys = list(self.watch)
                status, data = await conn.request("POST", "/cards", json.dumps([self.watch[k][0] for k in keys])
                                                  .encode())
                ready = json.loads(data) if status == 200 else {}
                for k in keys:
                    want, fut = self.watch[k]
                    if want["h"] in ready and not fut.done():
                        fut.set_result(ready[want["h"]])
                        del self.watch[k]
        finally:
            await conn.close()

    async def card(self, hid: str, action: str, channel: str | None = None, text: str | None = None
                   ) -> dict[str, Any]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        key = id(fut)
        self.watch[key] = ({"h": hid, "action": action, "channel": channel, "text": text}, fut)
        try:
            return await asyncio.wait_for(fut, max(1.0, self.deadline - time.monotonic()))
        finally:
            self.watch.pop(key, None)

    async def _state(self, s: Script, done: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        while time.monotonic() < self.deadline:
            status, h = await self._api("read", "GET", f"/v1/handoffs/{s.hid}")
            if status == 200 and done(h):
                return dict(h)
            await asyncio.sleep(0.2)
        raise TimeoutError(f"{s.hid} never became {what}")

    async def _click(self, agent: Agent, card: dict[str, Any], action: str, trigger: str | None = None
                     ) -> tuple[int, Any]:
        message = card["message"]
        value = next(el.get("value") for b in message.get("blocks") or [] for el in b.get("elements") or []
                     if isinstance(el, dict) and el.get("action_id") == action)
        inbound = block_actions_payload(action, value, agent.slack, card["channel"], card["ts"], message=message,
                                        trigger_id=trigger)
        return await self._slack_post(action, inbound)

    async def _modal(self, s: Script, agent: Agent, card: dict[str, Any], action: str,
                     values: dict[str, Any]) -> None:
        """A button that opens a modal, then its submission (the view as Baton opened it in the fake)."""
        trigger = f"{int(time.time())}.{self.rng.randrange(10**12)}.{uuid.uuid4().hex}"
        await self._click(agent, card, action, trigger)
        conn = Connection(HOST, self.slack["control"])
        try:
            while True:
                status, data = await conn.request("GET", f"/view?trigger={trigger}")
                if status == 200:
                    view = json.loads(data)
                    break
                if time.monotonic() > self.deadline:
                    raise TimeoutError(f"{s.hid}: no modal opened for {action}")
                await asyncio.sleep(0.1)
        finally:
            await conn.close()
        inbound = view_submission_payload(view["callback_id"], view["private_metadata"], values, agent.slack,
                                          blocks=view["blocks"])
        status, answer = await self._slack_post("view_submission", inbound)
        if status != 200 or (isinstance(answer, dict) and answer.get("response_action") == "errors"):
            raise RuntimeError(f"{action} modal submission answered {status} {str(answer)[:200]}")

    async def race_slack(self, s: Script, card: dict[str, Any], slack_racers: list[Agent],
                         api_racer: Agent | None) -> Agent:
        """Slack users click Claim (and an API agent claims) at once; the database picks one."""
        jobs = [self._click(a, card, "baton.claim") for a in slack_racers]
        if api_racer is not None:
            jobs.append(self._api("claim", "POST", f"/v1/handoffs/{s.hid}/claim", {"agent_id": api_racer.id}))
        answers = await asyncio.gather(*jobs)
        if any(st != 200 for st, _ in answers[:len(slack_racers)]):
            self.stats.problem(f"{s.hid}: Slack claim clicks answered {[st for st, _ in answers]}")
        h = await self._state(s, lambda h: h["status"] == "claimed" and bool(h.get("claimed_by")), "claimed")
        winner = self.by_id[h["claimed_by"]]
        racers = [*slack_racers, *([api_racer] if api_racer else [])]
        self.stats.races[f"{len(racers)} racers ({len(slack_racers)} in Slack)"] += 1
        if winner not in racers:
            self.stats.problem(f"{s.hid}: claimed by {winner.id}, who did not race")
        told = []
        for a in slack_racers:
            if a is not winner:
                self.stats.races["losers"] += 1
                key = (card["channel"], a.slack, f"<@{winner.slack}>")
                self.stats.expected_ephemerals[key] += 1
                told.append(key)
        await self._told(s, told)
        if api_racer is not None and api_racer is not winner:
            self.stats.races["losers"] += 1
            st, body = answers[-1]
            if st == 409 and isinstance(body, dict) and (body.get("details") or {}).get("claimed_by") == winner.id:
                self.stats.races["losers answered 409 already_claimed naming the holder"] += 1
            else:
                self.stats.problem(f"{s.hid}: losing API claim answered {st} {str(body)[:200]}")
        s.holders.append(winner.id)
        return winner

    async def _told(self, s: Script, keys: list[tuple[str, str, str]]) -> None:
        """Wait until each losing Slack click was answered ("Already claimed by …"): a click is acknowledged first
        and acted on after, so a slow one could otherwise still be running when the next step starts."""
        if not keys:
            return
        conn = Connection(HOST, self.slack["control"])
        try:
            until = time.monotonic() + 60
            while time.monotonic() < until:
                status, data = await conn.request("GET", "/claimed")
                seen = json.loads(data) if status == 200 else {}
                if all(seen.get("|".join(k), 0) >= self.stats.expected_ephemerals[k] for k in keys):
                    return
                await asyncio.sleep(0.2)
        finally:
            await conn.close()
        self.stats.problem(f"{s.hid}: no 'Already claimed' answer to {len(keys)} losing Slack click(s) within 60 s")

    async def slack_script(self, s: Script) -> None:
        try:
            await self._slack_script(s)
        except asyncio.CancelledError:
            s.failed = "abandoned at the load's time limit (waiting in Slack)"
        except Exception as exc:
            s.failed = f"{type(exc).__name__}: {exc}"
            self.stats.problem(f"{s.hid}: Slack script failed: {s.failed}")

    async def _slack_script(self, s: Script) -> None:
        card = await self.card(s.hid, "baton.claim", CHANNELS[s.queue])
        racers = await self.pool.take(3)
        try:
            winner = await self.race_slack(s, card, racers[:2], racers[2])
        finally:
            self.pool.give(racers)
        if winner is racers[2]:  # the API agent won: the rest happens at the agent's desk, through the API
            holder = (await self.pool.take(1, lambda a: a is winner))[0]
            await self.api_script(s, holder)
            return
        step = {"resolve": "resolve", "transfer_resolve": "transfer", "transfer_left": "transfer"}.get(s.outcome,
                                                                                                    "escalate")
        await self._slack_step(s, winner, step)
        if s.outcome in ("resolve",) or s.outcome.endswith("_left"):
            s.done = True
            return
        if step == "transfer":
            card = await self.card(s.hid, "baton.claim", CHANNELS[s.target])
            ok: Callable[[Agent], bool] = lambda a: True  # noqa: E731
        else:
            card = await self.card(s.hid, "baton.claim", CHANNELS[s.queue], "(L2)")
            ok = lambda a: a.tier != "L1"  # noqa: E731
        racers = await self.pool.take(s.racers2, ok)
        try:
            second = await self.race_slack(s, card, racers, None)
        finally:
            self.pool.give(racers)
        await self._slack_step(s, second, "resolve")
        s.done = True

    async def _slack_step(self, s: Script, agent: Agent, step: str) -> None:
        card = await self.card(s.hid, "baton.resolve", None, f"<@{agent.slack}>")  # the card shows the claim
        me = (await self.pool.take(1, lambda a: a is agent))[0]
        try:
            if step == "resolve":
                await self._modal(s, me, card, "baton.resolve", {"outcome": {"outcome": _select("resolved")},
                                                                 "note": {"note": "fixed from Slack"}})
                await self._state(s, lambda h: h["status"] == "resolved", "resolved")
            elif step == "transfer":
                await self._modal(s, me, card, "baton.transfer", {"queue": {"queue": _select(s.target)},
                                                                  "note": {"note": "for the other team"}})
                await self._state(s, lambda h: h["queue"] == s.target, f"in {s.target}")
            else:
                await self._modal(s, me, card, "baton.escalate", {
                    "tier": {"tier": _select("L2")}, "summary": {"summary": "needs a specialist"},
                    "steps": {"steps": "reproduced\nchecked logs"}, "hypothesis": {"hypothesis": "configuration"},
                    "impact": {"impact": "blocked"},
                    "handoff_style": {"handoff_style": {"type": "radio_buttons",
                                                        "selected_option": {"value": "cold"}}}})
                await self._state(s, lambda h: h["tier"] == "L2", "at L2")
        finally:
            self.pool.give([me])

    # --------------------------------------------------------------- the whole load
    def stopped(self) -> bool:
        return time.monotonic() >= self.deadline

    async def run(self) -> None:
        """Intake and scripts until done, or until ``--max-load-minutes``: then no new work starts, steps in
        flight finish, Slack scripts still waiting for a card are abandoned (reported as not finished)."""
        limit = self.args.max_load_minutes * 60 if self.args.max_load_minutes else 86_400.0
        self.deadline = time.monotonic() + limit
        watcher = asyncio.create_task(self.watcher())
        runners = [asyncio.create_task(self.runner()) for _ in range(max(1, self.args.agents // 3))]
        await asyncio.gather(*(self.intake(c) for c in range(self.args.intake_connections)))
        self.intake_done_at = time.time()
        for _ in runners:
            self.work.put_nowait(None)
        await asyncio.gather(*runners)
        self.api_done_at = time.time()
        if self.slack_tasks:
            _, pending = await asyncio.wait(self.slack_tasks, timeout=max(0.0, self.deadline - time.monotonic()))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await self.pools.close()


def _select(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": value},
                                                         "value": value}}


def customer_email(run: str, i: int) -> str:
    return f"customer-{i}-{run}@scaleout.example"


# ---------------------------------------------------------------------------------------------- measuring
def _proc_status(pid: int, field_name: str) -> float:
    """A ``/proc/<pid>/status`` figure in MB (VmRSS, VmHWM), 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _machine_busy() -> tuple[float, float, float]:
    """(busy, total, interrupts) jiffies of the whole machine; interrupts (softirq: the loopback network stack,
    mostly) are busy time no process is charged for."""
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in
                                                             Path("/proc/stat").read_text().split()[1:9])
    total = user + nice + system + idle + iowait + irq + softirq + steal
    return total - idle - iowait, total, irq + softirq


def _pid_cpu(pid: int) -> float | None:
    """utime + stime of one process in seconds (None when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Monitor:
    """Samples twice a second: PostgreSQL's view of our database (connections, what waits on locks) and the CPU
    of every process involved, PostgreSQL's backends attributed to our database, to other databases (other
    people's work on this machine) or to the server itself."""

    def __init__(self, url: str, dbname: str, groups: dict[str, list[int]]) -> None:
        self.url, self.dbname, self.groups = url, dbname, groups
        self.samples: list[dict[str, Any]] = []
        self.waiting: Counter[str] = Counter()  # statement waiting on a lock, and what its holder last ran
        self.oldest: Counter[str] = Counter()  # the last statement of the oldest open transaction, per sample
        self.marks: dict[str, float] = {}
        self.cpu: dict[str, dict[str, float]] = {}  # mark → group → CPU seconds accumulated until then
        self.busy: dict[str, tuple[float, float, float]] = {}
        self.rss_peak: dict[int, float] = defaultdict(float)
        self._total: defaultdict[str, float] = defaultdict(float)
        self._last: dict[int, float] = {}
        self._owner = {pid: g for g, pids in groups.items() for pid in pids}

    def mark(self, name: str) -> None:
        self.marks[name] = time.time()
        self.cpu[name] = dict(self._total)
        self.busy[name] = _machine_busy()

    def _account(self, pg: dict[int, str]) -> None:
        owners = {**self._owner, **{pid: f"postgres ({d})" for pid, d in pg.items()}}
        for pid, group in owners.items():
            now = _pid_cpu(pid)
            if now is None:
                continue
            before = self._last.get(pid)
            self._last[pid] = now
            if before is not None:
                self._total[group] += now - before

    async def run(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            while not stop.is_set():
                rows = await conn.fetch(
                    "SELECT pid, datname, state, wait_event_type, wait_event, application_name, "
                    "extract(epoch FROM now() - xact_start) AS xact_age, "
                    "left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS query, "
                    "CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) END AS blockers "
                    "FROM pg_stat_activity WHERE pid <> pg_backend_pid()")
                ours = [r for r in rows if r["datname"] == self.dbname]
                by_pid = {r["pid"]: r for r in ours}
                self.samples.append({
                    "t": time.time(), "total": len(ours), "active": sum(r["state"] == "active" for r in ours),
                    "lock_waits": sum(r["wait_event_type"] == "Lock" for r in ours),
                    "lwlock_waits": sum(r["wait_event_type"] == "LWLock" for r in ours),
                    "idle_in_tx": sum(r["state"] == "idle in transaction" for r in ours),
                    "oldest_tx": max((float(r["xact_age"]) for r in ours
                                      if r["xact_age"] is not None and r["application_name"] != "baton-listen"),
                                     default=0.0),
                    "listen": sum(r["application_name"] == "baton-listen" for r in ours)})
                open_tx = [r for r in ours if r["xact_age"] is not None and r["application_name"] != "baton-listen"]
                if open_tx:
                    top = max(open_tx, key=lambda r: float(r["xact_age"]))
                    if float(top["xact_age"]) > 5:
                        self.oldest[f"{top['state']}: {top['query']}"] += 1
                for r in ours:
                    if r["wait_event_type"] == "Lock":
                        held = [by_pid[b] for b in r["blockers"] or [] if b in by_pid]
                        holder = (f"{held[0]['state']}: {held[0]['query']}" if held else "?")
                        self.waiting[f"{r['query']}\n          held by ({holder})"] += 1
                self._account({r["pid"]: ("this run" if r["datname"] == self.dbname else
                                          "other databases" if r["datname"] else "server") for r in rows})
                for pids in self.groups.values():
                    for pid in pids:
                        self.rss_peak[pid] = max(self.rss_peak[pid], _proc_status(pid, "VmRSS"))
                try:
                    await asyncio.wait_for(stop.wait(), 0.5)
                except TimeoutError:
                    pass
        finally:
            await conn.close()


async def _undelivered(url: str, before: datetime) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE status IN ('pending', 'delivering') AND created_at <= $1) AS open, "
            "count(*) FILTER (WHERE status = 'dead') AS dead FROM outbox", before)
        return int(row["open"]), int(row["dead"])
    finally:
        await conn.close()


async def _drain(url: str, before: datetime, within: float) -> float | None:
    """Wait until every outbox item created up to ``before`` is delivered (or dead); seconds it took, or None."""
    t0 = time.time()
    while time.time() - t0 < within:
        open_, _ = await _undelivered(url, before)
        if open_ == 0:
            return time.time() - t0
        await asyncio.sleep(0.5)
    return None


async def _database_facts(url: str, before: datetime) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        handoffs = {r["id"]: dict(r) for r in await conn.fetch(
            "SELECT id, status, queue, tier, claimed_by, transfer_count, escalation_count FROM handoffs")}
        claims = {r["handoff_id"]: r["n"] for r in await conn.fetch(
            "SELECT handoff_id, count(*) AS n FROM events WHERE kind = 'claimed' GROUP BY 1")}
        resolvers = {r["handoff_id"]: r["actor_id"] for r in await conn.fetch(
            "SELECT handoff_id, actor_id FROM events WHERE kind = 'resolved'")}
        sources = Counter(f"{r['kind']} via {r['source']}" for r in await conn.fetch(
            "SELECT kind, source FROM events WHERE kind IN ('claimed', 'transferred', 'escalated', 'resolved')"))
        outbox = [dict(r) for r in await conn.fetch(
            "SELECT destination, status, count(*) AS n, "
            "max(delivered_at) FILTER (WHERE created_at <= $1) AS last_delivered, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at - created_at)) AS p50, "
            "percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at - created_at)) AS p99 "
            "FROM outbox GROUP BY 1, 2 ORDER BY 1, 2", before)]
        late = [dict(r) for r in await conn.fetch(
            "SELECT destination, kind, status, count(*) AS n FROM outbox WHERE status <> 'done' GROUP BY 1, 2, 3")]
        released = [dict(r) for r in await conn.fetch(
            "SELECT destination, count(*) AS n FROM outbox WHERE status = 'done' AND attempts > 1 "
            "AND last_error IS NULL GROUP BY 1")]
        pending: dict[str, set[str]] = defaultdict(set)
        for r in await conn.fetch("SELECT DISTINCT handoff_id, destination FROM outbox "
                                  "WHERE status <> 'done' AND handoff_id IS NOT NULL"):
            pending[r["handoff_id"]].add(r["destination"])
        errors = [dict(r) for r in await conn.fetch(
            "SELECT destination, left(last_error, 100) AS error, count(*) AS n, sum(attempts) AS attempts "
            "FROM outbox WHERE last_error IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 12")]
        rows = {r["relname"]: r["n"] for r in await conn.fetch(
            "SELECT relname, n_live_tup AS n FROM pg_stat_user_tables")}
        db = dict(await conn.fetchrow(
            "SELECT xact_commit, xact_rollback, deadlocks, pg_database_size(datname) AS size, "
            "current_setting('max_connections') AS max_connections FROM pg_stat_database "
            "WHERE datname = current_database()"))
        return {"handoffs": handoffs, "claims": claims, "resolvers": resolvers, "sources": sources,
                "outbox": outbox, "late": late, "errors": errors, "rows": rows, "db": db, "pending": pending,
                "released": released}
    finally:
        await conn.close()


async def _scrape(ports: list[int]) -> list[dict[str, float]]:
    """Each process's own counters (``/metrics`` without multiprocess mode answers for that process)."""
    out = []
    for port in ports:
        conn = Connection(HOST, port)
        try:
            status, data = await conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        finally:
            await conn.close()
        values: dict[str, float] = {}
        for line in data.decode(errors="replace").splitlines() if status == 200 else []:
            m = re.match(r'baton_(intakes_total|outbox_deliveries_total)\{(.*)\} ([0-9.e+]+)$', line)
            if m:
                values[f"{m.group(1)}{{{m.group(2)}}}"] = float(m.group(3))
        out.append(values)
    return out


def _pct(values: list[float], p: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))] if xs else float("nan")


def _ms(values: list[float]) -> str:
    return f"{_pct(values, 50) * 1000:,.0f} / {_pct(values, 99) * 1000:,.0f} ms" if values else "—"


# ---------------------------------------------------------------------------------------------- processes
def _env(base: dict[str, str], **extra: str) -> dict[str, str]:
    return {**base, **extra}


def _app(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python app.py …`` with stdout and stderr to ``log`` (a file, never a pipe nobody reads)."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "app.py", *args], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def _app_once(args: list[str], env: dict[str, str], log: Path) -> str:
    proc = _app(args, env, log)
    if proc.wait(120) != 0:
        raise RuntimeError(f"app.py {' '.join(args)} failed: {log.read_text()[-2000:]}")
    return log.read_text()


def _child(target: Any, *args: Any) -> tuple[Any, Any, dict[str, Any]]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(child, *args), daemon=True)
    proc.start()
    if not parent.poll(120):
        raise RuntimeError(f"{target.__name__} did not start")
    return proc, parent, parent.recv()


def _finish(proc: Any, conn: Any) -> dict[str, Any]:
    conn.send("stop")
    summary: dict[str, Any] = conn.recv() if conn.poll(300) else {}
    proc.join(30)
    return summary


# ---------------------------------------------------------------------------------------------- the run
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--handoffs", type=int, default=300)
    ap.add_argument("--processes", type=int, default=3, help="`app.py serve` processes (each with a dispatcher)")
    ap.add_argument("--workers", type=int, default=0, help="`app.py worker` processes beside them")
    ap.add_argument("--web-only", action="store_true", help="serve --no-dispatcher: the workers deliver")
    ap.add_argument("--agents", type=int, default=40)
    ap.add_argument("--slack-share", type=float, default=0.02, help="share of handoffs played in Slack only")
    ap.add_argument("--intake-connections", type=int, default=12)
    ap.add_argument("--known-customers", type=float, default=0.2, help="share of customers HubSpot knows")
    ap.add_argument("--drain-timeout", type=float, default=1800,
                    help="longest wait for side effects after the last request (s)")
    ap.add_argument("--max-load-minutes", type=float, default=0,
                    help="stop starting new work after this long (0: run every script to its end)")
    ap.add_argument("--pool-size", type=int, default=12,
                    help="BATON_DB_POOL_SIZE of each process (connections: processes x (1.5 x size + 1))")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    args = ap.parse_args()
    if args.web_only and args.workers < 1:
        ap.error("--web-only needs --workers 1 or more (somebody has to deliver)")
    args.run = uuid.uuid4().hex[:8]
    dbname = f"baton_scaleout_{args.run}"
    workdir = Path(tempfile.mkdtemp(prefix=f"baton-scaleout-{args.run}-"))
    print(f"$ {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}; "
          f"{args.processes} x serve{' --no-dispatcher' if args.web_only else ''} + {args.workers} x worker; "
          f"BATON_DB_POOL_SIZE={args.pool_size}; {args.handoffs} handoffs, {args.agents} agents, "
          f"{args.slack_share:.0%} played in Slack; logs in {workdir}",
          flush=True)
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("BATON_", "SLACK_", "HUBSPOT_", "SALESFORCE_", "TEAMS_", "CRM_"))}
    base.update(BATON_NO_VENV="1", BATON_LOG_LEVEL="WARNING", BATON_AUTO_MIGRATE="0",
                BATON_DB_POOL_SIZE=str(args.pool_size))
    url = pg_create_database(dbname)
    procs: list[subprocess.Popen[bytes]] = []
    children: list[tuple[Any, Any]] = []
    try:
        env = _env(base, DATABASE_URL=url)
        print("  " + _app_once(["migrate"], env, workdir / "migrate.log").strip().splitlines()[-1], flush=True)
        keys = {scope: re.search(r"^key: (\S+)$", _app_once(
            ["keys", "create", "--scope", scope, "--name", f"scaleout-{scope}"], env, workdir / f"keys-{scope}.log"),
            re.M).group(1)  # type: ignore[union-attr]
            for scope in ("intake", "agent")}
        agents = _agents(args.agents)
        scripts = _scripts(args.handoffs, args.slack_share, args.seed)
        known = [customer_email(args.run, i) for i in range(args.handoffs) if (i * 7919) % 100 < args.known_customers
                 * 100]
        slack_proc, slack_conn, slack = _child(scaleout_fakes.slack_child, {q: ch for q, ch in CHANNELS.items()},
                                               [a.slack for a in agents])
        children.append((slack_proc, slack_conn))
        hs_proc, hs_conn, hs = _child(scaleout_fakes.hubspot_child, known)
        children.append((hs_proc, hs_conn))
        config = _config(workdir / "baton.yaml", agents)
        env = _env(base, DATABASE_URL=url, BATON_CONFIG=str(config), BATON_API_KEYS=ADMIN_KEY,
                   SLACK_BOT_TOKEN=slack["token"], SLACK_SIGNING_SECRET=slack["secret"],
                   SLACK_API_URL=slack["base_url"], HUBSPOT_ACCESS_TOKEN=hs["token"], HUBSPOT_API_URL=hs["base_url"])
        ports = [free_port() for _ in range(args.processes)]
        serve = ["serve", "--no-dispatcher"] if args.web_only else ["serve"]
        for i, port in enumerate(ports):
            procs.append(_app(serve, {**env, "BATON_PORT": str(port)}, workdir / f"serve-{i}.log"))
        for i in range(args.workers):
            procs.append(_app(["worker"], env, workdir / f"worker-{i}.log"))
        for i, port in enumerate(ports):
            wait_up(port, procs[i], workdir / f"serve-{i}.log", timeout=120)
        time.sleep(1.0)  # the workers' first ticks
        for i, proc in enumerate(procs[len(ports):]):
            if proc.poll() is not None:
                raise RuntimeError(f"worker {i} exited: {(workdir / f'worker-{i}.log').read_text()[-2000:]}")
        groups = {**{f"serve-{i}": [p.pid] for i, p in enumerate(procs[:len(ports)])},
                  **{f"worker-{i}": [p.pid] for i, p in enumerate(procs[len(ports):])},
                  "fake Slack": [slack_proc.pid], "fake HubSpot": [hs_proc.pid],
                  "load (this process)": [os.getpid()]}
        print(f"  up: {len(procs)} Baton processes on ports {', '.join(map(str, ports))}; fake Slack "
              f"{slack['base_url']}, fake HubSpot {hs['base_url']} ({len(known)} known customers)", flush=True)
        result = asyncio.run(_drive(args, url, dbname, ports, keys, slack, agents, scripts, groups))
        for pid_group, pids in groups.items():
            if pid_group.startswith(("serve", "worker")):
                result["hwm"][pid_group] = max(_proc_status(pid, "VmHWM") for pid in pids)
        stop_all(procs, timeout=60)
        result["exit_codes"] = [p.returncode for p in procs]
        result["slack"] = _finish(slack_proc, slack_conn)
        result["hubspot"] = _finish(hs_proc, hs_conn)
        children.clear()
        result["db_after_stop"] = asyncio.run(_database_facts(url, result["before"]))
        return _report(args, result, scripts, agents, workdir)
    finally:
        stop_all(procs, timeout=30)
        for proc, conn in children:
            try:
                _finish(proc, conn)
            except Exception:
                proc.kill()
        if args.keep_db:
            print(f"kept database {dbname}")
        else:
            pg_drop_database(dbname)


async def _drive(args: argparse.Namespace, url: str, dbname: str, ports: list[int], keys: dict[str, str],
                 slack: dict[str, Any], agents: list[Agent], scripts: list[Script],
                 groups: dict[str, list[int]]) -> dict[str, Any]:
    monitor = Monitor(url, dbname, groups)
    stop = asyncio.Event()
    sampler = asyncio.create_task(monitor.run(stop))
    load = Load(args, ports, keys, slack, agents, scripts)
    monitor.mark("start")
    started = time.time()
    progress = asyncio.create_task(_progress(load, started))
    await load.run()
    progress.cancel()
    monitor.mark("load done")
    before = datetime.fromtimestamp(load.stats.last_request, UTC)
    print(f"  load done after {time.time() - started:.0f} s (intake ended at {load.intake_done_at - started:.0f} s, "
          f"agent API scripts at {load.api_done_at - started:.0f} s); waiting for side effects", flush=True)
    drained = await _drain(url, before, args.drain_timeout)
    monitor.mark("drained")
    metrics = await _scrape(ports)
    facts = await _database_facts(url, before)
    stop.set()
    await sampler
    return {"stats": load.stats, "started": started, "intake_done": load.intake_done_at, "api_done": load.api_done_at,
            "before": before, "drained": drained, "monitor": monitor, "metrics": metrics, "db": facts, "hwm": {},
            "undelivered": await _undelivered(url, before)}


async def _progress(load: Load, started: float) -> None:
    while True:
        await asyncio.sleep(30)
        done = sum(s.done for s in load.scripts)
        print(f"  … {time.time() - started:4.0f} s: {load.stats.statuses['intake'][201]} created, {done} scripts done,"
              f" {len(load.stats.problems)} problems", flush=True)


# ---------------------------------------------------------------------------------------------- checking
def _report(args: argparse.Namespace, r: dict[str, Any], scripts: list[Script], agents: list[Agent],
            workdir: Path) -> int:
    stats: Stats = r["stats"]
    db = r["db_after_stop"]
    slack, hs = r["slack"], r["hubspot"]
    failures: list[str] = []  # something wrong: a lost, doubled or stale side effect, a wrong state, an error
    unfinished: list[str] = []  # not done within the time limits (said so, not counted as wrong)
    created = [s for s in scripts if s.hid]
    done = [s for s in created if s.done]
    pending: dict[str, set[str]] = db["pending"]  # handoff → destinations with undelivered items (after stop)

    # 1. Every handoff whose script ran to its end is where the script says.
    wrong = []
    for s in done:
        want, got = s.expected(), db["handoffs"].get(s.hid)
        have = None if got is None else {
            "status": got["status"], "queue": got["queue"], "tier": got["tier"], "claims": db["claims"].get(s.hid, 0),
            "resolver": db["resolvers"].get(s.hid) if want["status"] == "resolved" else None}
        if have != want:
            wrong.append(f"{s.hid} ({s.surface} {s.outcome}): want {want}, got {have}")
    if wrong:
        failures.append(f"{len(wrong)} handoffs not in their scripted state, e.g. {wrong[:3]}")
    failed_scripts = Counter(s.failed.split(":")[0] for s in created if not s.done and s.failed
                             and not s.failed.startswith(("not started", "abandoned")))
    if failed_scripts:
        failures.append(f"{sum(failed_scripts.values())} scripts stopped by an unexpected answer: "
                        f"{dict(failed_scripts)}")
    cut = Counter(s.failed if s.failed.startswith(("not started", "abandoned")) else "still running at the end"
                  for s in created if not s.done and (not s.failed or s.failed.startswith(("not started",
                                                                                          "abandoned"))))
    if cut:
        unfinished.append(f"{sum(cut.values()):,} scripts not finished: " + "; ".join(f"{n:,} {k}"
                                                                                  for k, n in cut.items()))
    if len(created) < len(scripts):
        never = sum(1 for s in scripts if not s.hid and not s.failed)
        bad = len(scripts) - len(created) - never
        if bad:
            failures.append(f"{bad} intakes failed")
        if never:
            unfinished.append(f"{never:,} intakes not sent (the load's time limit)")
    # 2. Claim races: one winner; the others told who holds it (the API's 409s are checked as they come).
    observed: Counter[tuple[str, str, str]] = Counter()
    for e in slack.get("ephemerals", []):
        m = CLAIMED_BY.search(e["text"])
        if m:
            observed[(e["channel"], e["user"], m.group(1))] += 1
    if observed != stats.expected_ephemerals:
        failures.append(f"Slack 'already claimed' ephemerals: expected {sum(stats.expected_ephemerals.values())}, "
                        f"got {sum(observed.values())} (differences: "
                        f"{list((observed - stats.expected_ephemerals).items())[:3]} / "
                        f"{list((stats.expected_ephemerals - observed).items())[:3]})")
    # 3. Slack cards: once per handoff and channel, the transcript once, the final card current — for every
    #    handoff whose Slack items were all delivered; the others are counted as not delivered yet.
    cards = slack.get("handoffs", {})
    slack_open = [s for s in created if "slack" in pending.get(s.hid, ())]
    missing_cards = [s.hid for s in created if s.hid not in cards and "slack" not in pending.get(s.hid, ())]
    doubled = {h: c["posts"] for h, c in cards.items() if any(n != 1 for n in c["posts"].values())}
    # The current card has its transcript once; a card it moved from (a transfer) may have none, if it moved
    # before the transcript's turn came (a congested channel posts cards first), never two.
    transcripts = {h: c["transcripts"] for h, c in cards.items() if "slack" not in pending.get(h, ())
                   and (c["transcripts"][-1] != 1 or any(n > 1 for n in c["transcripts"]))}
    stale = []
    for s in done:
        c = cards.get(s.hid)
        want = s.expected()
        if c is None or "slack" in pending.get(s.hid, ()):
            continue
        if c["channel"] != CHANNELS[want["queue"]]:
            stale.append(f"{s.hid}: card in {c['channel']}, queue {want['queue']}")
        elif want["status"] == "resolved" and "Resolved by" not in c["final_text"]:
            stale.append(f"{s.hid}: final card does not say resolved")
        elif want["status"] == "queued" and "Resolved by" in c["final_text"]:
            stale.append(f"{s.hid}: final card says resolved")
    if missing_cards:
        failures.append(f"{len(missing_cards)} handoffs without a Slack card and nothing left to deliver, e.g. "
                        f"{missing_cards[:3]}")
    if doubled:
        failures.append(f"{len(doubled)} handoffs with a card posted more than once in a channel, e.g. "
                        f"{list(doubled.items())[:3]}")
    if transcripts:
        failures.append(f"{len(transcripts)} cards whose transcript was not posted exactly once, e.g. "
                        f"{list(transcripts.items())[:3]}")
    if stale:
        failures.append(f"{len(stale)} final cards not showing the final state, e.g. {stale[:3]}")
    if slack_open:
        unfinished.append(f"{len(slack_open):,} handoffs with Slack items not delivered yet "
                          f"({sum(1 for s in slack_open if s.hid not in cards):,} of them without a card yet)")
    # 4. HubSpot: one ticket creation per handoff, at the stage of the final state (once delivered).
    tickets = hs.get("created_tickets", {})
    hs_open = [s for s in created if "hubspot" in pending.get(s.hid, ())]
    no_ticket = [s.hid for s in created if tickets.get(s.hid, 0) == 0 and "hubspot" not in pending.get(s.hid, ())]
    twice = {h: n for h, n in tickets.items() if n != 1}
    stages = hs.get("ticket_stages", {})
    want_stage = {"resolved": "4", "queued": "1"}
    wrong_stage = [s.hid for s in done if "hubspot" not in pending.get(s.hid, ())
                   and stages.get(s.hid) != [want_stage[s.expected()["status"]]]]
    if no_ticket:
        failures.append(f"{len(no_ticket)} handoffs without a HubSpot ticket and nothing left to deliver, e.g. "
                        f"{no_ticket[:3]}")
    if twice:
        failures.append(f"{len(twice)} HubSpot tickets created more than once, e.g. {list(twice.items())[:3]}")
    if wrong_stage:
        failures.append(f"{len(wrong_stage)} HubSpot tickets not at their final stage, e.g. "
                        f"{[(h, stages.get(h)) for h in wrong_stage[:3]]}")
    if hs.get("note_creations", {}).get("more_than_once"):
        failures.append(f"{hs['note_creations']['more_than_once']} HubSpot notes created more than once")
    if hs_open:
        unfinished.append(f"{len(hs_open):,} handoffs with HubSpot items not delivered yet")
    # 5. The outbox: nothing dead; what was not delivered within the drain timeout is said.
    open_, dead = r["undelivered"]
    if r["drained"] is None or open_:
        unfinished.append(f"{open_:,} outbox items created before the last request still undelivered "
                          f"{args.drain_timeout:,.0f} s after it")
    if dead:
        failures.append(f"{dead} dead outbox items")
    if stats.problems:
        failures.append(f"{len(stats.problems)} unexpected answers during the load, e.g. {stats.problems[:3]}")
    for i, code in enumerate(r["exit_codes"]):
        # uvicorn re-raises the SIGTERM it caught once it has shut down gracefully: serve exits with -15
        if code not in (0, -15):
            failures.append(f"process {i} exited with {code} on SIGTERM")
    for label, n in (("fake Slack block errors", slack.get("block_errors")),
                     ("fake Slack internal errors", slack.get("internal_errors")),
                     ("fake HubSpot server errors", hs.get("server_errors"))):
        if n:
            failures.append(f"{label}: {n}")

    # ------------------------------------------------------------------ figures
    mon: Monitor = r["monitor"]
    started = r["started"]
    intake_lat = stats.latency["intake"]
    intake_s = r["intake_done"] - started
    api_kinds = ("claim", "transfer", "escalate", "resolve")
    api_lat = [x for k in api_kinds for x in stats.latency[k]]
    api_n = sum(sum(stats.statuses[k].values()) for k in api_kinds)
    peak = {k: max((s[k] for s in mon.samples), default=0) for k in ("total", "active", "lock_waits",
                                                                        "lwlock_waits", "listen", "idle_in_tx",
                                                                        "oldest_tx")}
    oldest = [s["oldest_tx"] for s in mon.samples]
    lock_share = (sum(1 for s in mon.samples if s["lock_waits"]) / len(mon.samples)) if mon.samples else 0
    busy = {}
    for a, b in itertools.pairwise(list(mon.marks)):
        (b0, t0, i0), (b1, t1, i1) = mon.busy[a], mon.busy[b]
        wall = mon.marks[b] - mon.marks[a]
        per = {g: (mon.cpu[b].get(g, 0.0) - mon.cpu[a].get(g, 0.0)) / wall for g in mon.cpu[b]} if wall > 0 else {}
        if t1 > t0:
            per["kernel interrupts (softirq)"] = (i1 - i0) / (t1 - t0) * (os.cpu_count() or 1)
        busy[f"{a} to {b}"] = ((b1 - b0) / (t1 - t0) if t1 > t0 else 0.0, wall, per)
    drained = r["drained"]
    load_end = mon.marks["load done"] - started
    outbox_rows = db["outbox"]
    per_dest: dict[str, dict[str, Any]] = {}
    for row in outbox_rows:
        d = per_dest.setdefault(row["destination"], {"n": 0})
        d["n"] += row["n"]
        if row["status"] == "done":
            d.update(p50=row["p50"], p99=row["p99"], last=row["last_delivered"])
    lag = [slack["first_post"][s.hid] - s.created_at for s in created if s.hid in slack.get("first_post", {})]
    last_effect = {d: (v["last"].timestamp() - stats.last_request) for d, v in per_dest.items() if v.get("last")}
    mb = {g: v for g, v in r["hwm"].items()}

    print()
    print("## Checks")
    print()
    print(f"- final states as scripted: {len(done) - len(wrong):,} of {len(done):,} finished scripts "
          f"({len(created):,} handoffs created of {len(scripts):,})")
    print(f"- claim races: {sum(v for k, v in stats.races.items() if 'racers' in k):,} "
          f"({', '.join(f'{v:,} x {k}' for k, v in sorted(stats.races.items()) if 'racers' in k)}); "
          f"{stats.races['losers']:,} losing claims: "
          f"{stats.races['losers answered 409 already_claimed naming the holder']:,} API answers 409 already_claimed "
          f"naming the holder, {sum(observed.values()):,} Slack ephemerals 'Already claimed by <holder>' "
          f"(expected {sum(stats.expected_ephemerals.values()):,})")
    print(f"- Slack cards: {len(cards):,} handoffs with a card, {len(doubled)} posted twice in a channel, "
          f"{len(transcripts)} transcripts not exactly once, {len(stale)} final cards stale; "
          f"{slack.get('rate_limited', 0)} HTTP 429s; calls: "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(slack.get("methods", {}).items())))
    print(f"- HubSpot: {sum(1 for n in tickets.values() if n == 1):,} tickets created exactly once, {len(twice)} more "
          f"than once, {len(no_ticket)} never; {len(wrong_stage)} not at their final stage; "
          f"{hs.get('note_creations', {}).get('keys', 0):,} notes, {hs.get('calls', 0):,} API calls "
          f"({hs.get('calls', 0) / max(1, len(created)):.2f} per handoff)")
    print(f"- outbox: {open_} created before the last request undelivered, {dead} dead; after stopping: "
          + (", ".join(f"{x['n']} {x['status']} {x['destination']}/{x['kind']}" for x in db["late"]) or "nothing open"))
    print("- agent actions by surface: " + ", ".join(f"{k} {v:,}" for k, v in sorted(db["sources"].items())))
    print(f"- processes exited with {r['exit_codes']} on SIGTERM")
    print()
    print("## Figures")
    print()
    print("| figure | value |")
    print("|---|---|")
    print(f"| handoffs created (201) | {stats.statuses['intake'][201]:,} of {len(scripts):,}, over {args.processes} "
          f"processes ({args.intake_connections} connections) |")
    print(f"| intake rate | **{len(intake_lat) / intake_s:,.0f} handoffs/s** ({intake_s:,.0f} s for all, agents "
          f"acting meanwhile) |")
    print(f"| intake latency p50 / p99 | {_ms(intake_lat)} |")
    per_kind = ", ".join(f"{k} {sum(stats.statuses[k].values()):,}" for k in api_kinds)
    print(f"| agent actions through the API | {api_n:,} requests ({per_kind}); p50 / p99 {_ms(api_lat)} |")
    print(f"| … claims only (winners and 409s) | p50 / p99 {_ms(stats.latency['claim'])} |")
    print(f"| Slack interactions (signed `/slack/events`) | {len(stats.latency['slack_ack']):,} "
          f"(clicks and modal submissions); ack p50 / p99 {_ms(stats.latency['slack_ack'])} |")
    print(f"| load finished (last request) | {load_end:,.0f} s after the first intake |")
    if drained is not None:
        print(f"| every side effect delivered | **{drained:,.0f} s after the last request** "
              f"({load_end + drained:,.0f} s after the first intake) |")
    else:
        print(f"| every side effect delivered | **not within {args.drain_timeout:,.0f} s**: {open_:,} items open |")
    for dest, v in sorted(per_dest.items()):
        extra = f"; last one {last_effect[dest]:+,.0f} s from the last request" if dest in last_effect else ""
        if v.get("p50") is not None:
            print(f"| outbox `{dest}` | {v['n']:,} items; created → delivered p50 {v['p50']:,.1f} s, "
                  f"p99 {v['p99']:,.1f} s{extra} |")
    if lag:
        print(f"| intake → Slack card posted | p50 {_pct(lag, 50):,.0f} s, p99 {_pct(lag, 99):,.0f} s, "
              f"max {max(lag):,.0f} s |")
    print(f"| peak RSS per Baton process | {' / '.join(f'{v:,.0f} MB' for v in mb.values())} |")
    print(f"| PostgreSQL connections (peak) | {peak['total']} ({peak['active']} active at once; "
          f"{peak['listen']} LISTEN) — max_connections {db['db']['max_connections']} |")
    print(f"| lock waits (samples every 0.5 s) | peak {peak['lock_waits']} backends waiting on a lock, "
          f"{lock_share:.0%} of samples with any; LWLock peak {peak['lwlock_waits']} |")
    print(f"| open transactions | peak {peak['idle_in_tx']} idle in transaction at once; oldest open transaction "
          f"per sample: median {_pct(oldest, 50):.2f} s, p99 {_pct(oldest, 99):.1f} s, max {peak['oldest_tx']:.1f} s |")
    print(f"| transactions | {db['db']['xact_commit']:,} commits, {db['db']['xact_rollback']:,} rollbacks, "
          f"{db['db']['deadlocks']} deadlocks; database {db['db']['size'] / 2**20:,.0f} MB |")
    cores = os.cpu_count() or 1
    for phase, (share, wall, per) in busy.items():
        baton = sum(v for g, v in per.items() if g.startswith(("serve", "worker")))
        mine = sum(v for g, v in per.items() if g != "postgres (other databases)")
        parts = [f"Baton processes {baton:.2f}", *(f"{g} {v:.2f}" for g, v in sorted(per.items(), key=lambda kv: -kv[1])
                                                  if not g.startswith(("serve", "worker")) and v >= 0.005)]
        print(f"| CPU, {phase} ({wall:,.0f} s) | machine {share:.0%} busy ({share * cores:.2f} of {cores} cores): "
              f"{', '.join(parts)}; everything else on the machine {max(0.0, share * cores - mine):.2f} |")
    if mon.waiting:
        print()
        print("What waited on a lock (backends x samples):")
        for what, n in mon.waiting.most_common(8):
            print(f"  {n:6d}  {what}")
    print()
    print("Per process (its own /metrics counters):")
    for i, m in enumerate(r["metrics"]):
        created_n = sum(v for k, v in m.items() if k.startswith("intakes_total") and 'result="created"' in k)
        delivered = {re.search(r'destination="([^"]+)"', k).group(1): v  # type: ignore[union-attr]
                     for k, v in m.items() if k.startswith("outbox_deliveries_total") and 'result="delivered"' in k}
        print(f"  serve-{i}: {created_n:,.0f} intakes; delivered " + ", ".join(f"{d} {v:,.0f}"
                                                                         for d, v in sorted(delivered.items())))
    if mon.oldest:
        print("Oldest open transaction when older than 5 s (its state and last statement, samples):")
        for what, n in mon.oldest.most_common(6):
            print(f"  {n:6d}  {what}")
    if db["released"]:
        print("Outbox items leased more than once without a recorded failure (a lease that ran out while its "
              "dispatcher was still delivering, or a shutdown handing items back): "
              + ", ".join(f"{x['destination']} {x['n']:,}" for x in db["released"]))
    if db["errors"]:
        print("Outbox items that were retried or postponed at least once (last error):")
        for e in db["errors"]:
            print(f"  {e['n']:6d} {e['destination']:<15} {e['error']}  (attempts counted: {e['attempts']})")
    print(f"HubSpot answers: {hs.get('statuses')}; calls by endpoint: "
          + ", ".join(f"{k} {v}" for k, v in sorted(hs.get("endpoints", {}).items(), key=lambda kv: -kv[1])[:8]))
    print("Rows: " + ", ".join(f"{k} {v:,}" for k, v in sorted(db["rows"].items()) if v))
    print(f"Logs: {workdir}")
    print()
    (workdir / "fakes.json").write_text(json.dumps({"slack": slack, "hubspot": hs}, default=str))
    if unfinished:
        print("## NOT FINISHED within the limits")
        for f in unfinished:
            print(f"- {f}")
        print()
    (workdir / "problems.txt").write_text("\n".join([*failures, "", *unfinished, "", *stats.problems, "", *wrong]))
    if failures:
        print("## FAILED CHECKS")
        for f in failures:
            print(f"- {f}")
        return 1
    print("Every check passed" + (" for what finished." if unfinished else "."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
