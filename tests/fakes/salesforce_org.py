"""In-memory Salesforce org for the fake: records by sObject and id, validated writes."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any

from tests.fakes.salesforce_contract import SalesforceApiError, not_found, sf_error
from tests.fakes.salesforce_schema import (
    BASE62,
    EMAIL_RE,
    KEY_PREFIXES,
    NUMERIC,
    STRINGY,
    FieldDef,
    canonical_id,
    parse_datetime_ms,
    sf_datetime,
    standard_objects,
    to18,
)


class Org:
    """Records by sObject and 18-character id. Writes raise :class:`SalesforceApiError` like the API."""

    def __init__(self, clock_ms: Callable[[], int], external_id_field: str, version: str) -> None:
        self.clock_ms = clock_ms
        self.version = version
        self.external_id_field = external_id_field
        self.objects: dict[str, dict[str, FieldDef]] = {
            name: {f.name.lower(): f for f in fields} for name, fields in standard_objects(external_id_field).items()
        }
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.objects}
        self._serial = itertools.count(1)
        self._case_numbers = itertools.count(1001)
        self.org_id = to18("00D5g00000FAKE1")
        self.api_user_id = self._insert_raw(
            "User",
            {
                "Username": "integration@baton.example",
                "Name": "Baton Integration",
                "Email": "integration@baton.example",
            },
        )

    # ----------------------------------------------------------------- metadata
    def sobject_name(self, name: str) -> str | None:
        """Canonical sObject name (case-insensitive lookup) or None."""
        return next((n for n in self.objects if n.lower() == name.lower()), None)

    def require_sobject(self, name: str) -> str:
        """Canonical sObject name or 404 NOT_FOUND (REST path semantics)."""
        canonical = self.sobject_name(name)
        if canonical is None:
            raise not_found(f"The requested resource does not exist: sObject type '{name}' is not supported.")
        return canonical

    def field(self, sobject: str, name: str) -> FieldDef | None:
        """Field metadata, case-insensitive."""
        return self.objects[sobject].get(name.lower())

    def add_field(self, sobject: str, spec: FieldDef) -> None:
        """Add a (custom) field to an sObject."""
        self.objects[sobject][spec.name.lower()] = spec
        for record in self.records[sobject].values():
            record.setdefault(spec.name, spec.default)

    def describe(self, sobject: str) -> dict[str, Any]:
        """A compact ``describe`` answer."""
        return {
            "name": sobject,
            "label": sobject,
            "keyPrefix": KEY_PREFIXES.get(sobject),
            "custom": False,
            "createable": True,
            "updateable": True,
            "deletable": True,
            "queryable": True,
            "fields": [f.describe() for f in self.objects[sobject].values()],
            "urls": {"sobject": f"/services/data/v{self.version}/sobjects/{sobject}"},
        }

    # ------------------------------------------------------------------ records
    def new_id(self, sobject: str) -> str:
        """A fresh 18-character id with the sObject's key prefix."""
        n, body = 14_776_336 + next(self._serial) * 7_919, ""  # 62**4 + step: mixed-case, realistic-looking ids
        while n:
            n, digit = divmod(n, 62)
            body = BASE62[digit] + body
        return to18(KEY_PREFIXES.get(sobject, "a00") + "5g0" + body.rjust(9, "0"))

    def sobject_of(self, record_id: str) -> str | None:
        """sObject owning an id, by key prefix."""
        return next((name for name, prefix in KEY_PREFIXES.items() if record_id.startswith(prefix)), None)

    def get(self, sobject: str, raw_id: str, *, include_deleted: bool = False) -> dict[str, Any] | None:
        """A record by 15/18-character id, or None."""
        record_id = canonical_id(raw_id)
        record = self.records[sobject].get(record_id) if record_id else None
        if record is None or (record["IsDeleted"] and not include_deleted):
            return None
        return record

    def find(self, sobject: str, field_name: str, value: Any) -> list[dict[str, Any]]:
        """Live records whose field equals ``value`` (strings compare case-insensitively)."""
        fd = self.field(sobject, field_name)
        if fd is None:
            return []
        wanted = value.casefold() if isinstance(value, str) else value
        found = []
        for record in self.records[sobject].values():
            current = record.get(fd.name)
            if not record["IsDeleted"] and (current.casefold() if isinstance(current, str) else current) == wanted:
                found.append(record)
        return found

    def render(self, sobject: str, record: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
        """A record as the REST API returns it, with ``attributes``."""
        defs = [self.field(sobject, f) for f in fields] if fields else list(self.objects[sobject].values())
        out: dict[str, Any] = {"attributes": self.attributes(sobject, record["Id"])}
        for fd in defs:
            if fd is not None:
                out[fd.name] = record.get(fd.name)
        return out

    def attributes(self, sobject: str, record_id: str) -> dict[str, str]:
        """``{"type", "url"}`` of a record."""
        return {"type": sobject, "url": f"/services/data/v{self.version}/sobjects/{sobject}/{record_id}"}

    def snapshot(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Deep copy of all records (for allOrNone rollbacks)."""
        return copy.deepcopy(self.records)

    def restore(self, snapshot: dict[str, dict[str, dict[str, Any]]]) -> None:
        """Roll back to a :meth:`snapshot`."""
        self.records = snapshot

    # ------------------------------------------------------------------- writes
    def insert(self, sobject: str, body: dict[str, Any]) -> str:
        """Validate and create a record; returns its id."""
        clean = self._check(sobject, body, None)
        return self._insert_raw(sobject, clean)

    def _insert_raw(self, sobject: str, values: dict[str, Any]) -> str:
        now = sf_datetime(self.clock_ms())
        record_id = self.new_id(sobject)
        user = getattr(self, "api_user_id", None) or record_id
        record: dict[str, Any] = {f.name: f.default for f in self.objects[sobject].values()}
        record.update(values)
        record.update(
            Id=record_id,
            IsDeleted=False,
            CreatedDate=now,
            CreatedById=user,
            LastModifiedDate=now,
            LastModifiedById=user,
            SystemModstamp=now,
        )
        if "OwnerId" in record and record["OwnerId"] is None:
            record["OwnerId"] = user
        if sobject == "Case":
            record["CaseNumber"] = f"{next(self._case_numbers):08d}"
        self._derive(sobject, record, now)
        self.records[sobject][record_id] = record
        return record_id

    def update(self, sobject: str, raw_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Validate and apply a partial update; 404 for unknown ids."""
        record = self.get(sobject, raw_id)
        if record is None:
            raise not_found()
        clean = self._check(sobject, body, record)
        now = sf_datetime(self.clock_ms())
        record.update(clean)
        record.update(LastModifiedDate=now, SystemModstamp=now, LastModifiedById=self.api_user_id)
        self._derive(sobject, record, now)
        return record

    def delete(self, sobject: str, raw_id: str) -> None:
        """Move a record to the recycle bin (``IsDeleted = true``; visible to queryAll only)."""
        record = self.get(sobject, raw_id)
        if record is None:
            deleted = self.get(sobject, raw_id, include_deleted=True)
            if deleted is not None:
                raise SalesforceApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
            raise not_found()
        record["IsDeleted"] = True

    def _derive(self, sobject: str, record: dict[str, Any], now: str) -> None:
        if sobject == "Case":
            closed = record.get("Status") == "Closed"
            record["ClosedDate"] = (record.get("ClosedDate") or now) if closed else None
            record["IsClosed"] = closed
        if sobject == "Contact":
            record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p)

    def _check(self, sobject: str, body: dict[str, Any], record: dict[str, Any] | None) -> dict[str, Any]:
        """Validate a write like Salesforce: unknown/read-only fields, types, lengths, picklists,
        references, required fields and unique values. Returns values keyed by canonical name."""
        if not isinstance(body, dict):
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of SObject from non-object")
        errors: list[dict[str, Any]] = []
        clean: dict[str, Any] = {}
        for key, value in body.items():
            if key == "attributes":
                continue
            fd = self.field(sobject, key)
            if fd is None:
                errors.append(sf_error("INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject}"))
                continue
            if not (fd.createable if record is None else fd.updateable):
                errors.append(
                    sf_error(
                        "INVALID_FIELD_FOR_INSERT_UPDATE",
                        f"Unable to create/update fields: {fd.name}. Please check the security settings of this field "
                        "and verify that it is read/write for your profile or permission set.",
                        [fd.name],
                    )
                )
                continue
            problem, converted = self._check_value(fd, value)
            if problem is not None:
                errors.append(problem)
            else:
                clean[fd.name] = converted
        merged = {**(record or {}), **clean}
        missing = [f.name for f in self.objects[sobject].values() if f.required and merged.get(f.name) in (None, "")]
        if missing and not errors:
            errors.append(
                sf_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
            )
        for name, value in clean.items():
            fd = self.objects[sobject][name.lower()]
            if fd.unique and value is not None:
                clash = [r for r in self.find(sobject, name, value) if record is None or r["Id"] != record["Id"]]
                if clash:
                    errors.append(
                        sf_error(
                            "DUPLICATE_VALUE",
                            f"duplicate value found: {name} duplicates value on record with id: {clash[0]['Id']}",
                            [name],
                        )
                    )
        if errors:
            raise SalesforceApiError.many(400, errors)
        return clean

    def _check_value(self, fd: FieldDef, value: Any) -> tuple[dict[str, Any] | None, Any]:
        if value is None or value == "":
            if fd.required:
                return sf_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{fd.name}]", [fd.name]), None
            return None, None
        bad_type = sf_error(
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {fd.type} from value {value!r} for field {fd.name}",
            [fd.name],
        )
        if fd.type in STRINGY:
            if not isinstance(value, str):
                return bad_type, None
            return self._check_text(fd, value)
        if fd.type == "boolean":
            return (None, value) if isinstance(value, bool) else (bad_type, None)
        if fd.type in NUMERIC:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            return (None, value) if ok else (bad_type, None)
        if fd.type in ("datetime", "date"):
            parsed = parse_datetime_ms(value) if isinstance(value, str) else None
            if parsed is None:
                return bad_type, None
            return None, (sf_datetime(parsed) if fd.type == "datetime" else value[:10])
        return None, value

    def _check_text(self, fd: FieldDef, value: str) -> tuple[dict[str, Any] | None, Any]:
        if fd.length and len(value) > fd.length:
            return sf_error(
                "STRING_TOO_LONG",
                f"{fd.name}: data value too large: {value[:40]!r} (max length={fd.length})",
                [fd.name],
            ), None
        if fd.type == "email" and not EMAIL_RE.match(value):
            return sf_error("INVALID_EMAIL_ADDRESS", f"{fd.name}: invalid email address: {value}", [fd.name]), None
        if fd.type == "picklist" and fd.restricted and value not in (fd.picklist or ()):
            return sf_error(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{fd.name}: bad value for restricted picklist field: {value}",
                [fd.name],
            ), None
        if fd.type == "reference":
            return self._check_reference(fd, value)
        return None, value

    def _check_reference(self, fd: FieldDef, value: str) -> tuple[dict[str, Any] | None, Any]:
        target_id = canonical_id(value)
        wrong = sf_error("MALFORMED_ID", f"{fd.name}: id value of incorrect type: {value}", [fd.name])
        if target_id is None:
            return wrong, None
        target = self.sobject_of(target_id)
        if target not in fd.reference_to:
            return sf_error(
                "FIELD_INTEGRITY_EXCEPTION", f"{fd.name}: id value of incorrect type: {value}", [fd.name]
            ), None
        row = self.records[target].get(target_id)
        if row is None:
            return sf_error("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {value}", [fd.name]), None
        if row["IsDeleted"]:
            return sf_error("ENTITY_IS_DELETED", "entity is deleted", [fd.name]), None
        return None, target_id
