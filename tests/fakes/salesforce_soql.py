"""Just enough SOQL for the fake org.

Supported: ``SELECT f1, Rel.f2 | COUNT() FROM Obj [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
[LIMIT n] [OFFSET n]`` with ``=, !=, <>, <, <=, >, >=, LIKE, IN, NOT IN``, ``AND``/``OR``/``NOT`` and
parentheses; string literals in single quotes with SOQL escapes (``\\'``, ``\\\\``, ``\\n``, ``\\%``, ...);
numbers, ``true/false/null``, date/datetime literals and ``TODAY``/``YESTERDAY``/``LAST_N_DAYS:n``.

Like Salesforce it rejects mixing ``AND``/``OR`` without parentheses, a literal on the left of an
operator, quoted values for datetime/boolean/number fields and malformed ids. On top of that the
fake has an *injection tripwire* (on by default): a WHERE clause whose ``OR`` has a branch comparing
a field with the empty string or ``LIKE '%'`` -- the shape an unescaped quote produces, e.g.
``Email = 'a' OR Email != ''`` -- is answered ``MALFORMED_QUERY``. Real Salesforce would run it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.salesforce_contract import SalesforceApiError, malformed_query
from tests.fakes.salesforce_schema import parse_datetime_ms

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_TOKEN_RE = re.compile(
    r"(?P<ws>\s+)|(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))"
    r"|(?P<date>\d{4}-\d{2}-\d{2})(?![\d:T])|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<op>!=|<>|<=|>=|=|<|>)|(?P<punct>[(),:])"
)
_KEYWORDS = frozenset(
    "SELECT FROM WHERE AND OR NOT IN LIKE ORDER BY ASC DESC NULLS FIRST LAST LIMIT OFFSET TRUE FALSE NULL "
    "INCLUDES EXCLUDES GROUP HAVING WITH FOR USING SCOPE".split()
)
_DATE_LITERALS = frozenset({"TODAY", "YESTERDAY", "TOMORROW"})
_DATE_N_LITERALS = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO"})


@dataclass
class Token:
    """A lexical token; ``like`` holds the LIKE regex of a string literal."""

    kind: str
    value: Any
    pos: int
    like: str | None = None


@dataclass
class Literal:
    """A value on the right of an operator."""

    kind: str  # string | number | bool | null | datetime | date | range
    value: Any
    like: str | None = None


@dataclass
class Cond:
    """``field op value`` (``value`` is a list for IN / NOT IN)."""

    field: str
    op: str
    value: Literal | list[Literal]


@dataclass
class BoolOp:
    """``AND`` / ``OR`` of several nodes."""

    op: str
    items: list[Any]


@dataclass
class Not:
    """``NOT node``."""

    item: Any


@dataclass
class Query:
    """A parsed SELECT."""

    fields: list[str]
    sobject: str
    count: bool = False
    where: Any = None
    order: list[tuple[str, bool, bool]] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


def _error(soql: str, pos: int, message: str) -> SalesforceApiError:
    return malformed_query(f"\n{soql}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{message}")


def tokenize(soql: str) -> list[Token]:
    """Split SOQL into tokens; string literals are decoded here (and unknown escapes rejected)."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(soql):
        if soql[pos] == "'":
            token, pos = _string(soql, pos)
            tokens.append(token)
            continue
        match = _TOKEN_RE.match(soql, pos)
        if match is None:
            raise _error(soql, pos, f"unexpected token: '{soql[pos]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            text = match.group()
            if kind == "ident" and text.upper() in _KEYWORDS:
                tokens.append(Token("kw", text.upper(), pos))
            else:
                tokens.append(Token(kind, text, pos))
        pos = match.end()
    tokens.append(Token("eof", None, len(soql)))
    return tokens


def _string(soql: str, start: int) -> tuple[Token, int]:
    plain: list[str] = []
    like: list[str] = []
    pos = start + 1
    while pos < len(soql):
        ch = soql[pos]
        if ch == "'":
            return Token("string", "".join(plain), start, "".join(like)), pos + 1
        if ch == "\\":
            nxt = soql[pos + 1 : pos + 2]
            if nxt in _ESCAPES:
                plain.append(_ESCAPES[nxt])
                like.append(re.escape(_ESCAPES[nxt]))
            elif nxt in ("%", "_"):
                plain.append("\\" + nxt)
                like.append(re.escape(nxt))
            elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", soql[pos + 2 : pos + 6]):
                char = chr(int(soql[pos + 2 : pos + 6], 16))
                plain.append(char)
                like.append(re.escape(char))
                pos += 4
            else:
                raise _error(soql, pos, f"Invalid string literal. Illegal escape sequence '\\{nxt}'")
            pos += 2
            continue
        plain.append(ch)
        like.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        pos += 1
    raise _error(soql, start, "unexpected token: unterminated string literal")


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, token: Token | None = None) -> SalesforceApiError:
        token = token or self.peek()
        shown = "<EOF>" if token.kind == "eof" else str(token.value if token.kind != "string" else f"'{token.value}'")
        return _error(self.soql, token.pos, f"unexpected token: {shown}")

    def accept(self, kind: str, value: str | None = None) -> Token | None:
        token = self.peek()
        if token.kind == kind and (value is None or token.value == value):
            self.i += 1
            return token
        return None

    def expect(self, kind: str, value: str | None = None) -> Token:
        token = self.accept(kind, value)
        if token is None:
            raise self.fail()
        return token

    def query(self) -> Query:
        self.expect("kw", "SELECT")
        fields, count = self.select_list()
        self.expect("kw", "FROM")
        query = Query(fields, self.expect("ident").value, count)
        if self.accept("kw", "WHERE"):
            query.where = self.condition()
        if self.accept("kw", "ORDER"):
            self.expect("kw", "BY")
            query.order = self.order_list()
        if self.accept("kw", "LIMIT"):
            query.limit = int(self.expect("number").value)
        if self.accept("kw", "OFFSET"):
            query.offset = int(self.expect("number").value)
        if self.peek().kind != "eof":
            raise self.fail()
        return query

    def select_list(self) -> tuple[list[str], bool]:
        token = self.peek()
        if token.kind == "ident" and token.value.upper() == "COUNT" and self.tokens[self.i + 1].value == "(":
            self.i += 2
            self.expect("punct", ")")
            return [], True
        fields = [self.expect("ident").value]
        while self.accept("punct", ","):
            if self.peek().kind == "punct" and self.peek().value == "(":
                raise _error(self.soql, self.peek().pos, "(fake) relationship subqueries are not supported")
            fields.append(self.expect("ident").value)
        return fields, False

    def order_list(self) -> list[tuple[str, bool, bool]]:
        order = []
        while True:
            name = self.expect("ident").value
            descending = False
            if self.accept("kw", "DESC"):
                descending = True
            else:
                self.accept("kw", "ASC")
            nulls_last = descending
            if self.accept("kw", "NULLS"):
                nulls_last = self.accept("kw", "LAST") is not None
                if not nulls_last:
                    self.expect("kw", "FIRST")
            order.append((name, descending, nulls_last))
            if not self.accept("punct", ","):
                return order

    def condition(self) -> Any:
        items = [self.factor()]
        ops: set[str] = set()
        while self.peek().kind == "kw" and self.peek().value in ("AND", "OR"):
            token = self.next()
            ops.add(token.value)
            if len(ops) > 1:
                raise self.fail(token)
            items.append(self.factor())
        return items[0] if len(items) == 1 else BoolOp(ops.pop(), items)

    def factor(self) -> Any:
        if self.accept("kw", "NOT"):
            return Not(self.factor())
        if self.accept("punct", "("):
            inner = self.condition()
            self.expect("punct", ")")
            return inner
        token = self.peek()
        if token.kind != "ident":
            raise self.fail()
        name = self.next().value
        if self.accept("kw", "LIKE"):
            return Cond(name, "LIKE", self.literal())
        negated = bool(self.accept("kw", "NOT"))
        if self.accept("kw", "IN"):
            self.expect("punct", "(")
            values = [self.literal()]
            while self.accept("punct", ","):
                values.append(self.literal())
            self.expect("punct", ")")
            return Cond(name, "NOT IN" if negated else "IN", values)
        if negated:
            raise self.fail()
        op = self.expect("op").value
        return Cond(name, "!=" if op == "<>" else op, self.literal())

    def literal(self) -> Literal:
        token = self.next()
        if token.kind == "string":
            return Literal("string", token.value, token.like)
        if token.kind == "number":
            return Literal("number", float(token.value))
        if token.kind == "datetime":
            return Literal("datetime", parse_datetime_ms(token.value))
        if token.kind == "date":
            return Literal("date", token.value)
        if token.kind == "kw" and token.value in ("TRUE", "FALSE"):
            return Literal("bool", token.value == "TRUE")
        if token.kind == "kw" and token.value == "NULL":
            return Literal("null", None)
        if token.kind == "ident" and token.value.upper() in _DATE_LITERALS | _DATE_N_LITERALS:
            amount = 0
            if token.value.upper() in _DATE_N_LITERALS:
                self.expect("punct", ":")
                amount = int(self.expect("number").value)
            return Literal("range", (token.value.upper(), amount))
        raise self.fail(token)


def parse(soql: str) -> Query:
    """Parse SOQL into a :class:`Query` or raise ``MALFORMED_QUERY``."""
    return _Parser(soql.strip()).query()


def walk(node: Any) -> list[Any]:
    if isinstance(node, BoolOp):
        return [node, *(n for item in node.items for n in walk(item))]
    if isinstance(node, Not):
        return [node, *walk(node.item)]
    return [node] if node is not None else []


def tripwire(query: Query, soql: str) -> None:
    """Reject the tautology an unescaped quote produces (see module docstring)."""
    for node in walk(query.where):
        if not isinstance(node, BoolOp) or node.op != "OR":
            continue
        for item in node.items:
            if (
                isinstance(item, Cond)
                and isinstance(item.value, Literal)
                and item.value.kind == "string"
                and (
                    (item.op in ("=", "!=") and item.value.value == "")
                    or (item.op == "LIKE" and set(item.value.value) <= {"%"})
                )
            ):
                raise malformed_query(
                    f"(fake Salesforce injection tripwire) OR-branch '{item.field} {item.op} "
                    f"'{item.value.value}'' looks like an unescaped quote in: {soql}"
                )


def day_range(name: str, amount: int, now_ms: int) -> tuple[int, int]:
    today = datetime.fromtimestamp(now_ms / 1000, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day = timedelta(days=1)
    start, end = {
        "TODAY": (today, today + day),
        "YESTERDAY": (today - day, today),
        "TOMORROW": (today + day, today + 2 * day),
        "LAST_N_DAYS": (today - amount * day, today + day),
        "NEXT_N_DAYS": (today + day, today + (amount + 1) * day),
        "N_DAYS_AGO": (today - amount * day, today - (amount - 1) * day),
    }[name]
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000) - 1
