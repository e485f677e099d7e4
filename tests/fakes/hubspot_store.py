"""In-memory HubSpot portal used by the fake server: records, property checks, search, associations."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from tests.fakes.hubspot_contract import HubSpotError, invalid_properties_error
from tests.fakes.hubspot_schema import (
    ASSOCIATION_TYPES,
    DEFAULT_PROPERTIES,
    OBJECT_TYPE_IDS,
    QUERY_PROPERTIES,
    READ_ONLY,
    PropertyDef,
    association_target,
    builtin_properties,
    created_property,
    default_pipelines,
    inverse_type_id,
    lastmod_property,
    singular,
)

MAX_SEARCH_WINDOW = 10_000


def iso(ms: int) -> str:
    """Epoch milliseconds -> HubSpot's ISO-8601 form ``2024-05-01T12:00:00.123Z``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_time_ms(value: str) -> int | None:
    """Parse epoch-millis or ISO-8601 (date or datetime) strings into epoch milliseconds."""
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


@dataclass
class CrmRecord:
    """One CRM object (contact, company, ticket, note, deal). Property values are strings."""

    id: str
    object_type: str
    properties: dict[str, str]
    created_ms: int
    updated_ms: int
    indexed_ms: int
    archived: bool = False

    @property
    def created_at(self) -> str:
        """``createdAt`` as HubSpot renders it."""
        return iso(self.created_ms)

    @property
    def updated_at(self) -> str:
        """``updatedAt`` as HubSpot renders it."""
        return iso(self.updated_ms)


@dataclass(frozen=True)
class Association:
    """One directed association edge with its v4 type."""

    from_type: str
    from_id: str
    to_type: str
    to_id: str
    category: str
    type_id: int
    label: str | None


class CrmStore:
    """The portal state. Every public method raises :class:`HubSpotError` on API-visible failures."""

    def __init__(self, clock_ms: Callable[[], int]) -> None:
        self.clock_ms = clock_ms
        created = iso(clock_ms())
        self.records: dict[str, dict[str, CrmRecord]] = {t: {} for t in OBJECT_TYPE_IDS}
        self.properties: dict[str, dict[str, PropertyDef]] = {
            t: builtin_properties(t, created) for t in OBJECT_TYPE_IDS
        }
        self.pipelines: dict[str, list[dict[str, Any]]] = default_pipelines(created)
        # Associations, indexed by both ends (every edge in both maps) with a global insertion number, so that
        # a portal with 100,000 edges answers a lookup without scanning them all (see :attr:`links`).
        self._out: dict[tuple[str, str], dict[Association, int]] = {}
        self._in: dict[tuple[str, str], dict[Association, int]] = {}
        self._edge_seq = itertools.count()
        # Property values → record ids, built per (type, property) on its first lookup and kept current by
        # create/update (the only ways a record's properties change): a unique-key check stays O(1).
        self._values: dict[tuple[str, str], dict[str, list[str]]] = {}
        self._indexed: dict[tuple[str, str], dict[str, str]] = {}
        self.custom_labels: dict[tuple[str, str], dict[int, tuple[str, int]]] = {}
        self.search_delay_ms = 0
        self._ids = itertools.count(1_000_000_001)
        self._label_ids = itertools.count(1001)

    # ------------------------------------------------------------------ records
    def new_id(self) -> str:
        """Next numeric-string id (one counter for every type, so ids never collide across types)."""
        return str(next(self._ids))

    def get(self, object_type: str, object_id: str, id_property: str | None = None) -> CrmRecord:
        """Live record by id or by a unique ``id_property``; 404 when missing or archived."""
        record = self.find(object_type, object_id, id_property)
        if record is None:
            raise HubSpotError(
                404, f"Object not found. {object_type} {object_id!r} does not exist.", "OBJECT_NOT_FOUND"
            )
        return record

    def find(self, object_type: str, object_id: str, id_property: str | None = None) -> CrmRecord | None:
        """Like :meth:`get` but returns None instead of raising."""
        if id_property and id_property != "hs_object_id":
            prop = self.properties[object_type].get(id_property)
            if prop is None or not prop.has_unique_value:
                raise HubSpotError(400, f"{id_property} is not a unique identifier property for {object_type}")
            return self.find_by(object_type, id_property, object_id)
        record = self.records[object_type].get(object_id)
        return None if record is None or record.archived else record

    def find_by(self, object_type: str, name: str, value: str) -> CrmRecord | None:
        """First live record whose property ``name`` equals ``value`` (case-insensitive)."""
        wanted = value.casefold()
        ids = self._value_index(object_type, name).get(wanted, ())
        for record_id in sorted(ids, key=int) if len(ids) > 1 else ids:  # ids count up: creation order
            record = self.records[object_type][record_id]
            current = record.properties.get(name)
            if not record.archived and current is not None and current.casefold() == wanted:
                return record
        return None

    def _value_index(self, object_type: str, name: str) -> dict[str, list[str]]:
        key = (object_type, name)
        index = self._values.get(key)
        if index is None:
            index, indexed = self._values[key], self._indexed[key] = {}, {}
            for record in self.records[object_type].values():
                self._index_one(key, index, indexed, record)
        return index

    @staticmethod
    def _index_one(key: tuple[str, str], index: dict[str, list[str]], indexed: dict[str, str],
                   record: CrmRecord) -> None:
        old = indexed.pop(record.id, None)
        if old is not None:
            index[old].remove(record.id)
            if not index[old]:
                del index[old]
        current = record.properties.get(key[1])
        if current is not None:
            folded = current.casefold()
            index.setdefault(folded, []).append(record.id)
            indexed[record.id] = folded

    def _reindex(self, record: CrmRecord) -> None:
        for key, index in self._values.items():
            if key[0] == record.object_type:
                self._index_one(key, index, self._indexed[key], record)

    def create(self, object_type: str, properties: dict[str, str], *, at_ms: int | None = None) -> CrmRecord:
        """Validate and insert a record (no associations; see :meth:`associate`)."""
        clean = self.check_properties(object_type, properties, existing=None)
        now = self.clock_ms() if at_ms is None else at_ms
        record_id = self.new_id()
        record = CrmRecord(record_id, object_type, {}, now, now, now + self.search_delay_ms)
        record.properties.update(clean)
        self._stamp(record, now, created=True)
        self.records[object_type][record_id] = record
        self._reindex(record)
        return record

    def update(self, record: CrmRecord, properties: dict[str, str], *, at_ms: int | None = None) -> CrmRecord:
        """Validate and apply a property update; bumps ``updatedAt`` and the last-modified property."""
        clean = self.check_properties(record.object_type, properties, existing=record)
        record.properties.update(clean)
        for name in [n for n, v in record.properties.items() if v == ""]:
            del record.properties[name]
        self._stamp(record, self.clock_ms() if at_ms is None else at_ms, created=False)
        self._reindex(record)
        return record

    def archive(self, record: CrmRecord) -> None:
        """Archive (soft-delete) a record; it disappears from get/search/association lists."""
        record.archived = True
        record.updated_ms = self.clock_ms()

    def _stamp(self, record: CrmRecord, now: int, *, created: bool) -> None:
        props = record.properties
        props["hs_object_id"] = record.id
        if created:
            props[created_property(record.object_type)] = iso(record.created_ms)
        record.updated_ms = max(now, record.created_ms)
        props[lastmod_property(record.object_type)] = iso(record.updated_ms)
        if record.object_type == "tickets":
            self._stamp_ticket(record)

    def _stamp_ticket(self, record: CrmRecord) -> None:
        props = record.properties
        props.setdefault("hs_pipeline", "0")
        closed = self._stage(props["hs_pipeline"], props.get("hs_pipeline_stage", ""))
        is_closed = closed is not None and closed["metadata"].get("ticketState") == "CLOSED"
        if is_closed and "closed_date" not in props:
            props["closed_date"] = iso(record.updated_ms)
        elif not is_closed:
            props.pop("closed_date", None)

    def _stage(self, pipeline_id: str, stage_id: str) -> dict[str, Any] | None:
        for pipeline in self.pipelines.get("tickets", []):
            if pipeline["id"] == pipeline_id:
                return next((s for s in pipeline["stages"] if s["id"] == stage_id), None)
        return None

    # --------------------------------------------------------------- validation
    def check_properties(
        self, object_type: str, properties: dict[str, str], existing: CrmRecord | None
    ) -> dict[str, str]:
        """Return the writable, normalised properties or raise HubSpot's 400/409 answers."""
        defs = self.properties[object_type]
        problems: list[tuple[str, str, str]] = []
        clean: dict[str, str] = {}
        for name, value in properties.items():
            prop = defs.get(name)
            if prop is None:
                problems.append((name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
                continue
            if name in READ_ONLY:
                continue
            if value != "" and prop.type in ("datetime", "date"):
                parsed = parse_time_ms(value)
                if parsed is None:
                    problems.append((name, "INVALID_DATE", f"{value} is not a valid date/datetime value"))
                    continue
                value = iso(parsed)
            if value != "" and prop.option_values:
                bad = [v for v in value.split(";") if v not in prop.option_values]
                if bad:
                    problems.append(
                        (name, "INVALID_OPTION", f"{bad[0]} was not one of the allowed options: {prop.option_values}")
                    )
                    continue
            clean[name] = value.lower() if (object_type, name) == ("contacts", "email") else value
        if problems:
            raise invalid_properties_error(problems)
        if object_type == "tickets":
            self._check_ticket(clean, existing)
        self._check_unique(object_type, clean, existing)
        return clean

    def _check_ticket(self, clean: dict[str, str], existing: CrmRecord | None) -> None:
        merged = {**(existing.properties if existing else {}), **clean}
        missing = [n for n in ("subject", "hs_pipeline_stage") if not merged.get(n)]
        if missing:
            raise invalid_properties_error(
                [(n, "REQUIRED_PROPERTY", f"Property {n} is required when creating a ticket") for n in missing]
            )
        pipeline = merged.get("hs_pipeline", "0")
        if self._stage(pipeline, merged["hs_pipeline_stage"]) is None:
            stage = merged["hs_pipeline_stage"]
            raise invalid_properties_error(
                [("hs_pipeline_stage", "INVALID_OPTION", f"{stage} is not a valid stage of pipeline {pipeline}")]
            )

    def _check_unique(self, object_type: str, clean: dict[str, str], existing: CrmRecord | None) -> None:
        for name, value in clean.items():
            if not value or not self.properties[object_type][name].has_unique_value:
                continue
            other = self.find_by(object_type, name, value)
            if other is not None and (existing is None or other.id != existing.id):
                if (object_type, name) == ("contacts", "email"):
                    raise HubSpotError(409, f"Contact already exists. Existing ID: {other.id}", "CONFLICT")
                raise HubSpotError(
                    409, f"{object_type} {other.id} already has that value for unique property {name}", "CONFLICT"
                )

    def add_property(self, object_type: str, body: dict[str, Any]) -> PropertyDef:
        """Create a custom property (``POST /crm/v3/properties/{objectType}``); 409 if it exists."""
        name = body["name"]
        if name in self.properties[object_type]:
            raise HubSpotError(409, f"A property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
        prop = PropertyDef(
            name=name,
            label=body["label"],
            type=body["type"],
            field_type=body["fieldType"],
            group_name=body["groupName"],
            created_at=iso(self.clock_ms()),
            hubspot_defined=False,
            has_unique_value=bool(body.get("hasUniqueValue", False)),
            options=list(body.get("options", [])),
            description=body.get("description", ""),
        )
        self.properties[object_type][name] = prop
        return prop

    # --------------------------------------------------------------- rendering
    def render(
        self, record: CrmRecord, requested: Iterable[str] | None = None, *, written: bool = False
    ) -> dict[str, Any]:
        """``SimplePublicObject`` JSON; ``written`` renders every set property like create/update do."""
        defs = self.properties[record.object_type]
        if written:
            props: dict[str, str | None] = dict(sorted(record.properties.items()))
        else:
            names = list(requested or DEFAULT_PROPERTIES[record.object_type])
            names += ["hs_object_id", created_property(record.object_type), lastmod_property(record.object_type)]
            props = {n: record.properties.get(n) for n in dict.fromkeys(names) if n in defs}
        return {
            "id": record.id,
            "properties": props,
            "createdAt": record.created_at,
            "updatedAt": record.updated_at,
            "archived": record.archived,
        }

    # ------------------------------------------------------------------ search
    def search(self, object_type: str, request: dict[str, Any]) -> tuple[list[CrmRecord], int, str | None]:
        """Run a ``PublicObjectSearchRequest``; returns (page, total, next ``after`` or None)."""
        limit = int(request.get("limit", 10))
        try:
            offset = int(request.get("after") or 0)
        except ValueError as exc:
            raise HubSpotError(400, f"Invalid 'after' value: {request.get('after')!r}") from exc
        if offset + limit > MAX_SEARCH_WINDOW:
            raise HubSpotError(400, "The search API can return at most 10,000 results for any given query.")
        groups = request.get("filterGroups") or []
        for group in groups:
            for flt in group["filters"]:
                self._check_filter(object_type, flt)
        now = self.clock_ms()
        hits = [
            r
            for r in self.records[object_type].values()
            if not r.archived
            and r.indexed_ms <= now
            and (not groups or any(all(self._match(r, f) for f in g["filters"]) for g in groups))
            and self._query_match(r, request.get("query"))
        ]
        hits.sort(key=lambda r: int(r.id))
        for spec in reversed(request.get("sorts") or []):
            name, descending = (
                (spec.lstrip("-"), spec.startswith("-"))
                if isinstance(spec, str)
                else (spec["propertyName"], spec.get("direction", "ASCENDING") == "DESCENDING")
            )
            self._check_property(object_type, name)
            present = [r for r in hits if r.properties.get(name)]
            absent = [r for r in hits if not r.properties.get(name)]
            present.sort(key=partial(self._sort_key, object_type, name), reverse=descending)
            hits = present + absent
        page = hits[offset : offset + limit]
        after = str(offset + limit) if offset + limit < len(hits) else None
        return page, len(hits), after

    def _sort_key(self, object_type: str, name: str, record: CrmRecord) -> tuple[int, Any]:
        return self._coerce(object_type, name, record.properties[name])

    def _check_property(self, object_type: str, name: str) -> None:
        if name not in self.properties[object_type]:
            raise HubSpotError(400, f"There was a problem with the request: property {name!r} does not exist")

    def _check_filter(self, object_type: str, flt: dict[str, Any]) -> None:
        self._check_property(object_type, flt["propertyName"])
        op = flt["operator"]
        need = {"IN": "values", "NOT_IN": "values", "HAS_PROPERTY": None, "NOT_HAS_PROPERTY": None}.get(op, "value")
        if need and need not in flt:
            raise HubSpotError(400, f"Filter with operator {op} on {flt['propertyName']} needs '{need}'")
        if op == "BETWEEN" and "highValue" not in flt:
            raise HubSpotError(400, f"BETWEEN filter on {flt['propertyName']} needs 'highValue'")
        for value in [flt.get("value"), flt.get("highValue"), *(flt.get("values") or [])]:
            if value is not None and op not in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
                self._coerce(object_type, flt["propertyName"], value, strict=True)

    def _coerce(self, object_type: str, name: str, value: str, *, strict: bool = False) -> tuple[int, Any]:
        ptype = self.properties[object_type][name].type
        if ptype in ("datetime", "date"):
            parsed = parse_time_ms(value)
            if parsed is None and strict:
                raise HubSpotError(400, f"{value!r} is not a valid date/datetime value for {name}")
            return (0, parsed) if parsed is not None else (1, value)
        if ptype == "number":
            try:
                return (0, float(value))
            except ValueError as exc:
                if strict:
                    raise HubSpotError(400, f"{value!r} is not a valid number for {name}") from exc
                return (1, value)
        return (0, value.casefold())

    def _match(self, record: CrmRecord, flt: dict[str, Any]) -> bool:
        name: str = flt["propertyName"]
        op: str = flt["operator"]
        raw = record.properties.get(name) or None
        if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
            return (raw is not None) == (op == "HAS_PROPERTY")
        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            pattern = re.compile(".*".join(map(re.escape, flt["value"].casefold().split("*"))))
            tokens = [raw.casefold(), *re.split(r"\s+", raw.casefold())] if raw else []
            return any(pattern.fullmatch(t) for t in tokens) == (op == "CONTAINS_TOKEN")
        coerce = self._coerce
        if op in ("IN", "NOT_IN"):
            hit = raw is not None and any(
                coerce(record.object_type, name, raw) == coerce(record.object_type, name, v) for v in flt["values"]
            )
            return hit == (op == "IN")
        if raw is None:
            return op == "NEQ"
        left, right = coerce(record.object_type, name, raw), coerce(record.object_type, name, flt["value"])
        if op == "BETWEEN":
            return right <= left <= coerce(record.object_type, name, flt["highValue"])
        checks: dict[str, bool] = {
            "EQ": left == right,
            "NEQ": left != right,
            "LT": left < right,
            "LTE": left <= right,
            "GT": left > right,
            "GTE": left >= right,
        }
        return checks[op]

    def _query_match(self, record: CrmRecord, query: str | None) -> bool:
        if not query:
            return True
        needle = query.casefold().strip("*")
        fields = QUERY_PROPERTIES[record.object_type]
        return any(needle in (record.properties.get(f) or "").casefold() for f in fields)

    # ------------------------------------------------------------ associations
    def define_label(self, from_type: str, to_type: str, label: str, inverse_label: str | None = None) -> int:
        """Create a USER_DEFINED association label pair; returns the forward ``associationTypeId``."""
        forward, backward = next(self._label_ids), next(self._label_ids)
        self.custom_labels.setdefault((from_type, to_type), {})[forward] = (label, backward)
        self.custom_labels.setdefault((to_type, from_type), {})[backward] = (inverse_label or label, forward)
        return forward

    def resolve_spec(self, from_type: str, to_type: str, category: str, type_id: int) -> tuple[str | None, int | None]:
        """Validate an AssociationSpec for a pair; returns (label, inverse typeId)."""
        if category == "HUBSPOT_DEFINED":
            target = association_target(from_type, type_id)
            if target is None or target[0] != to_type:
                raise HubSpotError(
                    400, f"{type_id} is not a valid HUBSPOT_DEFINED association type from {from_type} to {to_type}"
                )
            return ("Primary" if target[1] else None), inverse_type_id(from_type, to_type, type_id)
        custom = self.custom_labels.get((from_type, to_type), {}).get(type_id)
        if custom is None:
            raise HubSpotError(
                400, f"{category} association type {type_id} does not exist for {from_type} to {to_type}"
            )
        return custom

    def infer_target(self, from_type: str, category: str, type_id: int) -> str:
        """Target type implied by a typeId in a create body's ``associations`` (which names no type)."""
        if category == "HUBSPOT_DEFINED":
            target = association_target(from_type, type_id)
            if target is not None:
                return target[0]
        for (src, dst), labels in self.custom_labels.items():
            if src == from_type and type_id in labels:
                return dst
        raise HubSpotError(400, f"{type_id} is not a valid association type from {from_type}", "VALIDATION_ERROR")

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str, category: str, type_id: int) -> None:
        """Add an edge and its inverse. A new primary replaces the old primary of that record."""
        for object_type, object_id in ((from_type, from_id), (to_type, to_id)):
            if self.find(object_type, object_id) is None:
                raise HubSpotError(404, f"No {singular(object_type)} with ID {object_id} exists", "OBJECT_NOT_FOUND")
        label, inverse = self.resolve_spec(from_type, to_type, category, type_id)
        if label == "Primary":
            self._drop(
                a
                for a in [*self._out.get((from_type, from_id), {}), *self._in.get((from_type, from_id), {})]
                if a.label == "Primary"
                and (
                    (a.from_type, a.from_id, a.to_type) == (from_type, from_id, to_type)
                    or (a.to_type, a.to_id, a.from_type) == (from_type, from_id, to_type)
                )
            )
        edges = [Association(from_type, from_id, to_type, to_id, category, type_id, label)]
        if inverse is not None:
            inverse_label = (
                label if category == "HUBSPOT_DEFINED" else self.custom_labels[(to_type, from_type)][inverse][0]
            )
            edges.append(Association(to_type, to_id, from_type, from_id, category, inverse, inverse_label))
        for edge in edges:
            out = self._out.setdefault((edge.from_type, edge.from_id), {})
            if edge not in out:
                seq = next(self._edge_seq)
                out[edge] = seq
                self._in.setdefault((edge.to_type, edge.to_id), {})[edge] = seq

    def _drop(self, edges: Iterable[Association]) -> None:
        for edge in list(edges):
            self._out.get((edge.from_type, edge.from_id), {}).pop(edge, None)
            self._in.get((edge.to_type, edge.to_id), {}).pop(edge, None)

    def _between(self, a: tuple[str, str], b: tuple[str, str]) -> list[Association]:
        """Every edge between two records, either direction, in the order they were added."""
        found = {e: n for e, n in self._out.get(a, {}).items() if (e.to_type, e.to_id) == b}
        found.update({e: n for e, n in self._out.get(b, {}).items() if (e.to_type, e.to_id) == a})
        return sorted(found, key=found.__getitem__)

    @property
    def links(self) -> list[Association]:
        """Every association edge, in the order they were added."""
        seqs = {e: n for edges in self._out.values() for e, n in edges.items()}
        return sorted(seqs, key=seqs.__getitem__)

    def associate_default(self, from_type: str, from_id: str, to_type: str, to_id: str) -> list[Association]:
        """Create the unlabeled HUBSPOT_DEFINED association; returns the edges (both directions)."""
        pair = ASSOCIATION_TYPES.get((from_type, to_type))
        if pair is None:
            raise HubSpotError(400, f"There is no default association type from {from_type} to {to_type}")
        self.associate(from_type, from_id, to_type, to_id, "HUBSPOT_DEFINED", pair[0])
        return [
            a
            for a in self._between((from_type, from_id), (to_type, to_id))
            if a.label is None and a.category == "HUBSPOT_DEFINED"
        ]

    def disassociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Remove every association type between two records (both directions)."""
        self._drop(self._between((from_type, from_id), (to_type, to_id)))

    def associations_of(self, from_type: str, from_id: str, to_type: str | None = None) -> list[Association]:
        """Edges from one record (optionally to one type), skipping archived targets."""
        return sorted(
            (
                a
                for a in self._out.get((from_type, from_id), {})
                if (to_type is None or a.to_type == to_type)
                and self.find(a.to_type, a.to_id) is not None
            ),
            key=lambda a: (int(a.to_id), a.type_id),
        )
