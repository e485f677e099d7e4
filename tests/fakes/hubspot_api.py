"""A fake HubSpot CRM API served over real HTTP on 127.0.0.1, for hubspot-api-client tests.

hubspot-api-client talks urllib3, which ``responses`` cannot intercept, so this fake is a stdlib
``ThreadingHTTPServer`` on an ephemeral port. Point the real client at it::

    with FakeHubSpot() as fake:
        client = hubspot.Client.create(access_token=fake.access_token, host=fake.base_url)
        fake.add_contact("ada@example.com", "Ada", "Lovelace")
        ...
        assert fake.tickets["1000000002"].properties["subject"] == "Refund"

Request bodies are validated against ``tests/conformance/hubspot/hubspot-crm-contract.schema.json``
and every body the fake returns is checked against the same contract (violations are answered as
500 and collected in ``fake.contract_violations``). Errors use HubSpot's JSON shape.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import hubspot_handlers_v4  # noqa: F401  (registers the v4/properties/pipelines routes)
from tests.fakes.hubspot_contract import HubSpotError, error_body, response_error
from tests.fakes.hubspot_handlers import Reply, Request, dispatch
from tests.fakes.hubspot_schema import ASSOCIATION_TYPES, normalize_type
from tests.fakes.hubspot_store import Association, CrmRecord, CrmStore

__all__ = ["Association", "CrmRecord", "FakeHubSpot", "HubSpotCall"]


@dataclass
class HubSpotCall:
    """One request the fake answered (``body`` is the parsed JSON request body, or None)."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int
    response: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Injection:
    path_prefix: str
    method: str | None
    status: int | None
    body: Any
    retry_after: float | None
    times: int
    commit: bool
    delay: float

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and (self.method is None or self.method == method)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeHubSpot


class _HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, headers, payload = self.server.fake._handle(self.command, self.path, dict(self.headers.items()), raw)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class FakeHubSpot:
    """In-memory HubSpot portal behind a local HTTP server; see the module docstring."""

    def __init__(self, access_token: str = "pat-na1-fake-0000", *, validate_responses: bool = True) -> None:
        self.access_token = access_token
        self.validate_responses = validate_responses
        self.daily_limit = 500_000
        self.daily_used = 0
        self.calls: list[HubSpotCall] = []
        self.contract_violations: list[str] = []
        self.server_errors: list[str] = []
        self._lock = threading.RLock()
        self._frozen_ms: int | None = None
        self._offset_ms = 0
        self.store = CrmStore(self.now_ms)
        self._injections: list[_Injection] = []
        self._outage_until: float | None = None
        self._per_second: int | None = None
        self._window: deque[float] = deque()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> FakeHubSpot:
        """Bind 127.0.0.1 on an ephemeral port and serve in a daemon thread."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", 0), _HttpHandler)
            self._server.fake = self
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-hubspot", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> FakeHubSpot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``; pass as ``host=`` to ``hubspot.Client.create``."""
        if self._server is None:
            raise RuntimeError("FakeHubSpot is not started; use it as a context manager or call start()")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def client(self, **kwargs: Any) -> Any:
        """A real ``hubspot.Client`` pointed at this fake (extra kwargs go to ``Client.create``)."""
        import hubspot

        return hubspot.Client.create(access_token=self.access_token, host=self.base_url, **kwargs)

    # -------------------------------------------------------------------- clock
    def now_ms(self) -> int:
        """The fake's clock in epoch milliseconds (real time unless frozen or advanced)."""
        if self._frozen_ms is not None:
            return self._frozen_ms
        return int(time.time() * 1000) + self._offset_ms

    def set_time(self, when: datetime | int) -> None:
        """Freeze the clock at ``when`` (aware datetime or epoch ms)."""
        self._frozen_ms = when if isinstance(when, int) else int(when.timestamp() * 1000)

    def advance(self, seconds: float) -> None:
        """Move the clock forward (works frozen or running)."""
        if self._frozen_ms is not None:
            self._frozen_ms += int(seconds * 1000)
        else:
            self._offset_ms += int(seconds * 1000)

    @property
    def search_index_delay(self) -> float:
        """Seconds before a new record shows up in search (HubSpot's index lag); 0 by default."""
        return self.store.search_delay_ms / 1000

    @search_index_delay.setter
    def search_index_delay(self, seconds: float) -> None:
        self.store.search_delay_ms = int(seconds * 1000)

    # -------------------------------------------------------------------- state
    def records(self, object_type: str) -> dict[str, CrmRecord]:
        """Live (non-archived) records of a type, by id."""
        object_type = normalize_type(object_type) or object_type
        return {i: r for i, r in self.store.records[object_type].items() if not r.archived}

    @property
    def contacts(self) -> dict[str, CrmRecord]:
        """Live contacts by id."""
        return self.records("contacts")

    @property
    def companies(self) -> dict[str, CrmRecord]:
        """Live companies by id."""
        return self.records("companies")

    @property
    def tickets(self) -> dict[str, CrmRecord]:
        """Live tickets by id."""
        return self.records("tickets")

    @property
    def notes(self) -> dict[str, CrmRecord]:
        """Live notes by id."""
        return self.records("notes")

    def associations(self, from_type: str, from_id: str, to_type: str | None = None) -> list[Association]:
        """Association edges from one record (both directions are stored, so either side works)."""
        to = normalize_type(to_type) if to_type else None
        return self.store.associations_of(normalize_type(from_type) or from_type, from_id, to)

    def associated_ids(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        """Distinct ids of records of ``to_type`` associated with a record."""
        return list(dict.fromkeys(a.to_id for a in self.associations(from_type, from_id, to_type)))

    def calls_count(self, method: str | None = None, path_prefix: str = "") -> int:
        """How many requests matched ``method`` (any if None) and a path prefix."""
        return sum(1 for c in self.calls if c.path.startswith(path_prefix) and (method is None or c.method == method))

    # ------------------------------------------------------------------ seeding
    def add_contact(
        self,
        email: str,
        firstname: str = "",
        lastname: str = "",
        *,
        company: str | None = None,
        properties: dict[str, str] | None = None,
    ) -> CrmRecord:
        """Seed a contact. ``company`` sets the ``company`` property and, when a company record with
        that name exists, associates it as the contact's primary company."""
        props = {"email": email, "firstname": firstname, "lastname": lastname, **(properties or {})}
        if company is not None:
            props["company"] = company
        with self._lock:
            record = self.store.create("contacts", {k: v for k, v in props.items() if v})
            target = self.store.find_by("companies", "name", company) if company else None
            if target is not None:
                self.link("contacts", record.id, "companies", target.id, primary=True)
            return record

    def add_company(
        self, name: str, domain: str | None = None, *, properties: dict[str, str] | None = None
    ) -> CrmRecord:
        """Seed a company."""
        props = {"name": name, **({"domain": domain} if domain else {}), **(properties or {})}
        with self._lock:
            return self.store.create("companies", props)

    def add_ticket(
        self,
        subject: str,
        *,
        stage: str = "1",
        pipeline: str = "0",
        properties: dict[str, str] | None = None,
        contact_id: str | None = None,
        at: datetime | None = None,
    ) -> CrmRecord:
        """Seed a ticket (optionally associated to a contact, optionally back-dated)."""
        props = {"subject": subject, "hs_pipeline": pipeline, "hs_pipeline_stage": stage, **(properties or {})}
        with self._lock:
            at_ms = None if at is None else int(at.timestamp() * 1000)
            record = self.store.create("tickets", props, at_ms=at_ms)
            if contact_id is not None:
                self.link("tickets", record.id, "contacts", contact_id)
            return record

    def add_property(
        self, object_type: str, name: str, *, type: str = "string", field_type: str = "text", unique: bool = False
    ) -> None:
        """Define a custom property (like ``POST /crm/v3/properties/{type}``)."""
        body = {"name": name, "label": name, "type": type, "fieldType": field_type, "groupName": "baton"}
        with self._lock:
            self.store.add_property(normalize_type(object_type) or object_type, {**body, "hasUniqueValue": unique})

    def define_association_label(
        self, from_type: str, to_type: str, label: str, inverse_label: str | None = None
    ) -> int:
        """Create a USER_DEFINED association label; returns its ``associationTypeId``."""
        with self._lock:
            return self.store.define_label(_norm(from_type), _norm(to_type), label, inverse_label)

    def link(self, from_type: str, from_id: str, to_type: str, to_id: str, *, primary: bool = False) -> None:
        """Associate two seeded records with the HUBSPOT_DEFINED (optionally primary) type."""
        src, dst = _norm(from_type), _norm(to_type)
        unlabeled, primary_id = ASSOCIATION_TYPES[(src, dst)]
        with self._lock:
            self.store.associate(src, from_id, dst, to_id, "HUBSPOT_DEFINED", unlabeled)
            if primary and primary_id is not None:
                self.store.associate(src, from_id, dst, to_id, "HUBSPOT_DEFINED", primary_id)

    def update_record(self, object_type: str, object_id: str, properties: dict[str, str]) -> CrmRecord:
        """Change a record as a HubSpot user would (bumps the last-modified date)."""
        with self._lock:
            return self.store.update(self.store.get(_norm(object_type), object_id), properties)

    def close_ticket(self, ticket_id: str, stage: str = "4") -> CrmRecord:
        """Move a ticket to a closed stage (``4`` in the default pipeline), as an agent would."""
        return self.update_record("tickets", ticket_id, {"hs_pipeline_stage": stage})

    # -------------------------------------------------------- failure injection
    def fail_next(
        self,
        path_prefix: str,
        status: int,
        body: Any = None,
        retry_after: float | None = None,
        *,
        method: str | None = None,
        times: int = 1,
        commit: bool = False,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status``. With ``commit=True`` the request
        is processed first (state changes) and only the answer is replaced, like a lost response."""
        with self._lock:
            self._injections.append(_Injection(path_prefix, method, status, body, retry_after, times, commit, 0.0))

    def slow_next(self, path_prefix: str, seconds: float, *, method: str | None = None, times: int = 1) -> None:
        """Delay the next matching requests by ``seconds`` before answering normally."""
        with self._lock:
            self._injections.append(_Injection(path_prefix, method, None, None, None, times, False, seconds))

    def outage(self, seconds: float | None = None) -> None:
        """Answer every request with 503 for ``seconds`` (or until :meth:`end_outage`)."""
        self._outage_until = float("inf") if seconds is None else time.monotonic() + seconds

    def end_outage(self) -> None:
        """End an outage started with :meth:`outage`."""
        self._outage_until = None

    def rate_limit(self, n_per_second: int | None) -> None:
        """Allow at most ``n_per_second`` requests per rolling second (429 beyond); None disables."""
        with self._lock:
            self._per_second = n_per_second
            self._window.clear()

    def exhaust_daily_limit(self) -> None:
        """Use up the daily allowance; every later request gets 429 with policy DAILY."""
        self.daily_used = self.daily_limit

    # ----------------------------------------------------------------- serving
    def _limit_headers(self) -> dict[str, str]:
        secondly = self._per_second or 19
        used_now = len(self._window)
        return {
            "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(self.daily_limit - self.daily_used, 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": "1000" if self._per_second else "10000",
            "X-HubSpot-RateLimit-Max": str(secondly if self._per_second else 190),
            "X-HubSpot-RateLimit-Remaining": str(max(secondly - used_now, 0)),
            "X-HubSpot-RateLimit-Secondly": str(secondly),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(max(secondly - used_now, 0)),
        }

    def _take_injection(self, method: str, path: str, *, delays: bool) -> _Injection | None:
        for inj in self._injections:
            if inj.matches(method, path) and (inj.status is None) == delays:
                inj.times -= 1
                if inj.times <= 0:
                    self._injections.remove(inj)
                return inj
        return None

    def _guard(self, method: str, path: str, headers: dict[str, str]) -> Reply | None:
        """Outage, auth and rate limits, checked before the endpoint runs."""
        if self._outage_until is not None:
            if time.monotonic() < self._outage_until:
                return Reply(503, error_body("Service Unavailable", "SERVICE_UNAVAILABLE"))
            self._outage_until = None
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if auth != f"Bearer {self.access_token}":
            message = (
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
                "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
            )
            return Reply(401, error_body(message, "INVALID_AUTHENTICATION"))
        if self.daily_used >= self.daily_limit:
            extra = {"errorType": "RATE_LIMIT", "policyName": "DAILY"}
            return Reply(429, error_body("You have reached your daily limit.", "RATE_LIMITS", extra=extra))
        now = time.monotonic()
        while self._window and now - self._window[0] >= 1.0:
            self._window.popleft()
        if self._per_second is not None and len(self._window) >= self._per_second:
            wait = max(1, round(1.0 - (now - self._window[0])))
            extra = {"errorType": "RATE_LIMIT", "policyName": "SECONDLY"}
            body = error_body("You have reached your secondly limit.", "RATE_LIMITS", extra=extra)
            return Reply(429, body, headers={"Retry-After": str(wait)})
        self._window.append(now)
        self.daily_used += 1
        return None

    def _injected(self, inj: _Injection) -> Reply:
        status = inj.status or 500
        body = inj.body if inj.body is not None else HubSpotError(status, f"Injected failure ({status})").body()
        headers = {} if inj.retry_after is None else {"Retry-After": str(inj.retry_after).removesuffix(".0")}
        return Reply(status, body, headers=headers)

    def _run(self, request: Request) -> Reply:
        try:
            reply = dispatch(request)
        except HubSpotError as exc:
            return Reply(exc.status, exc.body(), "Error", exc.headers)
        if self.validate_responses and reply.schema and reply.body is not None:
            problem = response_error(reply.schema, reply.body)
            if problem:
                message = f"fake HubSpot reply for {request.method} {request.path} violates {reply.schema}: {problem}"
                self.contract_violations.append(message)
                return Reply(500, error_body(message, "INTERNAL_ERROR"))
        return reply

    def _respond(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], raw: bytes
    ) -> Reply:
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError as exc:
                return Reply(400, error_body(f"Invalid input JSON: {exc}", "VALIDATION_ERROR"))
        guarded = self._guard(method, path, headers)
        if guarded is not None:
            return guarded
        inj = self._take_injection(method, path, delays=False)
        if inj is not None and not inj.commit:
            return self._injected(inj)
        reply = self._run(Request(method, path, query, body, self.store))
        return self._injected(inj) if inj is not None else reply

    def _handle(
        self, method: str, raw_path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Entry point from the HTTP thread: returns (status, headers, payload)."""
        split = urlsplit(raw_path)
        query = parse_qs(split.query, keep_blank_values=True)
        with self._lock:
            slow = self._take_injection(method, split.path, delays=True)
        if slow is not None:
            time.sleep(slow.delay)
        with self._lock:
            try:
                reply = self._respond(method, split.path, query, headers, raw)
            except Exception:
                trace = traceback.format_exc()
                self.server_errors.append(trace)
                reply = Reply(500, error_body(f"fake HubSpot crashed: {trace.splitlines()[-1]}", "INTERNAL_ERROR"))
            try:
                parsed: Any = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode(errors="replace")
            self.calls.append(HubSpotCall(method, split.path, query, parsed, reply.status, reply.body, headers))
            out_headers = {**self._limit_headers(), **reply.headers}
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        if payload:
            out_headers["Content-Type"] = "application/json;charset=utf-8"
        return reply.status, out_headers, payload

    def iter_calls(self, method: str | None = None, path_prefix: str = "") -> Iterator[HubSpotCall]:
        """Calls filtered like :meth:`calls_count`."""
        return (c for c in self.calls if c.path.startswith(path_prefix) and (method is None or c.method == method))


def _norm(object_type: str) -> str:
    normalized = normalize_type(object_type)
    if normalized is None:
        raise ValueError(f"unknown HubSpot object type {object_type!r}")
    return normalized
