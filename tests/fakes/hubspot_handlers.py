"""Route table and endpoint handlers of the fake HubSpot server (CRM v3 objects, v4 associations,
properties, pipelines). Handlers turn a parsed request into a :class:`Reply`; they never touch sockets."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.fakes.hubspot_contract import HubSpotError, require_valid
from tests.fakes.hubspot_schema import normalize_type, singular
from tests.fakes.hubspot_store import Association, CrmRecord, CrmStore, iso


@dataclass
class Request:
    """A parsed HTTP request as the handlers see it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    store: CrmStore

    def param(self, name: str) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None

    def param_list(self, name: str) -> list[str]:
        """A list parameter given repeated (``a=1&a=2``, the client's "multi" format) or comma-separated."""
        return [v for raw in self.query.get(name, []) for v in raw.split(",") if v]


@dataclass
class Reply:
    """A handler's answer; ``schema`` names the contract ``$def`` the body must satisfy."""

    status: int
    body: Any = None
    schema: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request, dict[str, str]], Reply]
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``method`` and a path pattern with ``{name}`` segments."""
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "/?$")

    def register(func: Handler) -> Handler:
        _ROUTES.append((method, regex, func))
        return func

    return register


def dispatch(request: Request) -> Reply:
    """Find the handler for ``request`` and run it; HubSpot errors become error replies."""
    path_matched = False
    for method, regex, handler in _ROUTES:
        match = regex.match(request.path)
        if match is None:
            continue
        path_matched = True
        if method == request.method:
            return handler(request, {k: unquote(v) for k, v in match.groupdict().items()})
    if path_matched:
        raise HubSpotError(405, f"Method {request.method} not allowed on {request.path}", "METHOD_NOT_ALLOWED")
    raise HubSpotError(404, f"No route for {request.method} {request.path}", "OBJECT_NOT_FOUND")


def parse_type(name: str) -> str:
    """Object type from a path segment (``contacts``/``contact``/``0-1``); 400 when unknown."""
    object_type = normalize_type(name)
    if object_type is None:
        raise HubSpotError(400, f"Unable to infer object type from: {name}", "VALIDATION_ERROR")
    return object_type


def _batch(results: list[Any], errors: list[dict[str, Any]], ok_status: int, store: CrmStore) -> Reply:
    now = iso(store.clock_ms())
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "requestedAt": now,
        "startedAt": now,
        "completedAt": now,
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return Reply(207, body, "BatchResponseSimplePublicObjectWithErrors")
    return Reply(ok_status, body, "BatchResponseSimplePublicObject")


def _not_found_error(object_type: str, ids: list[str]) -> dict[str, Any]:
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": f"Could not get some {object_type.upper()} objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        "context": {"ids": ids},
        "errors": [],
        "links": {},
    }


def _v3_type_name(edge: Association) -> str:
    base = f"{singular(edge.from_type)}_to_{singular(edge.to_type)}"
    if edge.label == "Primary":
        return base
    return f"{base}_unlabeled" if edge.label is None else f"{base}_{edge.type_id}"


def _with_associations(req: Request, record: CrmRecord, body: dict[str, Any]) -> dict[str, Any]:
    wanted = [parse_type(t) for t in req.param_list("associations")]
    if wanted:
        body["associations"] = {
            to_type: {
                "results": [
                    {"id": a.to_id, "type": _v3_type_name(a)}
                    for a in req.store.associations_of(record.object_type, record.id, to_type)
                ]
            }
            for to_type in wanted
        }
    return body


def _create_associations(
    store: CrmStore, object_type: str, associations: list[dict[str, Any]]
) -> list[tuple[str, str, str, int]]:
    """Check a create body's ``associations`` before anything is written; returns edges to add."""
    edges: list[tuple[str, str, str, int]] = []
    for item in associations:
        for spec in item["types"]:
            category, type_id = spec["associationCategory"], spec["associationTypeId"]
            to_type = store.infer_target(object_type, category, type_id)
            if store.find(to_type, item["to"]["id"]) is None:
                raise HubSpotError(
                    400,
                    f"One or more associations are invalid: no {to_type} with ID {item['to']['id']}",
                    "VALIDATION_ERROR",
                    context={"ids": [item["to"]["id"]]},
                )
            edges.append((to_type, item["to"]["id"], category, type_id))
    return edges


def _create_one(store: CrmStore, object_type: str, item: dict[str, Any]) -> CrmRecord:
    edges = _create_associations(store, object_type, item.get("associations") or [])
    record = store.create(object_type, item["properties"])
    for to_type, to_id, category, type_id in edges:
        store.associate(object_type, record.id, to_type, to_id, category, type_id)
    return record


# ---------------------------------------------------------------- CRM objects v3
@route("POST", "/crm/v3/objects/{type}")
def create_object(req: Request, p: dict[str, str]) -> Reply:
    """``POST /crm/v3/objects/{type}`` -> 201 SimplePublicObject."""
    object_type = parse_type(p["type"])
    require_valid("NoteCreate" if object_type == "notes" else "SimplePublicObjectInputForCreate", req.body)
    record = _create_one(req.store, object_type, req.body)
    return Reply(201, req.store.render(record, written=True), "SimplePublicObject")


@route("GET", "/crm/v3/objects/{type}")
def list_objects(req: Request, p: dict[str, str]) -> Reply:
    """``GET /crm/v3/objects/{type}`` -> one page of records ordered by id."""
    object_type = parse_type(p["type"])
    limit = min(int(req.param("limit") or 10), 100)
    offset = int(req.param("after") or 0)
    live = sorted((r for r in req.store.records[object_type].values() if not r.archived), key=lambda r: int(r.id))
    page = live[offset : offset + limit]
    body: dict[str, Any] = {
        "results": [_with_associations(req, r, req.store.render(r, req.param_list("properties"))) for r in page]
    }
    if offset + limit < len(live):
        body["paging"] = {"next": {"after": str(offset + limit), "link": f"?after={offset + limit}"}}
    return Reply(200, body)


@route("GET", "/crm/v3/objects/{type}/{id}")
def get_object(req: Request, p: dict[str, str]) -> Reply:
    """``GET /crm/v3/objects/{type}/{id}[?idProperty=email]`` -> SimplePublicObjectWithAssociations."""
    record = req.store.get(parse_type(p["type"]), p["id"], req.param("idProperty"))
    body = req.store.render(record, req.param_list("properties"))
    return Reply(200, _with_associations(req, record, body), "SimplePublicObjectWithAssociations")


@route("PATCH", "/crm/v3/objects/{type}/{id}")
def update_object(req: Request, p: dict[str, str]) -> Reply:
    """``PATCH /crm/v3/objects/{type}/{id}`` -> 200 SimplePublicObject."""
    require_valid("SimplePublicObjectInput", req.body)
    record = req.store.get(parse_type(p["type"]), p["id"], req.param("idProperty"))
    req.store.update(record, req.body["properties"])
    return Reply(200, req.store.render(record, written=True), "SimplePublicObject")


@route("DELETE", "/crm/v3/objects/{type}/{id}")
def archive_object(req: Request, p: dict[str, str]) -> Reply:
    """``DELETE /crm/v3/objects/{type}/{id}`` -> 204 (archive)."""
    req.store.archive(req.store.get(parse_type(p["type"]), p["id"]))
    return Reply(204)


@route("POST", "/crm/v3/objects/{type}/search")
def search_objects(req: Request, p: dict[str, str]) -> Reply:
    """``POST /crm/v3/objects/{type}/search`` -> CollectionResponseWithTotalSimplePublicObject."""
    object_type = parse_type(p["type"])
    require_valid("PublicObjectSearchRequest", req.body)
    page, total, after = req.store.search(object_type, req.body)
    body: dict[str, Any] = {"total": total, "results": [req.store.render(r, req.body.get("properties")) for r in page]}
    if after is not None:
        body["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
    return Reply(200, body, "CollectionResponseWithTotalSimplePublicObject")


@route("POST", "/crm/v3/objects/{type}/batch/create")
def batch_create(req: Request, p: dict[str, str]) -> Reply:
    """``batch/create``: all inputs are validated first; a bad input fails the whole batch (400/409)."""
    object_type = parse_type(p["type"])
    require_valid("BatchInputSimplePublicObjectBatchInputForCreate", req.body)
    inputs = req.body["inputs"]
    store = req.store
    for item in inputs:
        if object_type == "notes":
            require_valid("NoteCreate", item)
        store.check_properties(object_type, item["properties"], existing=None)
        _create_associations(store, object_type, item.get("associations") or [])
    emails = [i["properties"].get("email", "").lower() for i in inputs if object_type == "contacts"]
    duplicates = {e for e in emails if e and emails.count(e) > 1}
    if duplicates:
        raise HubSpotError(400, f"Duplicate emails found in batch input: {sorted(duplicates)}", "VALIDATION_ERROR")
    records = [_create_one(store, object_type, item) for item in inputs]
    return _batch([store.render(r, written=True) for r in records], [], 201, store)


@route("POST", "/crm/v3/objects/{type}/batch/read")
def batch_read(req: Request, p: dict[str, str]) -> Reply:
    """``batch/read``: found records in ``results``; unknown ids give 207 OBJECT_NOT_FOUND errors."""
    object_type = parse_type(p["type"])
    require_valid("BatchReadInputSimplePublicObjectId", req.body)
    found, missing = [], []
    for item in req.body["inputs"]:
        record = req.store.find(object_type, item["id"], req.body.get("idProperty"))
        if record is None:
            missing.append(item["id"])
        else:
            found.append(req.store.render(record, req.body.get("properties")))
    return _batch(found, [_not_found_error(object_type, missing)] if missing else [], 200, req.store)


@route("POST", "/crm/v3/objects/{type}/batch/update")
def batch_update(req: Request, p: dict[str, str]) -> Reply:
    """``batch/update``: invalid properties fail the batch (400); unknown ids give 207 errors."""
    object_type = parse_type(p["type"])
    require_valid("BatchInputSimplePublicObjectBatchInput", req.body)
    inputs = req.body["inputs"]
    ids = [i["id"] for i in inputs]
    if len(set(ids)) != len(ids):
        raise HubSpotError(
            400, "Duplicate IDs found in batch input: " + str(sorted({i for i in ids if ids.count(i) > 1}))
        )
    targets: list[tuple[CrmRecord, dict[str, str]]] = []
    missing: list[str] = []
    for item in inputs:
        record = req.store.find(object_type, item["id"], item.get("idProperty"))
        if record is None:
            missing.append(item["id"])
            continue
        req.store.check_properties(object_type, item["properties"], existing=record)
        targets.append((record, item["properties"]))
    results = [req.store.render(req.store.update(r, props), written=True) for r, props in targets]
    return _batch(results, [_not_found_error(object_type, missing)] if missing else [], 200, req.store)


@route("POST", "/crm/v3/objects/{type}/batch/upsert")
def batch_upsert(req: Request, p: dict[str, str]) -> Reply:
    """``batch/upsert`` by a unique ``idProperty`` (e.g. email); results carry ``new``."""
    object_type = parse_type(p["type"])
    require_valid("BatchInputUpsert", req.body)
    store = req.store
    results = []
    for item in req.body["inputs"]:
        id_property = item.get("idProperty")
        if not id_property:
            raise HubSpotError(400, "Upsert inputs need an idProperty naming a unique property", "VALIDATION_ERROR")
        record = store.find(object_type, item["id"], id_property)
        if record is None:
            record = store.create(object_type, {**item["properties"], id_property: item["id"]})
            results.append({**store.render(record, written=True), "new": True})
        else:
            results.append({**store.render(store.update(record, item["properties"]), written=True), "new": False})
    return _batch(results, [], 200, store)


@route("POST", "/crm/v3/objects/{type}/batch/archive")
def batch_archive(req: Request, p: dict[str, str]) -> Reply:
    """``batch/archive`` -> 204; unknown ids are ignored like HubSpot does."""
    object_type = parse_type(p["type"])
    require_valid("BatchInputObjectId", req.body)
    for item in req.body["inputs"]:
        record = req.store.find(object_type, item["id"])
        if record is not None:
            req.store.archive(record)
    return Reply(204)
