"""Salesforce contract helpers for the fake org: ``$defs`` validation and Salesforce-shaped errors.

Shapes come from ``tests/conformance/salesforce/salesforce-rest-contract.schema.json``. Errors are
Salesforce's JSON list ``[{"message", "errorCode", "fields"}]``.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from tests.support.conformance import conformance_dir, conformance_path

__all__ = ["conformance_dir"]

CONTRACT_URN = "urn:conformance:salesforce-rest-contract"


@cache
def load_contract() -> dict[str, Any]:
    """The Salesforce contract document exactly as stored."""
    path = conformance_path("salesforce", "salesforce-rest-contract.schema.json")
    contract: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return contract


@cache
def contract_validator(def_name: str) -> Draft202012Validator:
    """A validator for one ``$def`` of the contract."""
    registry = Registry().with_resource(CONTRACT_URN, Resource.from_contents(load_contract()))
    return Draft202012Validator({"$ref": f"{CONTRACT_URN}#/$defs/{def_name}"}, registry=registry)


def first_error(def_name: str, body: Any) -> ValidationError | None:
    """The most specific validation error of ``body`` against ``def_name``, or None."""
    errors = list(contract_validator(def_name).iter_errors(body))
    if not errors:
        return None
    return sorted(errors, key=lambda e: (-len(list(e.absolute_path)), e.message))[0]


def sf_error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    """One Salesforce error item."""
    return {"message": message, "errorCode": code, "fields": fields or []}


class SalesforceApiError(Exception):
    """A non-2xx answer with Salesforce's error list as body."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.errors = [sf_error(code, message, fields)]

    @property
    def code(self) -> str:
        """``errorCode`` of the first error."""
        return str(self.errors[0]["errorCode"])

    @classmethod
    def many(cls, status: int, errors: list[dict[str, Any]]) -> SalesforceApiError:
        """An answer carrying several error items."""
        exc = cls(status, errors[0]["errorCode"], errors[0]["message"], errors[0].get("fields"))
        exc.errors = errors
        return exc


def not_found(message: str = "The requested resource does not exist") -> SalesforceApiError:
    """404 ``NOT_FOUND``."""
    return SalesforceApiError(404, "NOT_FOUND", message)


def malformed_query(message: str) -> SalesforceApiError:
    """400 ``MALFORMED_QUERY``."""
    return SalesforceApiError(400, "MALFORMED_QUERY", message)


def require_valid(def_name: str, body: Any, *, codes: dict[str, str] | None = None) -> None:
    """Raise a 400 when ``body`` violates ``def_name``; ``codes`` maps a JSON-schema keyword to an
    ``errorCode`` (default ``JSON_PARSER_ERROR`` for type problems, ``INVALID_INPUT`` otherwise)."""
    err = first_error(def_name, body)
    if err is None:
        return
    mapping = {
        "type": "JSON_PARSER_ERROR",
        "maxLength": "STRING_TOO_LONG",
        "not": "INVALID_FIELD_FOR_INSERT_UPDATE",
        **(codes or {}),
    }
    where = "/".join(str(p) for p in err.absolute_path)
    fields = [str(err.absolute_path[-1])] if err.absolute_path and isinstance(err.absolute_path[-1], str) else []
    if err.validator == "not":
        fields = [
            f
            for f in ("CaseNumber", "Id", "CreatedDate", "IsClosed")
            if isinstance(err.instance, dict) and f in err.instance
        ]
        message = (
            f"Unable to create/update fields: {', '.join(fields)}. Please check the security settings of this field."
        )
    else:
        message = f"{err.message}" + (f" (at {where})" if where else "")
    raise SalesforceApiError(400, mapping.get(str(err.validator), "INVALID_INPUT"), message, fields)
