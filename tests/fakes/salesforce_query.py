"""Runs parsed SOQL (:mod:`tests.fakes.salesforce_soql`) against the fake :class:`Org`."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from tests.fakes.salesforce_contract import SalesforceApiError
from tests.fakes.salesforce_org import Org
from tests.fakes.salesforce_schema import NUMERIC, STRINGY, FieldDef, canonical_id, parse_datetime_ms
from tests.fakes.salesforce_soql import BoolOp, Cond, Literal, Not, Query, day_range, parse, tripwire, walk

Chain = list[tuple[str, FieldDef]]

_KIND_FOR_TYPE = {"boolean": {"bool"}, "datetime": {"datetime", "range"}, "date": {"date", "range"}}


def _filter_error(message: str) -> SalesforceApiError:
    return SalesforceApiError(400, "INVALID_QUERY_FILTER_OPERATOR", message)


class QueryEngine:
    """Evaluate SOQL over an org: field-path resolution, filter type checks, ordering, rendering."""

    def __init__(self, org: Org, clock_ms: Callable[[], int], *, injection_tripwire: bool = True) -> None:
        self.org = org
        self.clock_ms = clock_ms
        self.injection_tripwire = injection_tripwire

    def run(self, soql: str, *, include_deleted: bool = False) -> tuple[list[dict[str, Any]], int, bool]:
        """Return (rendered records, totalSize, is COUNT()) or raise Salesforce's 400 errors."""
        query = parse(soql)
        if self.injection_tripwire:
            tripwire(query, soql)
        sobject = self.org.sobject_name(query.sobject)
        if sobject is None:
            raise SalesforceApiError(
                400,
                "INVALID_TYPE",
                f"\n{soql}\nsObject type '{query.sobject}' is not supported. If you are attempting to use a custom "
                "object, be sure to append the '__c' after the entity name.",
            )
        chains = [self._resolve(sobject, f, soql) for f in query.fields]
        conds = {id(n): self._check(sobject, n, soql) for n in walk(query.where) if isinstance(n, Cond)}
        rows = [
            r
            for r in self.org.records[sobject].values()
            if (include_deleted or not r["IsDeleted"]) and (query.where is None or self._eval(query.where, r, conds))
        ]
        rows = self._order(sobject, rows, query, soql)
        total = len(rows)
        if query.offset:
            rows = rows[query.offset :]
        if query.limit is not None:
            rows = rows[: query.limit]
            total = len(rows) if not query.count else min(total, query.limit)
        if query.count:
            return [], total, True
        return [self._render(sobject, r, chains) for r in rows], len(rows), False

    # ---------------------------------------------------------------- resolving
    def _resolve(self, sobject: str, path: str, soql: str) -> Chain:
        parts = path.split(".")
        if len(parts) > 1 and parts[0].lower() == sobject.lower():
            parts = parts[1:]
        chain: Chain = []
        current = sobject
        for i, part in enumerate(parts):
            if i == len(parts) - 1:
                fd = self.org.field(current, part)
            else:
                fd = next(
                    (
                        f
                        for f in self.org.objects[current].values()
                        if f.relationship_name and f.relationship_name.lower() == part.lower()
                    ),
                    None,
                )
            if fd is None:
                raise SalesforceApiError(
                    400,
                    "INVALID_FIELD",
                    f"\n{soql}\nERROR at Row:1:Column:1\nNo such column '{part}' on entity '{current}'. If you are "
                    "attempting to use a custom field, be sure to append the '__c' after the custom field name. "
                    "Please reference your WSDL or the describe call for the appropriate names.",
                )
            chain.append((current, fd))
            if i < len(parts) - 1:
                current = fd.reference_to[0]
        return chain

    def _value(self, record: dict[str, Any], chain: Chain) -> Any:
        current: dict[str, Any] | None = record
        for _sobject, fd in chain[:-1]:
            ref_id = current.get(fd.name) if current else None
            target = self.org.sobject_of(ref_id) if ref_id else None
            current = self.org.get(target, ref_id) if target and ref_id else None
            if current is None:
                return None
        return current.get(chain[-1][1].name) if current else None

    def _render(self, sobject: str, record: dict[str, Any], chains: list[Chain]) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": self.org.attributes(sobject, record["Id"])}
        for chain in chains:
            node, current = out, record
            for _sobject, fd in chain[:-1]:
                rel = fd.relationship_name or fd.name
                ref_id = current.get(fd.name)
                target = self.org.sobject_of(ref_id) if ref_id else None
                row = self.org.get(target, ref_id) if target and ref_id else None
                if row is None or target is None:
                    node.setdefault(rel, None)
                    break
                if not isinstance(node.get(rel), dict):
                    node[rel] = {"attributes": self.org.attributes(target, row["Id"])}
                node, current = node[rel], row
            else:
                node[chain[-1][1].name] = current.get(chain[-1][1].name)
        return out

    # ----------------------------------------------------------------- filters
    def _check(self, sobject: str, cond: Cond, soql: str) -> Chain:
        chain = self._resolve(sobject, cond.field, soql)
        fd = chain[-1][1]
        values = cond.value if isinstance(cond.value, list) else [cond.value]
        for lit in values:
            if lit.kind == "null":
                if cond.op not in ("=", "!=", "IN", "NOT IN"):
                    raise _filter_error(f"invalid operator on null for field '{fd.name}'")
                continue
            if cond.op == "LIKE" and (fd.type not in STRINGY or lit.kind != "string"):
                raise _filter_error(
                    f"invalid operator on field '{fd.name}': LIKE needs a string field and a quoted value"
                )
            if fd.type in ("id", "reference"):
                if lit.kind != "string" or (lit.value and cond.op != "LIKE" and canonical_id(lit.value) is None):
                    raise _filter_error(f"invalid ID field: {lit.value}")
            elif fd.type in STRINGY:
                if lit.kind != "string":
                    raise _filter_error(
                        f"value of filter criterion for field '{fd.name}' must be of type string and should be "
                        "enclosed in quotes"
                    )
            else:
                allowed = _KIND_FOR_TYPE.get(fd.type, {"number"} if fd.type in NUMERIC else {"string"})
                if lit.kind not in allowed:
                    raise _filter_error(
                        f"value of filter criterion for field '{fd.name}' must be of type {fd.type} and should not be "
                        "enclosed in quotes"
                    )
        return chain

    def _norm(self, fd: FieldDef, value: Any) -> Any:
        if value is None or value == "":
            return None
        if fd.type in ("id", "reference"):
            return canonical_id(value) or value
        if fd.type in STRINGY:
            return str(value).casefold()
        if fd.type in NUMERIC:
            return float(value)
        if fd.type == "datetime" and isinstance(value, str):
            return parse_datetime_ms(value)
        return value

    def _eval(self, node: Any, record: dict[str, Any], chains: dict[int, Chain]) -> bool:
        if isinstance(node, BoolOp):
            results = (self._eval(item, record, chains) for item in node.items)
            return all(results) if node.op == "AND" else any(results)
        if isinstance(node, Not):
            return not self._eval(node.item, record, chains)
        return self._compare(node, self._value(record, chains[id(node)]), chains[id(node)][-1][1])

    def _compare(self, cond: Cond, raw: Any, fd: FieldDef) -> bool:
        if cond.op == "LIKE":
            assert isinstance(cond.value, Literal)
            return (
                isinstance(raw, str) and re.fullmatch(cond.value.like or "", raw, re.IGNORECASE | re.DOTALL) is not None
            )
        if cond.op in ("IN", "NOT IN"):
            assert isinstance(cond.value, list)
            hit = any(self._compare(Cond(cond.field, "=", lit), raw, fd) for lit in cond.value)
            return hit if cond.op == "IN" else not hit
        assert isinstance(cond.value, Literal)
        lit = cond.value
        left = self._norm(fd, raw)
        if lit.kind == "range":
            if left is None:
                return cond.op == "!="
            start, end = day_range(lit.value[0], lit.value[1], self.clock_ms())
            if fd.type == "date":
                left = parse_datetime_ms(raw) or 0
            inside = start <= left <= end
            return bool(
                {
                    "=": inside,
                    "!=": not inside,
                    "<": left < start,
                    "<=": left <= end,
                    ">": left > end,
                    ">=": left >= start,
                }[cond.op]
            )
        right = None if lit.kind == "null" else self._norm(fd, lit.value)
        if left is None or right is None:
            return (left is None and right is None) == (cond.op == "=") if cond.op in ("=", "!=") else False
        return bool(
            {
                "=": left == right,
                "!=": left != right,
                "<": left < right,
                "<=": left <= right,
                ">": left > right,
                ">=": left >= right,
            }[cond.op]
        )

    # ---------------------------------------------------------------- ordering
    def _sort_key(self, fd: FieldDef, chain: Chain, record: dict[str, Any]) -> Any:
        return self._norm(fd, self._value(record, chain))

    def _order(self, sobject: str, rows: list[dict[str, Any]], query: Query, soql: str) -> list[dict[str, Any]]:
        rows = sorted(rows, key=lambda r: r["Id"])
        for path, descending, nulls_last in reversed(query.order):
            chain = self._resolve(sobject, path, soql)
            fd = chain[-1][1]
            present = [r for r in rows if self._norm(fd, self._value(r, chain)) is not None]
            absent = [r for r in rows if self._norm(fd, self._value(r, chain)) is None]
            present.sort(key=partial(self._sort_key, fd, chain), reverse=descending)
            rows = present + absent if nulls_last else absent + present
        return rows
