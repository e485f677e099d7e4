"""The vendor fakes of ``bench/scaleout.py``, each in its own process (its own CPU and GIL, away from the load).

* :func:`slack_child` — ``tests.fakes.slack_api.FakeSlack`` (rate limiting off: Baton paces itself) plus a small
  JSON control server the bench asks, during the run, for a handoff's current card (to click its buttons as an
  agent would) and for the modal a click opened; at the end, a summary from the fake's own call log.
* :func:`hubspot_child` — ``tests.fakes.hubspot_api.FakeHubSpot`` with a share of the customers known as
  contacts (for enrichment); at the end, a summary from its call log and store.

Both talk to the parent over a ``multiprocessing`` pipe: they send where they listen, wait for ``"stop"``,
send the summary and exit. Nothing here asserts; the bench compares.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TRANSCRIPT_PREFIX = "Transcript ("
CLAIMED_BY = re.compile(r"Already claimed by (<@[A-Z0-9]+>)")


def _card_handoff(blocks: list[Any]) -> str | None:
    from tests.slack.harness import card_handoff

    return card_handoff({"blocks": blocks})


def _text(message: dict[str, Any]) -> str:
    from tests.slack.harness import card_text

    return card_text(message)


class SlackIndex:
    """What the bench asks the fake Slack, read from the fake's own call log (incrementally) and messages."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.lock = threading.Lock()
        self.seen = 0
        self.cards: dict[str, list[tuple[str, str]]] = defaultdict(list)  # handoff → top-level card posts
        self.roots: dict[tuple[str, str], str] = {}  # (channel, card ts) → handoff
        self.transcripts: Counter[tuple[str, str]] = Counter()  # (channel, card ts) → transcript posts
        self.thread_posts: Counter[tuple[str, str]] = Counter()
        self.views: dict[str, dict[str, Any]] = {}  # trigger id → the view views.open answered with
        self.first_post: dict[str, float] = {}  # handoff → when its first card was posted (wall clock)

    def refresh(self) -> None:
        calls = self.fake.calls
        for call in calls[self.seen:]:
            if not call.ok:
                continue
            if call.method == "chat.postMessage":
                channel, ts = str(call.args.get("channel")), str(call.response.get("ts"))
                thread = call.args.get("thread_ts")
                if thread:
                    self.thread_posts[(channel, str(thread))] += 1
                    if str(call.args.get("text") or "").startswith(TRANSCRIPT_PREFIX):
                        self.transcripts[(channel, str(thread))] += 1
                    continue
                hid = _card_handoff(call.args.get("blocks") or [])
                if hid:
                    self.cards[hid].append((channel, ts))
                    self.roots[(channel, ts)] = hid
                    self.first_post.setdefault(hid, call.time)
            elif call.method == "views.open" and call.args.get("trigger_id"):
                self.views[str(call.args["trigger_id"])] = call.response.get("view") or {}
        self.seen = len(calls)

    def ready(self, wants: list[dict[str, Any]]) -> dict[str, Any]:
        """For each ``{"h", "action", "channel"?, "text"?}``: the handoff's current card if it has the button
        ``action`` (and is in ``channel``, and shows ``text``), else nothing."""
        with self.lock:
            self.refresh()
            out: dict[str, Any] = {}
            for want in wants:
                posts = self.cards.get(want["h"])
                if not posts:
                    continue
                channel, ts = posts[-1]
                if want.get("channel") and want["channel"] != channel:
                    continue
                message = self.fake.message(channel, ts)
                if message is None:
                    continue
                actions = {el.get("action_id") for b in message.get("blocks") or [] for el in b.get("elements") or []
                           if isinstance(el, dict)}
                if want["action"] not in actions:
                    continue
                if want.get("text") and want["text"] not in _text(message):
                    continue
                out[want["h"]] = {"channel": channel, "ts": ts, "message": message}
            return out

    def claimed_notices(self) -> dict[str, int]:
        """"Already claimed by <@holder>" ephemerals so far, by ``channel|user|<@holder>``."""
        with self.lock:
            seen: Counter[str] = Counter()
            for e in self.fake.ephemerals:
                m = CLAIMED_BY.search(str(e.get("text") or ""))
                if m:
                    seen[f"{e['channel']}|{e['user']}|{m.group(1)}"] += 1
            return dict(seen)

    def view(self, trigger: str) -> dict[str, Any] | None:
        with self.lock:
            self.refresh()
            return self.views.get(trigger)

    def summary(self) -> dict[str, Any]:
        with self.lock:
            self.refresh()
            calls = self.fake.calls
            methods = Counter(f"{c.method} {'ok' if c.ok else c.error}" for c in calls)
            per_handoff: dict[str, Any] = {}
            for hid, posts in self.cards.items():
                channel, ts = posts[-1]
                final = self.fake.message(channel, ts) or {}
                per_handoff[hid] = {
                    "posts": dict(Counter(ch for ch, _ in posts)),
                    "transcripts": [self.transcripts.get(p, 0) for p in posts],
                    "channel": channel,
                    "final_text": _text(final)[:2000],
                }
            ephemerals = [{"channel": e["channel"], "user": e["user"], "text": e["text"]}
                          for e in self.fake.ephemerals]
            return {"methods": dict(methods), "handoffs": per_handoff, "ephemerals": ephemerals,
                    "block_errors": len(self.fake.block_errors), "internal_errors": len(self.fake.internal_errors),
                    "rate_limited": self.fake.rate_limited_count, "calls": len(calls),
                    "first_post": dict(self.first_post),
                    "last_call": max((c.time for c in calls), default=0.0)}


def _control_server(index: SlackIndex) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, status: int, body: Any) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if urlsplit(self.path).path == "/cards":
                self._answer(200, index.ready(json.loads(raw or b"[]")))
            else:
                self._answer(404, {})

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/claimed":
                self._answer(200, index.claimed_notices())
            elif url.path == "/view":
                view = index.view(parse_qs(url.query).get("trigger", [""])[0])
                self._answer(200 if view is not None else 404, view or {})
            else:
                self._answer(404, {})

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def slack_child(conn: Any, channels: dict[str, str], users: list[str]) -> None:
    """FakeSlack with ``channels`` (name → id) and ``users`` (ids, members of every channel)."""
    from tests.fakes.slack_api import FakeSlack

    with FakeSlack(rate_limiting=False) as fake:
        for name, cid in channels.items():
            fake.add_channel(name, id=cid)
        for uid in users:
            fake.add_user(uid.lower(), id=uid, channels=tuple(channels.values()))
        index = SlackIndex(fake)
        control = _control_server(index)
        conn.send({"base_url": fake.base_url, "token": fake.token, "secret": fake.signing_secret,
                   "control": control.server_address[1]})
        conn.recv()
        conn.send(index.summary())
        control.shutdown()


def hubspot_child(conn: Any, emails: list[str]) -> None:
    """FakeHubSpot knowing ``emails`` as contacts, each with a company (enrichment finds them)."""
    from tests.fakes.hubspot_api import FakeHubSpot

    with FakeHubSpot(validate_responses=False) as hs:
        for i, email in enumerate(emails):
            hs.add_company(f"Account {i}", properties={"annualrevenue": str(1000 * (i % 50))})
            hs.add_contact(email, "Customer", str(i), company=f"Account {i}")
        seeded = len(hs.calls)
        conn.send({"base_url": hs.base_url, "token": hs.access_token})
        conn.recv()
        conn.send(_hubspot_summary(hs, seeded))


def _hubspot_summary(hs: Any, seeded: int) -> dict[str, Any]:
    """Ticket and note creations per Baton key, from the fake's call log; final ticket stages, from its store."""
    created_tickets: Counter[str] = Counter()
    created_notes: Counter[str] = Counter()
    endpoints: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    for call in hs.calls[seeded:]:
        path = call.path
        parts = path.split("/")
        kind = parts[4] if len(parts) > 4 else ""
        endpoints[f"{call.method} {'/'.join(p if not p.isdigit() else '{id}' for p in parts)}"] += 1
        statuses[call.status] += 1
        if call.method != "POST" or call.status >= 300 or not isinstance(call.response, dict):
            continue
        results = call.response.get("results")
        if results is None and path.rstrip("/") in ("/crm/v3/objects/tickets", "/crm/v3/objects/notes"):
            results = [{**call.response, "new": True}]  # a single create
        for r in results or []:
            is_new = r.get("new", path.endswith("/batch/create"))
            if not is_new:
                continue
            props = r.get("properties") or {}
            if kind == "tickets" and props.get("baton_handoff_id"):
                created_tickets[props["baton_handoff_id"]] += 1
            elif kind == "notes" and props.get("baton_event_key"):
                created_notes[props["baton_event_key"]] += 1
    tickets: dict[str, list[str]] = defaultdict(list)
    for t in hs.tickets.values():
        hid = t.properties.get("baton_handoff_id")
        if hid:
            tickets[hid].append(str(t.properties.get("hs_pipeline_stage")))
    notes_per_handoff: Counter[str] = Counter(
        n.properties["baton_event_key"].split(":", 1)[0] for n in hs.notes.values()
        if n.properties.get("baton_event_key"))
    return {"created_tickets": dict(created_tickets), "ticket_stages": dict(tickets),
            "note_creations": {"keys": len(created_notes), "more_than_once": sum(1 for v in created_notes.values()
                                                                               if v > 1)},
            "notes_per_handoff": dict(notes_per_handoff), "endpoints": dict(endpoints),
            "statuses": {str(k): v for k, v in statuses.items()}, "calls": len(hs.calls) - seeded,
            "server_errors": len(hs.server_errors), "contract_violations": len(hs.contract_violations)}
