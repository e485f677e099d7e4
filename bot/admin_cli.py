"""Admin commands of ``python3 app.py``: ``keys create|list|revoke``, ``purge --older-than 90d`` and
``report daily|weekly [--days-ago N] [--post] [--json]``."""

from __future__ import annotations

import argparse
from typing import Any

from handoff.auth import Scope
from handoff.errors import DomainError
from handoff.services.keys import ApiKeys
from handoff.services.retention import Retention, parse_age


def add_parsers(sub: Any) -> None:
    """Add the ``keys`` and ``purge`` sub-commands to ``app.py``'s parser."""
    k = sub.add_parser("keys", help="create, list or revoke API keys (stored hashed, scoped)")
    k.add_argument("action", choices=["create", "list", "revoke"])
    k.add_argument("id", nargs="?", help="the key id to revoke (from `keys list`)")
    k.add_argument("--scope", choices=[s.value for s in Scope], help="intake | agent | admin (create)")
    k.add_argument("--name", help="what the key is for, e.g. widget (create)")
    p = sub.add_parser("purge", help="remove personal data of handoffs that ended before a cutoff")
    p.add_argument("--older-than", required=True, help="e.g. 90d, 12w, 36h")
    r = sub.add_parser("report", help="print the daily operations report or the weekly trend (--post: to chat)")
    r.add_argument("kind", choices=["daily", "weekly"])
    r.add_argument("--days-ago", type=int, default=1,
                   help="daily: the day reported (1 = yesterday, 0 = today so far); weekly: its last day (1)")
    r.add_argument("--json", action="store_true", help="print the facts as JSON instead of text")
    r.add_argument("--post", action="store_true",
                   help="also queue it for the analytics.reports Slack/Teams channels (the dispatcher sends it)")


def check_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.command == "keys" and args.action == "create" and not args.scope:
        p.error("keys create needs --scope intake|agent|admin")
    if args.command == "keys" and args.action == "revoke" and not args.id:
        p.error("keys revoke needs a key ID (see `keys list`)")


def _when(v: Any) -> str:
    return v.strftime("%Y-%m-%d %H:%M") if v else "-"


async def keys(args: argparse.Namespace, rt: Any) -> int:
    """``keys create`` prints the key once; ``keys list`` shows no secret; ``keys revoke ID``."""
    svc = ApiKeys(rt.deps)
    try:
        if args.action == "create":
            made = await svc.create(args.scope, args.name)
            named = f", {made.key.name}" if made.key.name else ""
            print(f"created {made.key.id} (scope {made.key.scope.value}{named})")
            print(f"key: {made.secret}")
            print("This is the only time the key is shown; Baton stores only its hash.")
            return 0
        if args.action == "revoke":
            k = await svc.revoke(args.id)
            print(f"revoked {k.id} ({k.prefix}…, scope {k.scope.value}); it stops working within 10 seconds")
            return 0
    except DomainError as exc:
        print(f"baton: {exc.message}")
        return 1
    listed = await svc.list()
    if not listed:
        print("no stored API keys (BATON_API_KEYS keys, if set, are admin keys and not listed)")
    for k in listed:
        state = f"revoked {_when(k.revoked_at)}" if k.revoked_at else "active"
        print(f"{k.id:<30} {k.prefix + '…':<13} {k.scope.value:<7} {k.name or '-':<20} created {_when(k.created_at)}"
              f"  last used {_when(k.last_used_at)}  {state}")
    return 0


async def purge(args: argparse.Namespace, rt: Any) -> int:
    """Purge and print what changed."""
    try:
        age = parse_age(args.older_than)
    except DomainError as exc:
        print(f"baton: {exc.message}")
        return 2
    report = await Retention(rt.deps).purge(age)
    cutoff = rt.deps.now() - age
    print(f"purged personal data of handoffs that ended before {cutoff:%Y-%m-%d %H:%M} UTC:")
    for name, n in report.as_dict().items():
        print(f"  {name.replace('_', ' '):<14} {n}")
    return 0


async def report(args: argparse.Namespace, rt: Any) -> int:
    """Print a report (the same facts and template the scheduled post uses); ``--post`` queues it for chat."""
    import json
    import sys

    from templates import Renderer

    days = max(0, min(args.days_ago, 3650))
    facts = await (rt.reports.daily(-days) if args.kind == "daily" else rt.reports.weekly(1 - days))
    print(json.dumps(facts, indent=2) if args.json else Renderer().report(facts))
    if args.post:
        if not rt.reports.targets:
            print("baton: no report channel: set analytics.reports.slack_channel / teams_channel in BATON_CONFIG "
                  "(and configure that surface)", file=sys.stderr)
            return 1
        key = f"report:{args.kind}:manual:{rt.deps.now().isoformat()}"
        n = await rt.reports.post(facts, key)
        print(f"queued for {n} channel(s): {', '.join(f'{d} {c}' for d, c in rt.reports.targets)}", file=sys.stderr)
    return 0
