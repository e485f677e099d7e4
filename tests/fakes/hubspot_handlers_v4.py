"""Fake HubSpot endpoints for associations v4, CRM properties and pipelines (registered on the
route table of :mod:`tests.fakes.hubspot_handlers` when imported)."""

from __future__ import annotations

from typing import Any

from tests.fakes.hubspot_contract import HubSpotError, require_valid
from tests.fakes.hubspot_handlers import Reply, Request, parse_type, route
from tests.fakes.hubspot_schema import ASSOCIATION_TYPES, OBJECT_TYPE_IDS
from tests.fakes.hubspot_store import Association, CrmStore, iso


# ------------------------------------------------------------- associations v4
def _default_results(edges: list[Association]) -> list[dict[str, Any]]:
    return [
        {
            "from": {"id": a.from_id},
            "to": {"id": a.to_id},
            "associationSpec": {"associationCategory": a.category, "associationTypeId": a.type_id},
        }
        for a in edges
    ]


def _labels_pair(store: CrmStore, from_type: str, from_id: str, to_type: str, to_id: str) -> dict[str, Any]:
    labels = [a.label for a in store.associations_of(from_type, from_id, to_type) if a.to_id == to_id and a.label]
    return {
        "fromObjectTypeId": OBJECT_TYPE_IDS[from_type],
        "fromObjectId": from_id,
        "toObjectTypeId": OBJECT_TYPE_IDS[to_type],
        "toObjectId": to_id,
        "labels": labels,
    }


@route("PUT", "/crm/v4/objects/{ft}/{fid}/associations/default/{tt}/{tid}")
def associate_default(req: Request, p: dict[str, str]) -> Reply:
    """Default (unlabeled) association; the body is empty. 200 BatchResponsePublicDefaultAssociation."""
    edges = req.store.associate_default(parse_type(p["ft"]), p["fid"], parse_type(p["tt"]), p["tid"])
    now = iso(req.store.clock_ms())
    body = {"status": "COMPLETE", "results": _default_results(edges), "startedAt": now, "completedAt": now}
    return Reply(200, body, "BatchResponsePublicDefaultAssociation")


@route("PUT", "/crm/v4/objects/{ft}/{fid}/associations/{tt}/{tid}")
def associate_labeled(req: Request, p: dict[str, str]) -> Reply:
    """Labeled association with a body of AssociationSpec items -> 201 LabelsBetweenObjectPair."""
    require_valid("AssociationSpecList", req.body)
    from_type, to_type = parse_type(p["ft"]), parse_type(p["tt"])
    for spec in req.body:
        req.store.resolve_spec(from_type, to_type, spec["associationCategory"], spec["associationTypeId"])
    for spec in req.body:
        req.store.associate(
            from_type, p["fid"], to_type, p["tid"], spec["associationCategory"], spec["associationTypeId"]
        )
    return Reply(201, _labels_pair(req.store, from_type, p["fid"], to_type, p["tid"]), "LabelsBetweenObjectPair")


@route("DELETE", "/crm/v4/objects/{ft}/{fid}/associations/{tt}/{tid}")
def disassociate(req: Request, p: dict[str, str]) -> Reply:
    """Remove all associations between two records -> 204."""
    req.store.disassociate(parse_type(p["ft"]), p["fid"], parse_type(p["tt"]), p["tid"])
    return Reply(204)


def _grouped(edges: list[Association]) -> list[dict[str, Any]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for a in edges:
        grouped.setdefault(a.to_id, []).append({"category": a.category, "typeId": a.type_id, "label": a.label})
    return [{"toObjectId": int(to_id), "associationTypes": types} for to_id, types in grouped.items()]


@route("GET", "/crm/v4/objects/{ft}/{fid}/associations/{tt}")
def list_associations(req: Request, p: dict[str, str]) -> Reply:
    """Associated records of one type -> CollectionResponseMultiAssociatedObjectWithLabel."""
    from_type = parse_type(p["ft"])
    req.store.get(from_type, p["fid"])
    rows = _grouped(req.store.associations_of(from_type, p["fid"], parse_type(p["tt"])))
    limit, offset = int(req.param("limit") or 500), int(req.param("after") or 0)
    body: dict[str, Any] = {"results": rows[offset : offset + limit]}
    if offset + limit < len(rows):
        body["paging"] = {"next": {"after": str(offset + limit), "link": f"?after={offset + limit}"}}
    return Reply(200, body, "CollectionResponseMultiAssociatedObjectWithLabel")


@route("POST", "/crm/v4/associations/{ft}/{tt}/batch/associate/default")
def batch_associate_default(req: Request, p: dict[str, str]) -> Reply:
    """Batch default associations -> 200 BatchResponsePublicDefaultAssociation (207 for missing ids)."""
    require_valid("BatchInputPublicDefaultAssociationMultiPost", req.body)
    from_type, to_type = parse_type(p["ft"]), parse_type(p["tt"])
    edges: list[Association] = []
    errors: list[dict[str, Any]] = []
    for item in req.body["inputs"]:
        try:
            edges += req.store.associate_default(from_type, item["from"]["id"], to_type, item["to"]["id"])
        except HubSpotError as exc:
            errors.append(
                {**exc.body(), "errors": [], "links": {}, "context": {"ids": [item["from"]["id"], item["to"]["id"]]}}
            )
    now = iso(req.store.clock_ms())
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": _default_results(edges),
        "startedAt": now,
        "completedAt": now,
    }
    if errors:
        body.update(numErrors=len(errors), errors=errors)
    return Reply(207 if errors else 200, body, "BatchResponsePublicDefaultAssociation")


@route("POST", "/crm/v4/associations/{ft}/{tt}/batch/create")
def batch_associate(req: Request, p: dict[str, str]) -> Reply:
    """Batch labeled associations -> 201 ``results`` of LabelsBetweenObjectPair (207 with errors)."""
    require_valid("BatchInputAssociationMultiPost", req.body)
    from_type, to_type = parse_type(p["ft"]), parse_type(p["tt"])
    results, errors = [], []
    for item in req.body["inputs"]:
        from_id, to_id = item["from"]["id"], item["to"]["id"]
        try:
            for spec in item["types"]:
                req.store.associate(
                    from_type, from_id, to_type, to_id, spec["associationCategory"], spec["associationTypeId"]
                )
            results.append(_labels_pair(req.store, from_type, from_id, to_type, to_id))
        except HubSpotError as exc:
            errors.append({**exc.body(), "errors": [], "links": {}, "context": {"ids": [from_id, to_id]}})
    now = iso(req.store.clock_ms())
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
    if errors:
        body.update(numErrors=len(errors), errors=errors)
    return Reply(207 if errors else 201, body)


@route("POST", "/crm/v4/associations/{ft}/{tt}/batch/read")
def batch_read_associations(req: Request, p: dict[str, str]) -> Reply:
    """Batch read of associations -> ``results: [{from: {id}, to: [...]}]``."""
    require_valid("BatchInputObjectId", req.body)
    from_type, to_type = parse_type(p["ft"]), parse_type(p["tt"])
    results = [
        {"from": {"id": item["id"]}, "to": _grouped(req.store.associations_of(from_type, item["id"], to_type))}
        for item in req.body["inputs"]
    ]
    now = iso(req.store.clock_ms())
    return Reply(200, {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})


@route("GET", "/crm/v4/associations/{ft}/{tt}/labels")
def association_labels(req: Request, p: dict[str, str]) -> Reply:
    """Association types (HUBSPOT_DEFINED and USER_DEFINED) available between two object types."""
    from_type, to_type = parse_type(p["ft"]), parse_type(p["tt"])
    results: list[dict[str, Any]] = []
    unlabeled, primary = ASSOCIATION_TYPES.get((from_type, to_type), (None, None))
    if unlabeled is not None:
        results.append({"category": "HUBSPOT_DEFINED", "typeId": unlabeled, "label": None})
    if primary is not None:
        results.append({"category": "HUBSPOT_DEFINED", "typeId": primary, "label": "Primary"})
    for type_id, (label, _inverse) in req.store.custom_labels.get((from_type, to_type), {}).items():
        results.append({"category": "USER_DEFINED", "typeId": type_id, "label": label})
    return Reply(200, {"results": results})


# ------------------------------------------------------- properties, pipelines
@route("GET", "/crm/v3/properties/{type}")
def list_properties(req: Request, p: dict[str, str]) -> Reply:
    """All property definitions of a type."""
    return Reply(200, {"results": [d.to_json() for d in req.store.properties[parse_type(p["type"])].values()]})


@route("POST", "/crm/v3/properties/{type}")
def create_property(req: Request, p: dict[str, str]) -> Reply:
    """Create a custom property -> 201 Property; 409 OBJECT_ALREADY_EXISTS if the name is taken."""
    require_valid("PropertyCreate", req.body)
    return Reply(201, req.store.add_property(parse_type(p["type"]), req.body).to_json())


@route("GET", "/crm/v3/properties/{type}/{name}")
def get_property(req: Request, p: dict[str, str]) -> Reply:
    """One property definition or 404."""
    prop = req.store.properties[parse_type(p["type"])].get(p["name"])
    if prop is None:
        raise HubSpotError(404, f"Unable to find property {p['name']} for object type {p['type']}", "OBJECT_NOT_FOUND")
    return Reply(200, prop.to_json())


def _pipelines(req: Request, object_type: str) -> list[dict[str, Any]]:
    return req.store.pipelines.get(parse_type(object_type), [])


def _pipeline(req: Request, p: dict[str, str]) -> dict[str, Any]:
    found = next((x for x in _pipelines(req, p["type"]) if x["id"] == p["pid"]), None)
    if found is None:
        raise HubSpotError(404, f"Unable to find pipeline {p['pid']}", "OBJECT_NOT_FOUND")
    return found


@route("GET", "/crm/v3/pipelines/{type}")
def list_pipelines(req: Request, p: dict[str, str]) -> Reply:
    """Pipelines of a type (tickets: default pipeline ``0``)."""
    return Reply(200, {"results": _pipelines(req, p["type"])})


@route("GET", "/crm/v3/pipelines/{type}/{pid}")
def get_pipeline(req: Request, p: dict[str, str]) -> Reply:
    """One pipeline with its stages."""
    return Reply(200, _pipeline(req, p))


@route("GET", "/crm/v3/pipelines/{type}/{pid}/stages")
def list_stages(req: Request, p: dict[str, str]) -> Reply:
    """Stages of a pipeline."""
    return Reply(200, {"results": _pipeline(req, p)["stages"]})
