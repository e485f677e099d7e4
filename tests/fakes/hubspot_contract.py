"""HubSpot contract helpers for the fake server: schema validation and HubSpot-shaped errors.

The request and response shapes come from the authored fact sheet
``tests/conformance/hubspot/hubspot-crm-contract.schema.json``. A few documented
contract-vs-reality differences are relaxed here (see ``_relax``), and a handful of endpoints
that the contract names without a ``$def`` get a small local schema that ``$ref``s the contract.
"""

from __future__ import annotations

import copy
import json
import uuid
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tests.support.conformance import conformance_path

CONTRACT_URN = "urn:conformance:hubspot-crm-contract"
LOCAL_URN = "urn:baton:fake-hubspot-local"

#: Error ``category`` HubSpot uses for each status when a test injects a failure without a body.
STATUS_CATEGORIES: dict[int, str] = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    409: "CONFLICT",
    429: "RATE_LIMITS",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}

_SORT_OBJECT = {
    "type": "object",
    "required": ["propertyName"],
    "properties": {
        "propertyName": {"type": "string"},
        "direction": {"enum": ["ASCENDING", "DESCENDING"]},
    },
}

#: Schemas for request bodies the contract mentions without a ``$def``.
_LOCAL_DEFS: dict[str, Any] = {
    "BatchInputUpsert": {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "inputs": {
                "type": "array",
                "maxItems": 100,
                "items": {
                    "type": "object",
                    "required": ["id", "properties"],
                    "properties": {
                        "id": {"type": "string"},
                        "idProperty": {"type": "string"},
                        "objectWriteTraceId": {"type": "string"},
                        "properties": {"$ref": f"{CONTRACT_URN}#/$defs/Properties"},
                    },
                    "additionalProperties": False,
                },
            }
        },
    },
    "BatchInputObjectId": {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "inputs": {"type": "array", "maxItems": 100, "items": {"$ref": f"{CONTRACT_URN}#/$defs/PublicObjectId"}}
        },
    },
    "BatchInputAssociationMultiPost": {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "inputs": {
                "type": "array",
                "maxItems": 100,
                "items": {
                    "type": "object",
                    "required": ["from", "to", "types"],
                    "properties": {
                        "from": {"$ref": f"{CONTRACT_URN}#/$defs/PublicObjectId"},
                        "to": {"$ref": f"{CONTRACT_URN}#/$defs/PublicObjectId"},
                        "types": {"type": "array", "items": {"$ref": f"{CONTRACT_URN}#/$defs/AssociationSpec"}},
                    },
                },
            }
        },
    },
    "AssociationSpecList": {
        "type": "array",
        "minItems": 1,
        "items": {"$ref": f"{CONTRACT_URN}#/$defs/AssociationSpec"},
    },
    "PropertyCreate": {
        "type": "object",
        "required": ["name", "label", "type", "fieldType", "groupName"],
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
            "label": {"type": "string"},
            "type": {"enum": ["string", "number", "date", "datetime", "enumeration", "bool"]},
            "fieldType": {
                "enum": [
                    "textarea",
                    "text",
                    "date",
                    "file",
                    "number",
                    "select",
                    "radio",
                    "checkbox",
                    "booleancheckbox",
                    "calculation_equation",
                    "html",
                    "phonenumber",
                ]
            },
            "groupName": {"type": "string"},
            "description": {"type": "string"},
            "options": {"type": "array"},
            "hasUniqueValue": {"type": "boolean"},
            "hidden": {"type": "boolean"},
            "formField": {"type": "boolean"},
            "displayOrder": {"type": "integer"},
        },
    },
}


@cache
def load_contract() -> dict[str, Any]:
    """Return the HubSpot contract document exactly as stored (parsed JSON)."""
    path = conformance_path("hubspot", "hubspot-crm-contract.schema.json")
    contract: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return contract


def _relax(contract: dict[str, Any]) -> dict[str, Any]:
    """Apply the documented relaxations where the contract is stricter than the live API.

    * ``PublicObjectSearchRequest.sorts``: the spec types items as strings, but HubSpot's own search
      guide sends ``{"propertyName", "direction"}`` objects; both are accepted.
    * ``BatchReadInputSimplePublicObjectId``: its ``$comment`` says the API accepts omitting
      ``properties``/``propertiesWithHistory``; only ``inputs`` stays required.
    """
    relaxed = copy.deepcopy(contract)
    defs = relaxed["$defs"]
    defs["PublicObjectSearchRequest"]["properties"]["sorts"]["items"] = {"anyOf": [{"type": "string"}, _SORT_OBJECT]}
    defs["BatchReadInputSimplePublicObjectId"]["required"] = ["inputs"]
    return relaxed


@cache
def _registry(relaxed: bool) -> Registry:
    contract = load_contract()
    doc = _relax(contract) if relaxed else contract
    local = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": LOCAL_URN, "$defs": _LOCAL_DEFS}
    return Registry().with_resources(
        [(CONTRACT_URN, Resource.from_contents(doc)), (LOCAL_URN, Resource.from_contents(local))]
    )


@cache
def _validator(def_name: str, relaxed: bool) -> Draft202012Validator:
    urn = LOCAL_URN if def_name in _LOCAL_DEFS else CONTRACT_URN
    return Draft202012Validator({"$ref": f"{urn}#/$defs/{def_name}"}, registry=_registry(relaxed))


def request_error(def_name: str, body: Any) -> str | None:
    """Validate a request body against ``def_name`` (relaxed contract); return a message or None."""
    return _first_error(_validator(def_name, True), body)


def response_error(def_name: str, body: Any) -> str | None:
    """Validate a response body against the contract ``def_name`` exactly as written."""
    return _first_error(_validator(def_name, False), body)


def contract_validator(def_name: str) -> Draft202012Validator:
    """A validator for a contract (or local) ``$def``, as written in the contract; for tests."""
    return _validator(def_name, False)


def _first_error(validator: Draft202012Validator, body: Any) -> str | None:
    errors = sorted(validator.iter_errors(body), key=lambda e: (len(list(e.absolute_path)), e.message))
    if not errors:
        return None
    err = errors[0]
    where = "/".join(str(p) for p in err.absolute_path) or "<root>"
    return f"{err.message} (at {where})"


class HubSpotError(Exception):
    """An error answer in HubSpot's JSON shape, raised by the store and rendered by the server."""

    def __init__(
        self,
        status: int,
        message: str,
        category: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        context: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category or STATUS_CATEGORIES.get(status, "ERROR")
        self.errors = errors
        self.context = context
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON error object (``status``, ``message``, ``correlationId``, ``category`` ...)."""
        return error_body(self.message, self.category, errors=self.errors, context=self.context, extra=self.extra)


def error_body(
    message: str,
    category: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    context: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build HubSpot's error JSON: ``{"status": "error", "message", "correlationId", "category", ...}``."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }
    if errors:
        body["errors"] = errors
    if context:
        body["context"] = context
    body.update(extra or {})
    return body


def invalid_properties_error(problems: list[tuple[str, str, str]]) -> HubSpotError:
    """400 ``Property values were not valid`` for ``(property, error_code, message)`` problems."""
    details = [
        {"isValid": False, "message": msg, "error": code, "name": name, "localizedErrorMessage": msg}
        for name, code, msg in problems
    ]
    errors = [{"message": msg, "code": code, "context": {"propertyName": [name]}} for name, code, msg in problems]
    return HubSpotError(
        400, f"Property values were not valid: {json.dumps(details)}", "VALIDATION_ERROR", errors=errors
    )


def require_valid(def_name: str, body: Any) -> None:
    """Raise a 400 ``VALIDATION_ERROR`` when ``body`` does not match ``def_name``."""
    problem = request_error(def_name, body)
    if problem is not None:
        raise HubSpotError(400, f"Invalid input JSON: {problem}", "VALIDATION_ERROR")
