"""REST data-API endpoints of the fake org, relative to ``/services/data/vXX.X/``: sObject rows,
upsert by external id, SOQL query (with ``nextRecordsUrl`` paging), sObject Collections, Composite."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.salesforce_contract import SalesforceApiError, malformed_query, not_found, require_valid, sf_error
from tests.fakes.salesforce_org import Org
from tests.fakes.salesforce_query import QueryEngine
from tests.fakes.salesforce_schema import canonical_id

_REF_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_ROLLED_BACK = sf_error(
    "PROCESSING_HALTED", "The transaction was rolled back since another operation in the same transaction failed."
)


@dataclass
class SfRequest:
    """A data-API request; ``path`` is relative to the version root, without surrounding slashes."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any

    def param(self, name: str) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class SfReply:
    """A data-API answer; ``schema`` names the contract ``$def`` the body must satisfy."""

    status: int
    body: Any = None
    schema: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class DataApi:
    """Dispatches :class:`SfRequest` to the org. Raises :class:`SalesforceApiError` for error answers."""

    def __init__(self, org: Org, engine: QueryEngine, limits: Callable[[], dict[str, Any]], batch_size: int) -> None:
        self.org = org
        self.engine = engine
        self.limits = limits
        self.batch_size = batch_size
        self.cursors: dict[str, tuple[list[dict[str, Any]], int]] = {}
        self._cursor_ids = itertools.count(1)

    @property
    def root(self) -> str:
        """``/services/data/vXX.X``."""
        return f"/services/data/v{self.org.version}"

    def handle(self, req: SfRequest) -> SfReply:
        """Route one request."""
        parts = [unquote(p) for p in req.path.split("/") if p]
        head = parts[0] if parts else ""
        if not parts and req.method == "GET":
            return SfReply(
                200, {n: f"{self.root}/{n}" for n in ("sobjects", "query", "queryAll", "composite", "limits")}
            )
        if parts == ["limits"] and req.method == "GET":
            return SfReply(200, self.limits())
        if head in ("query", "queryAll") and req.method == "GET":
            return self._query(req, parts, include_deleted=head == "queryAll")
        if head == "sobjects":
            return self._sobjects(req, parts[1:])
        if parts == ["composite"] and req.method == "POST":
            return self._composite(req)
        if parts[:2] == ["composite", "sobjects"]:
            return self._collections(req, parts[2:])
        raise not_found()

    # ------------------------------------------------------------------ query
    def _query(self, req: SfRequest, parts: list[str], *, include_deleted: bool) -> SfReply:
        if len(parts) == 2:
            cursor = self.cursors.pop(parts[1], None)
            if cursor is None:
                raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return self._page(cursor[0], cursor[1], include_deleted)
        soql = req.param("q")
        if not soql:
            raise malformed_query("A SOQL query must be given in the 'q' parameter")
        rows, total, _count = self.engine.run(soql, include_deleted=include_deleted)
        return self._page(rows, total, include_deleted)

    def _page(self, rows: list[dict[str, Any]], total: int, include_deleted: bool) -> SfReply:
        """One batch of ``rows``; the rest is parked under a ``nextRecordsUrl`` cursor."""
        body: dict[str, Any] = {
            "totalSize": total,
            "done": len(rows) <= self.batch_size,
            "records": rows[: self.batch_size],
        }
        if len(rows) > self.batch_size:
            cursor = f"01gFAKE{next(self._cursor_ids):08d}-{self.batch_size}"
            self.cursors[cursor] = (rows[self.batch_size :], total)
            body["nextRecordsUrl"] = f"{self.root}/{'queryAll' if include_deleted else 'query'}/{cursor}"
        return SfReply(200, body, "QueryResult")

    # --------------------------------------------------------------- sobjects
    def _check_case(self, sobject: str, body: Any) -> None:
        if sobject == "Case":
            require_valid(
                "CaseFields",
                {k: v for k, v in body.items() if k != "attributes"} if isinstance(body, dict) else body,
                codes={"pattern": "MALFORMED_ID"},
            )

    def _sobjects(self, req: SfRequest, parts: list[str]) -> SfReply:
        if not parts and req.method == "GET":
            described = [self.org.describe(n) for n in self.org.objects]
            return SfReply(
                200,
                {
                    "encoding": "UTF-8",
                    "maxBatchSize": 200,
                    "sobjects": [
                        {
                            k: d[k]
                            for k in ("name", "label", "keyPrefix", "custom", "createable", "updateable", "queryable")
                        }
                        for d in described
                    ],
                },
            )
        sobject = self.org.require_sobject(parts[0])
        rest = parts[1:]
        if not rest:
            if req.method == "POST":
                return self._create(sobject, req.body)
            if req.method == "GET":
                return SfReply(200, {"objectDescribe": self.org.describe(sobject), "recentItems": []})
        elif rest == ["describe"] and req.method == "GET":
            return SfReply(200, self.org.describe(sobject))
        elif len(rest) == 1:
            return self._row(req, sobject, rest[0])
        elif len(rest) == 2:
            return self._by_external_id(req, sobject, rest[0], rest[1])
        raise not_found()

    def _create(self, sobject: str, body: Any) -> SfReply:
        self._check_case(sobject, body)
        record_id = self.org.insert(sobject, body)
        return SfReply(
            201,
            {"id": record_id, "success": True, "errors": []},
            "SaveResult",
            {"Location": f"{self.root}/sobjects/{sobject}/{record_id}"},
        )

    def _row(self, req: SfRequest, sobject: str, raw_id: str) -> SfReply:
        if canonical_id(raw_id) is None:
            raise not_found(f"Provided external ID field does not exist or is not accessible: {raw_id}")
        if req.method == "GET":
            record = self.org.get(sobject, raw_id)
            if record is None:
                raise not_found()
            fields = [f for f in (req.param("fields") or "").split(",") if f]
            return SfReply(200, self.org.render(sobject, record, fields or None), "SObjectRecord")
        if req.method == "PATCH":
            self._check_case(sobject, req.body)
            self.org.update(sobject, raw_id, req.body)
            return SfReply(204)
        if req.method == "DELETE":
            self.org.delete(sobject, raw_id)
            return SfReply(204)
        raise SalesforceApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{req.method}' not allowed.")

    def _external_field(self, sobject: str, name: str) -> str:
        fd = self.org.field(sobject, name)
        if fd is None or not (fd.external_id or fd.name == "Id"):
            raise not_found(f"Provided external ID field does not exist or is not accessible: {name}")
        return fd.name

    def _by_external_id(self, req: SfRequest, sobject: str, field_name: str, value: str) -> SfReply:
        name = self._external_field(sobject, field_name)
        matches = self.org.find(sobject, name, canonical_id(value) if name == "Id" else value)
        if len(matches) > 1:
            return SfReply(300, [f"{self.root}/sobjects/{sobject}/{r['Id']}" for r in matches])
        if req.method == "GET":
            if not matches:
                raise not_found()
            return SfReply(200, self.org.render(sobject, matches[0]), "SObjectRecord")
        if req.method == "DELETE":
            if not matches:
                raise not_found()
            self.org.delete(sobject, matches[0]["Id"])
            return SfReply(204)
        if req.method != "PATCH":
            raise SalesforceApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{req.method}' not allowed.")
        self._check_case(sobject, req.body)
        result = self._upsert_one(sobject, name, value, req.body, matches)
        return SfReply(201 if result["created"] else 200, result, "UpsertResult")

    def _upsert_one(
        self, sobject: str, name: str, value: str, body: dict[str, Any], matches: list[dict[str, Any]]
    ) -> dict[str, Any]:
        if matches:
            self.org.update(sobject, matches[0]["Id"], body)
            return {"id": matches[0]["Id"], "success": True, "errors": [], "created": False}
        if name == "Id":
            raise not_found()
        record_id = self.org.insert(sobject, {**body, name: value})
        return {"id": record_id, "success": True, "errors": [], "created": True}

    # ------------------------------------------------------------ collections
    def _collections(self, req: SfRequest, rest: list[str]) -> SfReply:
        if req.method == "GET" and len(rest) == 1:
            sobject = self.org.require_sobject(rest[0])
            ids = [i for i in (req.param("ids") or "").split(",") if i]
            fields = [f for f in (req.param("fields") or "").split(",") if f]
            rows = [self.org.get(sobject, i) for i in ids]
            return SfReply(200, [self.org.render(sobject, r, fields or None) if r else None for r in rows])
        if req.method == "DELETE" and len(rest) <= 1:
            ids = [i for i in (req.param("ids") or "").split(",") if i]
            all_or_none = (req.param("allOrNone") or "false").lower() == "true"
            return self._each(ids, all_or_none, self._delete_item)
        if req.method in ("POST", "PATCH") and len(rest) <= 2:
            require_valid("SObjectCollectionsWriteRequest", req.body, codes={"maxItems": "EXCEEDED_ID_LIMIT"})
            records, all_or_none = req.body["records"], bool(req.body.get("allOrNone", False))
            if req.method == "POST" and not rest:
                return self._each(records, all_or_none, self._insert_item)
            if req.method == "PATCH" and len(rest) < 2:
                return self._each(records, all_or_none, self._update_item)
            if req.method == "PATCH":
                sobject = self.org.require_sobject(rest[0])
                name = self._external_field(sobject, rest[1])
                return self._each(records, all_or_none, lambda rec: self._upsert_item(sobject, name, rec))
        raise not_found()

    def _each(self, items: list[Any], all_or_none: bool, apply: Callable[[Any], dict[str, Any]]) -> SfReply:
        snapshot = self.org.snapshot() if all_or_none else None
        results: list[dict[str, Any]] = []
        for item in items:
            try:
                results.append(apply(item))
            except SalesforceApiError as exc:
                errors = [
                    {"statusCode": e["errorCode"], "message": e["message"], "fields": e.get("fields", [])}
                    for e in exc.errors
                ]
                results.append({"id": None, "success": False, "errors": errors})
        if snapshot is not None and not all(r["success"] for r in results):
            self.org.restore(snapshot)
            rolled = {
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "fields": [],
                "message": "Record rolled back because not all records were valid and the request was using "
                "AllOrNone header",
            }
            results = [r if not r["success"] else {"id": None, "success": False, "errors": [rolled]} for r in results]
        return SfReply(200, results, "SObjectCollectionsResult")

    def _record_type(self, record: dict[str, Any]) -> str:
        sobject = self.org.sobject_name(str(record["attributes"]["type"]))
        if sobject is None:
            raise SalesforceApiError(
                400, "INVALID_TYPE", f"sObject type '{record['attributes']['type']}' is not supported."
            )
        return sobject

    def _insert_item(self, record: dict[str, Any]) -> dict[str, Any]:
        sobject = self._record_type(record)
        if "Id" in record:
            raise SalesforceApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        self._check_case(sobject, record)
        return {"id": self.org.insert(sobject, record), "success": True, "errors": []}

    def _update_item(self, record: dict[str, Any]) -> dict[str, Any]:
        sobject = self._record_type(record)
        record_id = record.get("Id")
        if not record_id:
            raise SalesforceApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        body = {k: v for k, v in record.items() if k != "Id"}
        self._check_case(sobject, body)
        if self.org.get(sobject, record_id) is None:
            raise SalesforceApiError(
                404, "ENTITY_IS_DELETED", f"entity is deleted or does not exist: {record_id}", ["Id"]
            )
        return {"id": self.org.update(sobject, record_id, body)["Id"], "success": True, "errors": []}

    def _upsert_item(self, sobject: str, name: str, record: dict[str, Any]) -> dict[str, Any]:
        value = record.get(name)
        if not isinstance(value, str) or not value:
            raise SalesforceApiError(400, "MISSING_ARGUMENT", f"{name} not specified", [name])
        self._check_case(sobject, record)
        matches = self.org.find(sobject, name, value)
        if len(matches) > 1:
            raise SalesforceApiError(
                300, "DUPLICATE_EXTERNAL_ID", f"{name}: more than one record found for {value}", [name]
            )
        return self._upsert_one(sobject, name, value, record, matches)

    def _delete_item(self, raw_id: str) -> dict[str, Any]:
        sobject = self.org.sobject_of(canonical_id(raw_id) or "")
        if sobject is None:
            raise SalesforceApiError(400, "MALFORMED_ID", f"malformed id {raw_id}")
        self.org.delete(sobject, raw_id)
        return {"id": canonical_id(raw_id), "success": True, "errors": []}

    # -------------------------------------------------------------- composite
    def _composite(self, req: SfRequest) -> SfReply:
        require_valid("CompositeRequest", req.body, codes={"maxItems": "LIMIT_EXCEEDED"})
        subs = req.body["compositeRequest"]
        refs = [s["referenceId"] for s in subs]
        if len(set(refs)) != len(refs):
            raise SalesforceApiError(400, "INVALID_INPUT", f"Duplicate referenceId provided in the request: {refs}")
        heavy = [s for s in subs if re.search(r"/(query|queryAll|composite/sobjects)\b", s["url"])]
        if len(heavy) > 5:
            raise SalesforceApiError(
                400,
                "LIMIT_EXCEEDED",
                "A composite request may contain at most 5 query or sObject Collections subrequests",
            )
        all_or_none = bool(req.body.get("allOrNone", False))
        snapshot = self.org.snapshot() if all_or_none else None
        results: dict[str, Any] = {}
        out: list[dict[str, Any]] = []
        failed = False
        for sub in subs:
            if failed and all_or_none:
                out.append(self._entry(sub, SfReply(400, [_ROLLED_BACK])))
                continue
            reply = self._subrequest(sub, results)
            out.append(self._entry(sub, reply))
            if reply.status < 300:
                results[sub["referenceId"]] = reply.body
            else:
                failed = True
        if failed and snapshot is not None:
            self.org.restore(snapshot)
            out = [
                e
                if e["httpStatusCode"] >= 300
                else {**e, "body": [_ROLLED_BACK], "httpHeaders": {}, "httpStatusCode": 400}
                for e in out
            ]
        return SfReply(200, {"compositeResponse": out}, "CompositeResponse")

    @staticmethod
    def _entry(sub: dict[str, Any], reply: SfReply) -> dict[str, Any]:
        return {
            "body": reply.body,
            "httpHeaders": reply.headers,
            "httpStatusCode": reply.status,
            "referenceId": sub["referenceId"],
        }

    def _subrequest(self, sub: dict[str, Any], results: dict[str, Any]) -> SfReply:
        try:
            url = _substitute(sub["url"], results)
            body = _substitute(sub.get("body"), results)
            split = urlsplit(url)
            prefix = re.match(r"^/services/data/v\d+\.\d/", split.path)
            if prefix is None:
                raise SalesforceApiError(400, "INVALID_INPUT", f"Invalid URL: {url}")
            relative = split.path[prefix.end() :]
            if relative.strip("/") == "composite":
                raise SalesforceApiError(400, "INVALID_INPUT", "Composite requests cannot be nested")
            return self.handle(SfRequest(sub["method"], relative, parse_qs(split.query, keep_blank_values=True), body))
        except SalesforceApiError as exc:
            return SfReply(exc.status, exc.errors)


def _resolve(name: str, path: str, results: dict[str, Any]) -> Any:
    if name not in results:
        raise SalesforceApiError(
            400,
            "PROCESSING_HALTED",
            f"Invalid reference specified. No value for {name}{path} found in {name}. Provided referenceId ('{name}') "
            "must reference an earlier successful subrequest.",
        )
    value = results[name]
    for key, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        try:
            value = value[key] if key else value[int(index)]
        except (KeyError, IndexError, TypeError) as exc:
            raise SalesforceApiError(
                400, "PROCESSING_HALTED", f"Invalid reference specified. No value for {name}{path} found in {name}."
            ) from exc
    return value


def _substitute(value: Any, results: dict[str, Any]) -> Any:
    """Replace ``@{ref.path}`` references inside strings (recursively through JSON)."""
    if isinstance(value, str):
        return _REF_RE.sub(lambda m: _text(_resolve(m.group(1), m.group(2), results)), value)
    if isinstance(value, list):
        return [_substitute(v, results) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, results) for k, v in value.items()}
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
