"""Teams surface figures against the local fake Bot Connector and Bot Framework login (real uvicorn, dispatcher,
Microsoft 365 Agents SDK, MSAL).

    .venv/bin/python bench/teams.py [--samples 100] [--spacing 0.5] [--burst 200] [--burst-seconds 2]
        [--db sqlite|postgresql]

1. intake → the card stored at the fake connector: p50/p90/p99/max latency, one handoff at a time spread over five
   queue channels (each channel far under Teams' 7 messages/s per conversation, so nothing is throttled).
2. a burst of N handoffs for one channel in about ``--burst-seconds`` against the fake's documented per-conversation
   limits (7 in 1 s, 8 in 2 s, 60 in 30 s, 1,800 an hour) and 30 requests/s per app: time to the first card, time
   until every handoff is visible (its own card, or counted on the grouped card), 429s the fake answered, own cards
   vs grouped, and how many sends/updates that cost.

Prints figures; asserts nothing about time. Every wait is bounded (``--timeout``); loopback only.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench import chat_common  # noqa: E402
from tests.fakes.bf_auth import FakeBotFrameworkAuth  # noqa: E402
from tests.fakes.botconnector import FakeBotConnector  # noqa: E402
from tests.teams.harness import TENANT, card_handoff, card_of, running_baton, shown  # noqa: E402

QUEUES = {"technical": ("technical", "19:bench-technical@thread.tacv2"),
          "billing": ("billing", "19:bench-billing@thread.tacv2"),
          "accounts": ("account", "19:bench-accounts@thread.tacv2"),
          "sales": ("sales", "19:bench-sales@thread.tacv2"),
          "general": ("general", "19:bench-general@thread.tacv2")}
GROUPED = re.compile(r"(\d+) new .* escalations in")


def config(tmp: Path, threshold: int) -> Path:
    return chat_common.config(tmp, threshold, "teams", QUEUES)


database = chat_common.database
pct = chat_common.pct


@contextmanager
def fakes() -> Iterator[tuple[FakeBotFrameworkAuth, FakeBotConnector]]:
    """The fake login (MSAL trusts its certificate through ``REQUESTS_CA_BUNDLE``) and the fake connector."""
    with ExitStack() as stack:
        auth = stack.enter_context(FakeBotFrameworkAuth(tenant_id=TENANT))
        previous = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = auth.ca_file
        stack.callback(lambda: os.environ.pop("REQUESTS_CA_BUNDLE", None) if previous is None
                       else os.environ.__setitem__("REQUESTS_CA_BUNDLE", previous))
        connector = stack.enter_context(FakeBotConnector(token_verifier=auth.verify_bot_token))
        yield auth, connector
        problems = [*auth.internal_errors, *connector.internal_errors, *connector.schema_errors]
        if problems:
            print(f"  !! the fakes reported problems: {problems!r:.500}")


def card_times(connector: FakeBotConnector, channels: list[str]) -> dict[str, float]:
    """When the connector stored the top-level card of each handoff (wall clock)."""
    out: dict[str, float] = {}
    for channel in channels:
        for sent in connector.activities(channel):
            hid = card_handoff(card_of(sent)) if sent.reply_to_id is None else None
            if hid and hid not in out:
                out[hid] = sent.at
    return out


def wait_until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def latency(db: str, tmp: Path, samples: int, spacing: float, timeout: float) -> None:
    channels = [ch for _, ch in QUEUES.values()]
    with fakes() as (auth, connector), running_baton(db, tmp, auth, connector, config=config(tmp, 1000)) as baton:
        for ch in channels:
            baton.install(ch)
        sent: dict[str, float] = {}
        topics = [t for t, _ in QUEUES.values()]
        for i in range(samples + 5):
            t0 = time.time()
            hid = baton.intake(ai={"intent": topics[i % len(topics)]})
            if i >= 5:  # warm-up: the bot's token, first connections, first renders
                sent[hid] = t0
            time.sleep(max(0.0, spacing - (time.time() - t0)))
        wait_until(lambda: set(sent) <= set(card_times(connector, channels)), timeout)
        posted = card_times(connector, channels)
        lat = [(posted[h] - t0) * 1000 for h, t0 in sent.items() if h in posted]
        throttled = connector.throttled
    print(f"intake → card stored at the Bot Connector, {len(lat)}/{samples} handoffs, one every {spacing} s over "
          f"{len(QUEUES)} channels, not throttled ({throttled} 429s):")
    if lat:
        print(f"  p50 {statistics.median(lat):.0f} ms   p90 {pct(lat, 90):.0f} ms   p99 {pct(lat, 99):.0f} ms   "
              f"max {max(lat):.0f} ms")


def visible(connector: FakeBotConnector, channel: str, ids: set[str]) -> tuple[set[str], int, float]:
    """Own cards among ``ids``, the count on the grouped card(s), and when the newest of those was stored."""
    own: set[str] = set()
    grouped, last = 0, 0.0
    for sent in connector.activities(channel):
        if sent.reply_to_id is not None or sent.deleted:
            continue
        card = card_of(sent)
        hid = card_handoff(card)
        if hid in ids:
            own.add(hid)
            last = max(last, sent.at)
        elif found := GROUPED.search(shown(card)):
            grouped += int(found.group(1))
            last = max(last, sent.updated_at[-1] if sent.updated_at else sent.at)
    return own, grouped, last


def burst(db: str, tmp: Path, n: int, seconds: float, threshold: int, timeout: float) -> None:
    channel = QUEUES["technical"][1]
    with fakes() as (auth, connector), \
            running_baton(db, tmp, auth, connector, config=config(tmp, threshold)) as baton:
        baton.install(channel)
        before = len(connector.calls)
        start = time.time()

        def one(i: int) -> str:
            time.sleep(max(0.0, start + i * seconds / n - time.time()))
            return baton.intake(ai={"intent": "technical"})

        with ThreadPoolExecutor(16) as pool:
            ids = set(pool.map(one, range(n)))
        intake_done = time.time() - start
        done = wait_until(lambda: shown_count(connector, channel, ids) >= n, timeout)
        own, grouped, last = visible(connector, channel, ids)
        first = min(card_times(connector, [channel]).values(), default=start) - start
        # let the debounced grouped-card updates settle, to count what the burst cost in calls
        time.sleep(4.0)
        calls = connector.calls[before:]
    posts = [c for c in calls if c.operation in ("send", "reply") and c.status == 201]
    threaded = sum(1 for c in posts if c.activity_id or ";messageid=" in (c.conversation_id or ""))
    updates = sum(1 for c in calls if c.operation == "update" and c.status == 200)
    refused = sum(1 for c in calls if c.status == 429)
    seen = f"{last - start:.1f} s" if done else f"NOT within {timeout:.0f} s ({len(own) + grouped}/{n} visible)"
    print(f"burst of {n} handoffs for one channel in ~{seconds:g} s (fake: 7/1 s, 8/2 s, 60/30 s per conversation, "
          f"30/s per app; grouping above {threshold}/min):")
    print(f"  intake took {intake_done:.1f} s; first card after {first:.2f} s; all visible after {seen} "
          f"({len(own)} own cards + {grouped} on the grouped card)")
    print(f"  connector calls: {len(posts) - threaded} top-level posts, {threaded} into reply chains, {updates} "
          f"updates; 429 responses: {refused}")


def shown_count(connector: FakeBotConnector, channel: str, ids: set[str]) -> int:
    own, grouped, _ = visible(connector, channel, ids)
    return len(own) + grouped


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--samples", type=int, default=100)
    p.add_argument("--spacing", type=float, default=0.5)
    p.add_argument("--burst", type=int, default=200)
    p.add_argument("--burst-seconds", type=float, default=2.0)
    p.add_argument("--threshold", type=int, default=10)
    p.add_argument("--timeout", type=float, default=120.0, help="longest wait for cards to appear, per part")
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = p.parse_args()
    with chat_common.scratch_databases(args.db), tempfile.TemporaryDirectory() as tmp:
        latency(database(args.db, Path(tmp)), Path(tmp), args.samples, args.spacing, args.timeout)
        burst(database(args.db, Path(tmp)), Path(tmp), args.burst, args.burst_seconds, args.threshold,
              args.timeout)


if __name__ == "__main__":
    main()
