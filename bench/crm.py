"""CRM sync cost and lag: N handoff lifecycles mirrored into Salesforce and HubSpot at once (local fakes).

    .venv/bin/python bench/crm.py [--lifecycles 500] [--concurrent 50] [--customers 100] [--db URL]

Each lifecycle is: create, enrich, claim, transfer, claim, 3 customer + 3 agent messages, resolve, CSAT
(13 events, 12 timeline entries). ``--concurrent`` lifecycles advance one step per tick while the real
dispatcher runs in the background, so batches hold whatever piled up meanwhile, as in production.
Prints CRM API calls per lifecycle per CRM (the naive way — one lookup, then a call per event, plus
associations — is about 10-15) and the sync lag (outbox ``delivered_at - created_at``) p50/p99. The fakes
(``tests/fakes``) answer locally — FakeHubSpot over HTTP from a child process, FakeSalesforce in-process through
``responses`` — so lag is Baton's overhead plus the fakes' CPU, not network. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class _Call(NamedTuple):
    method: str
    path: str


def _hubspot_child(conn: Any, emails: list[str]) -> None:
    """FakeHubSpot in its own process, so its Python work does not share Baton's CPU and GIL."""
    from tests.fakes.hubspot_api import FakeHubSpot

    with FakeHubSpot(validate_responses=False) as hs:
        for i, email in enumerate(emails):
            hs.add_company(f"Account {i}", properties={"annualrevenue": str(1000 * i)})
            hs.add_contact(email, "Customer", str(i), company=f"Account {i}")
        conn.send((hs.base_url, hs.access_token))
        conn.recv()
        conn.send([(c.method, c.path) for c in hs.calls])


class _RemoteHubSpot:
    """The parent's handle on the child process's fake."""

    def __init__(self, emails: list[str]) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_hubspot_child, args=(child, emails), daemon=True)
        self._proc.start()
        self.base_url, self.access_token = self._conn.recv()
        self.calls: list[_Call] = []

    def finish(self) -> None:
        self._conn.send("stop")
        self.calls = [_Call(m, p) for m, p in self._conn.recv()]
        self._proc.join(timeout=10)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run(args: argparse.Namespace) -> None:
    from app import build, sync_agents
    from handoff.contract import HandoffIn
    from handoff.models import Surface
    from handoff.store.migrate import upgrade
    from integrations.hubspot.integration import hubspot_integration
    from integrations.salesforce.integration import salesforce_integration
    from settings import Settings
    from tests.fakes.salesforce_api import FakeSalesforce
    from tests.support.factories import intake_body

    tmp = tempfile.mkdtemp(prefix="baton-crm-bench-")
    url = args.db or f"sqlite:///{tmp}/bench.db"
    upgrade(url)
    emails = [f"customer{i}@bench.example" for i in range(args.customers)]
    hs = _RemoteHubSpot(emails if "hubspot" in args.crms else [])
    with FakeSalesforce() as sf:
        sf.set_picklist("Case", "Origin", ("Phone", "Email", "Web", "Chat"))
        for i, email in enumerate(emails):
            acct = sf.add_account(f"Account {i}", Type="Customer", AnnualRevenue=1000 * i)
            sf.add_contact(email, last_name=f"Customer {i}", account_id=acct)
        sf_seed = len(sf.calls)
        settings = Settings(DATABASE_URL=url, BATON_API_KEYS="bench-key-" + "x" * 20,  # type: ignore[call-arg]
                            SALESFORCE_INSTANCE_URL=sf.instance_url, SALESFORCE_ACCESS_TOKEN=sf.session_id,
                            HUBSPOT_ACCESS_TOKEN=hs.access_token, HUBSPOT_API_URL=hs.base_url)
        factories = {"salesforce": salesforce_integration, "hubspot": hubspot_integration}
        rt = build(settings, integrations=[factories[c] for c in args.crms], with_log=False)
        await sync_agents(rt)
        spent: dict[str, float] = {}
        for integ in rt.integrations:  # time spent inside CRM calls (the in-process fakes' share of the lag)
            gw = integ.extras["gateway"]

            def timed(fn: Any, _call: Any = gw.call, _name: str = integ.name) -> Any:
                t0 = time.perf_counter()
                try:
                    return _call(fn)
                finally:
                    spent[_name] = spent.get(_name, 0.0) + time.perf_counter() - t0

            gw.call = timed
        stop = asyncio.Event()
        runner = asyncio.create_task(rt.dispatcher.run(stop))

        from handoff.services.customer import CustomerSide
        from handoff.services.waits import WaitTimes

        customer_side = CustomerSide(rt.deps, WaitTimes(rt.deps), rt.conversation)

        def life(n: int) -> Any:
            body = intake_body(customer={"email": emails[n % len(emails)], "name": f"Customer {n}"})
            hid = (yield rt.intake.submit(HandoffIn.model_validate(body))).handoff.id
            a, c = rt.actions, rt.conversation
            yield a.claim(hid, "emma", Surface.SLACK)
            yield a.transfer(hid, "emma", Surface.SLACK, to_queue="billing", note="billing question")
            yield a.claim(hid, "liam", Surface.TEAMS)
            for i in range(3):
                yield c.customer_message(hid, f"customer line {i}")
                yield c.agent_reply(hid, "liam", f"agent line {i}", Surface.TEAMS)
            yield a.resolve(hid, "liam", Surface.TEAMS, note="done")
            yield customer_side.rate(hid, 4, None)

        started = time.perf_counter()
        waiting = list(range(args.lifecycles))
        active: list[tuple[Any, Any]] = []
        while waiting or active:
            while waiting and len(active) < args.concurrent:
                gen = life(waiting.pop(0))
                active.append((gen, None))
            nxt: list[tuple[Any, Any]] = []
            for gen, last in active:
                try:
                    coro = gen.send(last) if last is not None else next(gen)
                except StopIteration:
                    continue
                nxt.append((gen, await coro))
            active = nxt
            await asyncio.sleep(args.tick)
        produced = time.perf_counter() - started
        while True:  # let the dispatcher finish
            async with rt.deps.uow(read_only=True) as uow:
                counts = await uow.outbox.counts()
            if not counts.get("pending") and not counts.get("delivering"):
                break
            await asyncio.sleep(0.2)
        total = time.perf_counter() - started
        rt.dispatcher.stop_soon()
        stop.set()
        await runner
        async with rt.deps.uow(read_only=True) as uow:
            items = await uow.outbox.list(status="done", limit=10_000_000)
            dead = (await uow.outbox.counts()).get("dead", 0)
        await rt.engine.dispose()
    hs.finish()

    lags: dict[str, list[float]] = {}
    for item in items:
        if item.delivered_at is not None:
            lags.setdefault(item.destination, []).append((item.delivered_at - item.created_at).total_seconds())
    n = args.lifecycles
    print(f"$ .venv/bin/python bench/crm.py --lifecycles {n} --concurrent {args.concurrent} "
          f"--customers {args.customers} --crms {','.join(args.crms)}")
    print(f"os.cpu_count()={os.cpu_count()}, db={url.split(':')[0]}")
    print(f"{n} lifecycles x 13 events in {produced:.1f}s; all synced after {total:.1f}s; dead letters: {dead}")
    sf_calls, hs_calls = len(sf.calls) - sf_seed, len(hs.calls)
    print(f"Salesforce API calls: {sf_calls:6d}  = {sf_calls / n:.2f} per lifecycle (limit header last seen: "
          f"{sf.api_usage}/{sf.api_limit})")
    print(f"HubSpot API calls:    {hs_calls:6d}  = {hs_calls / n:.2f} per lifecycle")
    print("time inside CRM calls (FakeSalesforce answers in this process, FakeHubSpot in another): "
          + ", ".join(f"{k} {v:.1f}s" for k, v in sorted(spent.items())))
    print(f"dispatcher: {dict(rt.dispatcher.stats)}")
    if args.breakdown:
        from collections import Counter

        hs_paths = Counter(f"{c.method} {c.path}" for c in hs.calls)
        sf_paths = Counter(f"{c.method} {c.path.split('/services/data/')[-1][:40]}" for c in sf.calls[sf_seed:])
        for label, paths in (("Salesforce", sf_paths), ("HubSpot", hs_paths)):
            print(f"  {label} calls by endpoint:")
            for path, count in paths.most_common():
                print(f"    {count:6d}  {path}")
    print("sync lag behind the event (outbox created → delivered):")
    for dest in sorted(lags):
        values = lags[dest]
        print(f"  {dest:<18} p50 {_pct(values, 0.5) * 1000:8.0f} ms   p99 {_pct(values, 0.99) * 1000:8.0f} ms   "
              f"mean {statistics.fmean(values) * 1000:7.0f} ms   items {len(values)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lifecycles", type=int, default=500)
    p.add_argument("--concurrent", type=int, default=50, help="lifecycles in flight at once")
    p.add_argument("--customers", type=int, default=100)
    p.add_argument("--tick", type=float, default=0.05, help="seconds between steps of the lifecycles in flight")
    p.add_argument("--crms", type=lambda v: v.split(","), default=["salesforce", "hubspot"],
                   help="comma-separated: salesforce,hubspot (default both at once)")
    p.add_argument("--breakdown", action="store_true", help="print API calls per endpoint")
    p.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    asyncio.run(_run(p.parse_args()))


if __name__ == "__main__":
    main()
