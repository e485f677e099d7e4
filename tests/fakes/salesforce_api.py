"""A fake Salesforce org behind ``responses`` callbacks, for simple-salesforce (which uses ``requests``).

::

    with FakeSalesforce() as fake:
        sf = Salesforce(instance_url=fake.instance_url, session_id=fake.session_id)
        contact_id = fake.add_contact("o'brien@x.com", last_name="O'Brien")
        sf.query(format_soql("SELECT Id FROM Contact WHERE Email = {}", "o'brien@x.com"))
        sf.Case.upsert(f"{fake.external_id_field}/h-1", {"Subject": "Refund"})
        assert fake.cases[...]["Subject"] == "Refund"

The fake owns a ``responses.RequestsMock`` (or registers on one you pass), answers the data API under
``{instance_url}/services/data/vXX.X/``, the SOAP and OAuth login endpoints on ``login``/``test`` and
the instance host, validates bodies against ``tests/conformance/salesforce/...contract.schema.json``
and checks its own answers against it (violations -> 500 + ``fake.contract_violations``). Every
instance answer carries ``Sforce-Limit-Info: api-usage=N/LIMIT``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses
from requests import PreparedRequest

from tests.fakes.salesforce_auth import AuthService
from tests.fakes.salesforce_contract import SalesforceApiError, first_error, sf_error
from tests.fakes.salesforce_handlers import DataApi, SfReply, SfRequest
from tests.fakes.salesforce_org import Org
from tests.fakes.salesforce_query import QueryEngine
from tests.fakes.salesforce_schema import FieldDef, canonical_id

__all__ = ["FakeSalesforce", "FieldDef", "SalesforceCall"]

_DEFAULT_CODES = {
    400: "INVALID_INPUT",
    401: "INVALID_SESSION_ID",
    403: "REQUEST_LIMIT_EXCEEDED",
    404: "NOT_FOUND",
    500: "UNKNOWN_EXCEPTION",
    502: "SERVER_UNAVAILABLE",
    503: "SERVER_UNAVAILABLE",
    504: "REQUEST_RUNNING_TOO_LONG",
}
_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE", "HEAD")


@dataclass
class SalesforceCall:
    """One request the fake answered; ``path`` is absolute (``/services/data/v59.0/...``)."""

    method: str
    url: str
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
    status: int
    body: Any
    times: int
    commit: bool


class FakeSalesforce:
    """In-memory org + HTTP fake for simple-salesforce; see the module docstring."""

    def __init__(
        self,
        instance_url: str = "https://fake.my.salesforce.com",
        *,
        version: str = "59.0",
        api_limit: int = 15_000,
        external_id_field: str = "Baton_Handoff_Id__c",
        session_id: str = "00D5g00000FAKE1!AQ0000.fake-session-token",
        requests_mock: responses.RequestsMock | None = None,
        validate_responses: bool = True,
        soql_injection_tripwire: bool = True,
        query_batch_size: int = 2000,
        login_hosts: tuple[str, ...] = ("login.salesforce.com", "test.salesforce.com"),
    ) -> None:
        self.instance_url = instance_url.rstrip("/")
        self.version = version
        self.api_limit = api_limit
        self.api_usage = 0
        self.external_id_field = external_id_field
        self.session_id = session_id
        self.validate_responses = validate_responses
        self.login_hosts = login_hosts
        self.calls: list[SalesforceCall] = []
        self.contract_violations: list[str] = []
        self._frozen_ms: int | None = None
        self._offset_ms = 0
        self._lock = threading.RLock()
        self.org = Org(self.now_ms, external_id_field, version)
        self.engine = QueryEngine(self.org, self.now_ms, injection_tripwire=soql_injection_tripwire)
        self.api = DataApi(self.org, self.engine, self._limits, query_batch_size)
        self.auth = AuthService(self.org, self.instance_url, version, session_id)
        self.auth.add_user("integration@baton.example", "password123", "SECURITYTOKEN", self.org.api_user_id)
        self._mock = requests_mock or responses.RequestsMock(assert_all_requests_are_fired=False)
        self._owns_mock = requests_mock is None
        self._registered: list[Any] = []
        self._injections: list[_Injection] = []
        self._outage_until: float | None = None

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> FakeSalesforce:
        if self._owns_mock:
            self._mock.start()
        hosts = [urlsplit(self.instance_url).netloc, *self.login_hosts]
        pattern = re.compile(r"^https://(?:" + "|".join(re.escape(h) for h in hosts) + r")/")
        for method in _METHODS:
            self._registered.append(
                self._mock.add_callback(method, pattern, callback=self._callback, content_type=None)
            )
        return self

    def __exit__(self, *exc: object) -> None:
        for registered in self._registered:
            self._mock.remove(registered)
        self._registered.clear()
        if self._owns_mock:
            self._mock.stop()
            self._mock.reset()

    @property
    def base_url(self) -> str:
        """``https://host/services/data/vXX.X/`` (what simple-salesforce calls ``base_url``)."""
        return f"{self.instance_url}/services/data/v{self.version}/"

    def client(self, **kwargs: Any) -> Any:
        """A ``simple_salesforce.Salesforce`` using the current session id."""
        from simple_salesforce.api import Salesforce

        return Salesforce(instance_url=self.instance_url, session_id=self.session_id, version=self.version, **kwargs)

    # -------------------------------------------------------------------- clock
    def now_ms(self) -> int:
        """The org clock (epoch ms): real time unless frozen/advanced."""
        return self._frozen_ms if self._frozen_ms is not None else int(time.time() * 1000) + self._offset_ms

    def set_time(self, when: datetime) -> None:
        """Freeze the org clock at an aware datetime."""
        self._frozen_ms = int(when.timestamp() * 1000)

    def advance(self, seconds: float) -> None:
        """Move the org clock forward."""
        if self._frozen_ms is not None:
            self._frozen_ms += int(seconds * 1000)
        else:
            self._offset_ms += int(seconds * 1000)

    # -------------------------------------------------------------------- state
    def records(self, sobject: str, *, include_deleted: bool = False) -> dict[str, dict[str, Any]]:
        """Records of an sObject by 18-character id (live only unless ``include_deleted``)."""
        name = self.org.require_sobject(sobject)
        return {i: r for i, r in self.org.records[name].items() if include_deleted or not r["IsDeleted"]}

    @property
    def contacts(self) -> dict[str, dict[str, Any]]:
        """Live Contacts."""
        return self.records("Contact")

    @property
    def accounts(self) -> dict[str, dict[str, Any]]:
        """Live Accounts."""
        return self.records("Account")

    @property
    def cases(self) -> dict[str, dict[str, Any]]:
        """Live Cases."""
        return self.records("Case")

    @property
    def case_comments(self) -> dict[str, dict[str, Any]]:
        """Live CaseComments."""
        return self.records("CaseComment")

    @property
    def feed_items(self) -> dict[str, dict[str, Any]]:
        """Live FeedItems."""
        return self.records("FeedItem")

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        """A live record by 15- or 18-character id."""
        return self.org.get(self.org.require_sobject(sobject), record_id)

    def case_by_handoff(self, handoff_id: str) -> dict[str, Any] | None:
        """The Case whose external id field equals ``handoff_id``."""
        found = self.org.find("Case", self.external_id_field, handoff_id)
        return found[0] if found else None

    def comments_for(self, case_id: str) -> list[dict[str, Any]]:
        """CaseComments of a Case, oldest first."""
        parent = canonical_id(case_id)
        return sorted(
            (c for c in self.case_comments.values() if c["ParentId"] == parent), key=lambda c: c["CreatedDate"]
        )

    def calls_count(self, method: str | None = None, path_prefix: str = "") -> int:
        """Requests matching ``method`` and a path prefix (absolute, or relative to the version root)."""
        return sum(1 for c in self.calls if self._path_matches(path_prefix, c.path) and method in (None, c.method))

    @property
    def logins(self) -> list[str]:
        """Usernames of successful SOAP/OAuth logins, in order."""
        return self.auth.logins

    # ------------------------------------------------------------------ seeding
    def add_user(self, username: str, password: str, security_token: str = "") -> str:
        """Add a User who can log in; returns its id."""
        with self._lock:
            user_id = self.org._insert_raw("User", {"Username": username, "Email": username, "Name": username})
            self.auth.add_user(username, password, security_token, user_id)
            return user_id

    def add_connected_app(self, consumer_key: str, consumer_secret: str) -> None:
        """Allow an OAuth client (``fake-consumer-key``/``fake-consumer-secret`` exists by default)."""
        self.auth.connected_apps[consumer_key] = consumer_secret

    def add_account(self, name: str, **fields: Any) -> str:
        """Seed an Account (validated like an API insert); returns its id."""
        with self._lock:
            return self.org.insert("Account", {"Name": name, **fields})

    def add_contact(
        self,
        email: str,
        last_name: str = "Customer",
        first_name: str | None = None,
        account_id: str | None = None,
        **fields: Any,
    ) -> str:
        """Seed a Contact; returns its id."""
        body = {"Email": email, "LastName": last_name, "FirstName": first_name, "AccountId": account_id, **fields}
        with self._lock:
            return self.org.insert("Contact", {k: v for k, v in body.items() if v is not None})

    def add_case(self, subject: str, handoff_id: str | None = None, **fields: Any) -> str:
        """Seed a Case (``handoff_id`` fills the external id field); returns its id."""
        body = {"Subject": subject, **({self.external_id_field: handoff_id} if handoff_id else {}), **fields}
        with self._lock:
            return self.org.insert("Case", body)

    def add_case_comment(self, case_id: str, body: str, *, is_published: bool = False) -> str:
        """Seed a CaseComment; returns its id."""
        with self._lock:
            return self.org.insert(
                "CaseComment", {"ParentId": case_id, "CommentBody": body, "IsPublished": is_published}
            )

    def update_record(self, sobject: str, record_id: str, **fields: Any) -> dict[str, Any]:
        """Change a record as an org user would (e.g. close a Case)."""
        with self._lock:
            return self.org.update(self.org.require_sobject(sobject), record_id, fields)

    def add_field(
        self,
        sobject: str,
        name: str,
        type: str = "string",
        *,
        length: int = 255,
        external_id: bool = False,
        unique: bool = False,
        required: bool = False,
        picklist: tuple[str, ...] | None = None,
    ) -> None:
        """Add a (custom) field to an sObject."""
        spec = FieldDef(
            name,
            type,
            length,
            external_id=external_id,
            unique=unique,
            required=required,
            picklist=picklist,
            restricted=picklist is not None,
        )
        with self._lock:
            self.org.add_field(self.org.require_sobject(sobject), spec)

    def set_picklist(self, sobject: str, field_name: str, values: tuple[str, ...], *, restricted: bool = True) -> None:
        """Replace a picklist's values (standard picklists are org-configurable)."""
        fd = self.org.field(self.org.require_sobject(sobject), field_name)
        if fd is None:
            raise KeyError(f"{sobject}.{field_name}")
        fd.picklist, fd.restricted = tuple(values), restricted

    # ------------------------------------------------------------ session/limits
    def expire_session(self) -> None:
        """Invalidate every session: the next data call answers 401 ``INVALID_SESSION_ID``."""
        self.auth.sessions.clear()

    def new_session(self) -> str:
        """Issue a new valid session id (and make it :attr:`session_id`)."""
        self.session_id = self.auth.new_session()
        return self.session_id

    def exhaust_daily_limit(self) -> None:
        """Use up the daily API allowance: data calls answer 403 ``REQUEST_LIMIT_EXCEEDED``."""
        self.api_usage = self.api_limit

    def _limits(self) -> dict[str, Any]:
        return {
            "DailyApiRequests": {"Max": self.api_limit, "Remaining": max(self.api_limit - self.api_usage, 0)},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
            "SingleEmail": {"Max": 5000, "Remaining": 5000},
        }

    # -------------------------------------------------------- failure injection
    def fail_next(
        self,
        path_prefix: str,
        status: int,
        body: Any = None,
        *,
        error_code: str | None = None,
        method: str | None = None,
        times: int = 1,
        commit: bool = False,
    ) -> None:
        """Answer the next ``times`` matching data-API requests with ``status`` (body defaults to a
        Salesforce error list). ``commit=True`` runs the request first, like a lost response."""
        if body is None:
            code = error_code or _DEFAULT_CODES.get(status, "UNKNOWN_EXCEPTION")
            message = "Session expired or invalid" if code == "INVALID_SESSION_ID" else f"Injected failure ({status})"
            body = [sf_error(code, message)]
        with self._lock:
            self._injections.append(_Injection(path_prefix, method, status, body, times, commit))

    def outage(self, seconds: float | None = None) -> None:
        """Answer everything with 503 for ``seconds`` (or until :meth:`end_outage`)."""
        self._outage_until = float("inf") if seconds is None else time.monotonic() + seconds

    def end_outage(self) -> None:
        """End an outage."""
        self._outage_until = None

    # ----------------------------------------------------------------- serving
    def _path_matches(self, prefix: str, path: str) -> bool:
        if prefix.startswith("/"):
            return path.startswith(prefix)
        relative = re.sub(r"^/services/data/v\d+\.\d/", "", path)
        return relative.startswith(prefix) and relative != path

    def _take_injection(self, method: str, path: str) -> _Injection | None:
        for inj in self._injections:
            if self._path_matches(inj.path_prefix, path) and inj.method in (None, method):
                inj.times -= 1
                if inj.times <= 0:
                    self._injections.remove(inj)
                return inj
        return None

    def _callback(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        split = urlsplit(request.url or "")
        body = request.body
        raw = body.decode() if isinstance(body, bytes) else body if isinstance(body, str) else ""
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        method = request.method or "GET"
        with self._lock:
            status, out_headers, payload = self._route(method, split.netloc, split.path, split.query, raw, headers)
            try:
                logged_body: Any = json.loads(raw) if raw and raw.lstrip()[:1] in "{[" else raw or None
            except ValueError:
                logged_body = raw
            try:
                response: Any = json.loads(payload) if payload else None
            except ValueError:
                response = payload
            self.calls.append(
                SalesforceCall(
                    method, request.url or "", split.path, parse_qs(split.query), logged_body, status, response, headers
                )
            )
        return status, out_headers, payload

    def _route(
        self, method: str, host: str, path: str, query: str, raw: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], str]:
        if self._outage_until is not None and time.monotonic() < self._outage_until:
            return self._json(503, [sf_error("SERVER_UNAVAILABLE", "Server temporarily unavailable")])
        if method == "POST" and path.rstrip("/") == "/services/oauth2/token":
            return self.auth.oauth_token(raw, headers)
        if method == "POST" and re.fullmatch(r"/services/Soap/u/\d+\.\d/?", path):
            return self.auth.soap_login(raw)
        if host != urlsplit(self.instance_url).netloc:
            return 404, {"Content-Type": "text/html"}, "<html><body>Not Found</body></html>"
        if path.rstrip("/") == "/services/data" and method == "GET":
            return self._json(
                200, [{"label": "Winter '24", "url": f"/services/data/v{self.version}", "version": self.version}]
            )
        match = re.match(r"^/services/data/v\d+\.\d(?:/|$)", path)
        if match is None:
            return self._json(404, [sf_error("NOT_FOUND", "The requested resource does not exist")])
        reply = self._data_call(method, path, path[match.end() :], query, raw, headers)
        status, out_headers, payload = self._json(reply.status, reply.body, reply.headers)
        out_headers["Sforce-Limit-Info"] = f"api-usage={self.api_usage}/{self.api_limit}"
        return status, out_headers, payload

    def _data_call(
        self, method: str, path: str, relative: str, query: str, raw: str, headers: dict[str, str]
    ) -> SfReply:
        if not self.auth.authorized(headers):
            return SfReply(401, [sf_error("INVALID_SESSION_ID", "Session expired or invalid")])
        inj = self._take_injection(method, path)
        if inj is not None and not inj.commit:
            return SfReply(inj.status, inj.body)
        if self.api_usage >= self.api_limit:
            return SfReply(403, [sf_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")])
        self.api_usage += 1
        try:
            body = json.loads(raw) if raw else None
        except ValueError as exc:
            return SfReply(400, [sf_error("JSON_PARSER_ERROR", f"Unexpected character: {exc}")])
        try:
            reply = self.api.handle(SfRequest(method, relative, parse_qs(query, keep_blank_values=True), body))
        except SalesforceApiError as exc:
            reply = SfReply(exc.status, exc.errors, "ErrorList")
        if self.validate_responses and reply.schema and reply.body is not None:
            problem = first_error(reply.schema, reply.body)
            if problem is not None:
                message = f"fake Salesforce reply for {method} {path} violates {reply.schema}: {problem.message}"
                self.contract_violations.append(message)
                reply = SfReply(500, [sf_error("UNKNOWN_EXCEPTION", message)])
        return SfReply(inj.status, inj.body) if inj is not None else reply

    @staticmethod
    def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        out = dict(headers or {})
        if body is None:
            return status, out, ""
        out["Content-Type"] = "application/json;charset=UTF-8"
        return status, out, json.dumps(body)
