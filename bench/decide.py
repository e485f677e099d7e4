"""Decision time of the escalation rules for a 50-turn conversation.

Run from the repository root::

    .venv/bin/python bench/decide.py [--iterations N]

Prints p50/p99 per decision and decisions per second (one core, the default rules, six agents to rank).
Asserts nothing about time: the target (p99 <= 2 ms) is read by a person, not enforced by CI.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handoff.contract import ConversationIn
from handoff.decide import AgentSnapshot, DecisionContext, RuleEngine, Rules, default_rules_path
from handoff.decide.analysis import clear_prepared
from handoff.decide.intent import fold
from handoff.models import Agent, AgentStatus, Tier

CUSTOMER = [
    "Hi, the chat widget stopped showing on our checkout page after we updated WordPress to 6.4",
    "We use WooCommerce with a custom theme, and the console shows the script is blocked",
    "I already cleared the cache and disabled the optimisation plugin, same thing",
    "Here is what the console says: `Refused to load the script because it violates the CSP`",
    "We added your domain to the allowlist last week though. Is there another header?",
    "Our hosting is on Cloudflare, could that be rewriting the headers?",
    "OK I turned off Rocket Loader, still nothing on mobile Safari",
    "On desktop Chrome it shows for a second and then disappears",
    "Is this related to the update you shipped on Tuesday? A colleague saw a banner about it",
    "We get about 400 chats a day from that page so it matters quite a bit for us",
    "I'm not angry, just need to know whether to roll back the update or wait for a fix",
    "Can you check whether our embed code is the current version? It was copied in March",
    "The snippet starts with window.batonSettings and has our workspace id in it",
    "Yes the workspace id matches what I see in the dashboard",
    "Sorry, what do you mean by the loader version? I don't see that anywhere",
    "Found it, it says loader v2. Should it be v3?",
    "Updated it to v3 and the widget shows on desktop now, but mobile still fails",
    "On mobile it throws an error in the remote inspector, something about a null element",
    "We have a sticky footer that might cover it, but it was fine before",
    "Tried moving the launcher to the left side, no change",
    "Is there a setting to delay loading until the page is interactive?",
    "That sounds promising, where is that option exactly?",
    "I don't see a Performance tab, maybe because we're on the Professional plan?",
    "Our launch is tomorrow morning so I'd really like this sorted today if possible",
    "This is taking a while, can you loop in someone from engineering?",
]
AI = [
    "Thanks for the details. After WordPress updates, caching plugins often serve an old copy of the widget script.",
    "A blocked script usually means a Content Security Policy header. Could you share the console message?",
    "Understood. Let's check the CSP header next: it needs to allow scripts from our CDN domain.",
    "That message confirms a CSP block. Your policy needs script-src to include our CDN.",
    "The allowlist in our dashboard is separate from your site's own headers; both need the domain.",
    "Cloudflare can add or modify headers through Transform Rules; it is worth checking there.",
    "Rocket Loader can defer our script. Since that did not help, let's look at mobile Safari specifically.",
    "A widget that flashes and disappears is often removed by a theme script that cleans the DOM.",
    "We did ship a loader update on Tuesday, but it is backwards compatible with existing embeds.",
    "I understand this page matters for you. Let's narrow it down quickly.",
    "No rollback should be needed. Let's confirm the embed code version first.",
    "The current embed starts with window.batonSettings and loads loader v3.",
    "Great. Please also confirm the workspace id matches your dashboard.",
    "Thanks. Next, let's check the loader version in the snippet.",
    "The loader version is in the script URL, for example /loader/v3.js.",
    "Yes, v3 is current. Please update the URL and reload the page.",
    "Good progress. For mobile, could you check the remote inspector for errors?",
    "I'm not sure what causes that null element error; it may be a theme conflict.",
    "A sticky footer can cover the launcher but would not usually remove it.",
    "Thanks for trying that. I don't have enough information to pinpoint the mobile issue yet.",
    "There is an option to load the widget after the page becomes interactive.",
    "It is under Widget > Performance > Load strategy in the dashboard.",
    "The Performance tab should be available on all plans; it may be under Advanced on older workspaces.",
    "I understand the deadline. Let me summarise what we have tried so far.",
    "Certainly. I'm handing this conversation to our technical team now.",
]


def conversation() -> ConversationIn:
    """A realistic 50-turn troubleshooting chat over ~25 minutes, with confidences and metadata."""
    start = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    transcript = []
    for i in range(25):
        transcript.append({"role": "customer", "text": CUSTOMER[i], "ts": (start + timedelta(minutes=i)).isoformat()})
        transcript.append(
            {
                "role": "ai",
                "text": AI[i],
                "ts": (start + timedelta(minutes=i, seconds=30)).isoformat(),
                "confidence": round(0.9 - 0.012 * i, 3),
            }
        )
    return ConversationIn.model_validate(
        {
            "conversation_id": "bench-50",
            "customer": {
                "name": "Sarah Chen",
                "email": "sarah@example.com",
                "plan": "professional",
                "locale": "en",
                "timezone": "America/New_York",
            },
            "transcript": transcript,
            "ai": {
                "summary": "Widget hidden on mobile Safari after WordPress update; CSP and loader checked.",
                "intent": None,
                "confidence": 0.61,
                "kb_hits": 4,
                "attempted_steps": ["cleared cache", "loader v3"],
            },
            "technical": {"browser": "Safari 17", "os": "iOS 17", "errors": ["TypeError: null is not an object"]},
        }
    )


def agents() -> list[AgentSnapshot]:
    """Six agents across queues, with load and performance."""
    specs = [
        ("a1", Tier.L2, ("technical", "wordpress", "api"), 1, 4.7, 45.0, 0.92),
        ("a2", Tier.L1, ("technical",), 2, 4.1, 120.0, 0.80),
        ("a3", Tier.L3, ("technical", "integrations"), 0, 4.9, 30.0, 0.95),
        ("a4", Tier.L1, ("billing",), 1, 4.4, 60.0, 0.88),
        ("a5", Tier.L2, ("accounts", "security"), 3, 4.6, 50.0, 0.90),
        ("a6", Tier.L1, ("general", "technical"), 0, 3.9, 200.0, 0.70),
    ]
    return [
        AgentSnapshot(
            Agent(
                aid,
                aid.upper(),
                tier=tier,
                skills=skills,
                capacity=4,
                status=AgentStatus.AVAILABLE,
                languages=("en",),
                timezone="America/New_York",
                working_hours="08:00-20:00",
            ),
            open_count=load,
            csat=csat,
            median_first_response_s=frt,
            resolution_rate=rate,
        )
        for aid, tier, skills, load, csat, frt, rate in specs
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--rules", default=str(default_rules_path()))
    parser.add_argument("--cold", action="store_true",
                        help="empty the per-message caches (prepared turns, folded text, model scores) before "
                             "every decision: a conversation seen for the first time (worst case)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    engine = RuleEngine(Rules.load(args.rules))
    load_ms = (time.perf_counter() - t0) * 1000
    conv = conversation()
    ctx = DecisionContext(now=datetime(2026, 11, 24, 15, 0, tzinfo=UTC), agents=agents())
    for _ in range(50):  # warm-up
        decision = engine.evaluate(conv, ctx)
    samples = []
    model = engine.model
    for _ in range(args.iterations):
        if args.cold:
            clear_prepared()  # every message prepared and folded again
            fold.cache_clear()
            if model is not None:
                model.clear_cache()
        start = time.perf_counter_ns()
        engine.evaluate(conv, ctx)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"command:      {sys.executable} {' '.join(sys.argv)}  (cwd {Path.cwd()})")
    print(
        f"machine:      {platform.processor() or platform.machine()}, os.cpu_count()={os.cpu_count()}, "
        f"Python {platform.python_version()}"
    )
    print(f"rules:        {args.rules} (version {engine.version}, loaded and compiled in {load_ms:.0f} ms)")
    if model is not None:
        t1 = time.perf_counter()
        type(model).load(engine.rules.intent_model_path() or "", fresh=True)
        print(f"intent model: version {model.version}, data {model.data_sha[:12]}, "
              f"{model.trained.get('features')} features, loaded in {(time.perf_counter() - t1) * 1000:.0f} ms; "
              f"caches {'emptied before each decision (--cold)' if args.cold else 'warm (earlier turns prepared)'}")
    print(f"conversation: {len(conv.transcript)} turns, {len(ctx.agents)} agents ranked")
    print(
        f"decision:     escalate={decision.escalate} urgency={decision.urgency.value} queue={decision.queue} "
        f"priority={decision.priority.value}"
    )
    print(f"              {decision.why}")
    print(f"iterations:   {args.iterations}")
    print(f"p50:          {p50:.3f} ms")
    print(f"p99:          {p99:.3f} ms   (target <= 2 ms)")
    print(f"max:          {samples[-1]:.3f} ms")
    print(f"throughput:   {1000 / statistics.fmean(samples):,.0f} decisions/s on one core")


if __name__ == "__main__":
    main()
