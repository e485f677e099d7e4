"""Slack surface figures against the local fake Slack Web API (real uvicorn, dispatcher, slack_sdk, Bolt).

    .venv/bin/python bench/slack.py [--samples 100] [--spacing 0.5] [--burst 200] [--db sqlite|postgresql]

1. intake → ``chat.postMessage`` of the card: p50/p99 latency, one handoff at a time spread over five queue
   channels (each channel stays under Slack's ~1 message/s, so nothing is rate-limited).
2. a burst of N handoffs for one channel in a few seconds against the fake's 1 message/s/channel limit:
   time until every handoff is visible (its own card, or counted on the grouped card), 429s received.

Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench import chat_common  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.slack.harness import card_handoff, card_text, running_baton  # noqa: E402

QUEUES = {"technical": ("technical", "C0BENCHTEC1"), "billing": ("billing", "C0BENCHBIL1"),
          "accounts": ("account", "C0BENCHACC1"), "sales": ("sales", "C0BENCHSAL1"),
          "general": ("general", "C0BENCHGEN1")}


def config(tmp: Path, threshold: int) -> Path:
    return chat_common.config(tmp, threshold, "slack", QUEUES)


database = chat_common.database
pct = chat_common.pct


def card_times(fake: FakeSlack) -> dict[str, float]:
    """When the fake answered the first card post of each handoff (wall clock)."""
    out: dict[str, float] = {}
    for call in fake.calls_to("chat.postMessage", ok=True):
        if call.args.get("thread_ts"):
            continue
        hid = card_handoff({"blocks": call.args.get("blocks") or []})
        if hid and hid not in out:
            out[hid] = call.time
    return out


def latency(db: str, tmp: Path, samples: int, spacing: float) -> None:
    with FakeSlack(rate_limiting=False) as fake:
        for _, ch in QUEUES.values():
            fake.add_channel(ch.lower(), id=ch)
        with running_baton(db, tmp, fake, config=config(tmp, 1000)) as baton:
            sent: dict[str, float] = {}
            topics = [t for t, _ in QUEUES.values()]
            for i in range(samples + 5):
                t0 = time.time()
                hid = baton.intake(ai={"intent": topics[i % len(topics)]})
                if i >= 5:  # warm-up: first connections, first renders
                    sent[hid] = t0
                time.sleep(max(0.0, spacing - (time.time() - t0)))
            deadline = time.monotonic() + 30
            while len(set(card_times(fake)) & set(sent)) < len(sent) and time.monotonic() < deadline:
                time.sleep(0.05)
            posted = card_times(fake)
            lat = [(posted[h] - t0) * 1000 for h, t0 in sent.items() if h in posted]
    print(f"intake → chat.postMessage (card), {len(lat)}/{samples} handoffs, one every {spacing} s over "
          f"{len(QUEUES)} channels, not rate-limited:")
    print(f"  p50 {statistics.median(lat):.0f} ms   p90 {pct(lat, 90):.0f} ms   p99 {pct(lat, 99):.0f} ms   "
          f"max {max(lat):.0f} ms")


def burst(db: str, tmp: Path, n: int, threshold: int) -> None:
    with FakeSlack() as fake:
        channel = QUEUES["technical"][1]
        fake.add_channel("technical", id=channel)
        with running_baton(db, tmp, fake, config=config(tmp, threshold)) as baton:
            start = time.time()
            with ThreadPoolExecutor(16) as pool:
                ids = list(pool.map(lambda _: baton.intake(ai={"intent": "technical"}), range(n)))
            intake_done = time.time() - start
            visible_at = None
            while time.time() - start < 120:
                own, grouped = set(), 0
                for m in fake.messages(channel):
                    if card_handoff(m):
                        own.add(card_handoff(m))
                    found = re.search(r"(\d+) new .* escalations in", card_text(m))
                    grouped += int(found.group(1)) if found else 0
                if len(own & set(ids)) + grouped >= n:
                    visible_at = time.time() - start
                    break
                time.sleep(0.05)
            first = min(card_times(fake).values(), default=start) - start
    print(f"burst of {n} handoffs for one channel (fake: 1 msg/s/channel, burst 5; grouping above {threshold}/min):")
    print(f"  intake took {intake_done:.1f} s; first card after {first:.2f} s; all visible after "
          f"{visible_at if visible_at is None else round(visible_at, 1)} s "
          f"({len(own)} own cards + {grouped} on the grouped card); 429 responses: {fake.rate_limited_count}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--samples", type=int, default=100)
    p.add_argument("--spacing", type=float, default=0.5)
    p.add_argument("--burst", type=int, default=200)
    p.add_argument("--threshold", type=int, default=10)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = p.parse_args()
    with chat_common.scratch_databases(args.db), tempfile.TemporaryDirectory() as tmp:
        latency(database(args.db, Path(tmp)), Path(tmp), args.samples, args.spacing)
        burst(database(args.db, Path(tmp)), Path(tmp), args.burst, args.threshold)


if __name__ == "__main__":
    main()
