"""The SOQL subset the Salesforce simulator answers: parse, bind to a schema, filter and sort.

    SELECT <field>[, <field>...] | COUNT() FROM <SObject>
    [WHERE <condition>] [ORDER BY <field> [ASC|DESC] [NULLS FIRST|LAST][, ...]] [LIMIT n] [OFFSET n]

A condition is `field <op> literal` (=, !=, <>, <, <=, >, >=), `field [NOT] IN (literal, ...)` or
`field LIKE 'pattern'`, combined with AND, OR, NOT and parentheses. Literals: quoted strings, numbers,
true/false, null, datetimes (2024-05-01T00:00:00Z, 2024-05-01T00:00:00.000+0000) and dates. A field
may be one relationship hop, e.g. Parent.MDM_Golden_ID__c. As in Salesforce, text compares without
regard to case, `!=` keeps rows whose value is null, and datetimes must not be quoted.
"""

import datetime
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

# Field kinds decide how a field compares; the simulator maps its field types onto these.
STRING, ID, DATETIME, NUMBER, BOOLEAN = "string", "id", "datetime", "number", "boolean"

_KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC", "NULLS",
    "FIRST", "LAST", "LIMIT", "OFFSET", "TRUE", "FALSE", "NULL", "GROUP", "HAVING",
}  # fmt: skip

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>[+-]?\d+(?:\.\d+)?)
    | (?P<op>!=|<>|<=|>=|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


class SoqlError(Exception):
    """A query Salesforce would refuse: carries the errorCode and message of its 400 answer."""

    def __init__(self, message: str, error_code: str = "MALFORMED_QUERY"):
        super().__init__(message)
        self.message = message
        self.error_code = error_code


@dataclass(frozen=True)
class Literal:
    """A typed literal; datetimes are held in Salesforce's UTC text form, which sorts in time order."""

    kind: str  # string, datetime, date, number, boolean, null
    value: Any


@dataclass(frozen=True)
class Comparison:
    """`field op literal`; for IN and NOT IN the literal is a tuple of literals."""

    field: str
    op: str
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class Logical:
    """AND / OR over several conditions, or NOT over one."""

    op: str
    items: tuple["Condition", ...]


Condition = Comparison | Logical


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY key; Salesforce puts nulls first when ascending and last when descending."""

    field: str
    descending: bool = False
    nulls_last: bool | None = None

    @property
    def nulls_go_last(self) -> bool:
        """Where this key puts nulls, with Salesforce's default when NULLS FIRST/LAST is not given."""
        return self.descending if self.nulls_last is None else self.nulls_last


@dataclass(frozen=True)
class Query:
    """A parsed SELECT."""

    sobject: str
    fields: tuple[str, ...]
    count_only: bool = False
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int = 0
    kinds: tuple[tuple[str, str], ...] = ()  # filled by bind(): field -> kind

    def kind(self, field: str) -> str:
        """How a field of a bound query compares (string, id, datetime, number, boolean)."""
        return dict(self.kinds)[field]


def sf_datetime(moment: datetime.datetime) -> str:
    """A datetime in Salesforce's wire form, e.g. 2024-05-01T10:00:00.000+0000 (always UTC)."""
    moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime.datetime:
    """Salesforce and ISO datetimes (Z, +0000, +00:00; with or without milliseconds); raises ValueError."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    zone = re.search(r"([+-])(\d{2})(\d{2})$", text)
    if zone:  # +0000 -> +00:00, which fromisoformat reads on every 3.11 build
        text = f"{text[: zone.start()]}{zone.group(1)}{zone.group(2)}:{zone.group(3)}"
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"datetime without a time zone: {text}")
    return moment


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise SoqlError(f"unexpected token: '{text[position:].strip().split()[0]}'")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent over the token list."""

    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.position = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def next(self) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end":
            raise SoqlError("unexpected end of query")
        self.position += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        kind, text = self.peek()
        return kind == "word" and text.upper() in words

    def keyword(self, word: str) -> None:
        kind, text = self.next()
        if kind != "word" or text.upper() != word:
            raise SoqlError(f"unexpected token: '{text}'")

    def punct(self, char: str) -> None:
        kind, text = self.next()
        if kind != "punct" or text != char:
            raise SoqlError(f"unexpected token: '{text}'")

    def name(self) -> str:
        kind, text = self.next()
        if kind != "word" or text.upper() in _KEYWORDS:
            raise SoqlError(f"unexpected token: '{text}'")
        return text

    def integer(self) -> int:
        kind, text = self.next()
        if kind != "number" or not text.lstrip("+").isdigit():
            raise SoqlError(f"unexpected token: '{text}'")
        return int(text)

    def query(self) -> Query:
        self.keyword("SELECT")
        count_only, fields = False, []
        if self.at_keyword("COUNT") and self.peek(1) == ("punct", "("):
            self.next()
            self.punct("(")
            self.punct(")")
            count_only = True
        else:
            fields.append(self.name())
            while self.peek() == ("punct", ","):
                self.next()
                fields.append(self.name())
        self.keyword("FROM")
        sobject = self.name()
        where = None
        if self.at_keyword("WHERE"):
            self.next()
            where = self.disjunction()
        order_by: list[OrderItem] = []
        if self.at_keyword("ORDER"):
            self.next()
            self.keyword("BY")
            order_by.append(self.order_item())
            while self.peek() == ("punct", ","):
                self.next()
                order_by.append(self.order_item())
        limit, offset = None, 0
        if self.at_keyword("LIMIT"):
            self.next()
            limit = self.integer()
        if self.at_keyword("OFFSET"):
            self.next()
            offset = self.integer()
            if offset > 2000:
                raise SoqlError("Maximum SOQL offset allowed is 2000", "NUMBER_OUTSIDE_VALID_RANGE")
        if self.peek()[0] != "end":
            raise SoqlError(f"unexpected token: '{self.peek()[1]}'")
        return Query(sobject, tuple(fields), count_only, where, tuple(order_by), limit, offset)

    def order_item(self) -> OrderItem:
        field, descending, nulls_last = self.name(), False, None
        if self.at_keyword("ASC", "DESC"):
            descending = self.next()[1].upper() == "DESC"
        if self.at_keyword("NULLS"):
            self.next()
            if not self.at_keyword("FIRST", "LAST"):
                raise SoqlError(f"unexpected token: '{self.peek()[1]}'")
            nulls_last = self.next()[1].upper() == "LAST"
        return OrderItem(field, descending, nulls_last)

    def disjunction(self) -> Condition:
        items = [self.conjunction()]
        while self.at_keyword("OR"):
            self.next()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Logical("OR", tuple(items))

    def conjunction(self) -> Condition:
        items = [self.term()]
        while self.at_keyword("AND"):
            self.next()
            items.append(self.term())
        return items[0] if len(items) == 1 else Logical("AND", tuple(items))

    def term(self) -> Condition:
        if self.at_keyword("NOT"):
            self.next()
            return Logical("NOT", (self.term(),))
        if self.peek() == ("punct", "("):
            self.next()
            inner = self.disjunction()
            self.punct(")")
            return inner
        field = self.name()
        if self.at_keyword("NOT") and self.peek(1)[1].upper() == "IN":
            self.position += 2
            return Comparison(field, "NOT IN", self.literal_list())
        if self.at_keyword("IN"):
            self.next()
            return Comparison(field, "IN", self.literal_list())
        if self.at_keyword("LIKE"):
            self.next()
            return Comparison(field, "LIKE", self.literal())
        kind, op = self.next()
        if kind != "op":
            raise SoqlError(f"unexpected token: '{op}'")
        return Comparison(field, "!=" if op == "<>" else op, self.literal())

    def literal_list(self) -> tuple[Literal, ...]:
        self.punct("(")
        values = [self.literal()]
        while self.peek() == ("punct", ","):
            self.next()
            values.append(self.literal())
        self.punct(")")
        return tuple(values)

    def literal(self) -> Literal:
        kind, text = self.next()
        if kind == "string":
            return Literal("string", re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1]))
        if kind == "datetime":
            try:
                return Literal("datetime", sf_datetime(parse_datetime(text)))
            except ValueError as exc:
                raise SoqlError(f"invalid datetime: {text}") from exc
        if kind == "date":
            return Literal("date", text)
        if kind == "number":
            return Literal("number", float(text) if "." in text else int(text))
        if kind == "word" and text.upper() in ("TRUE", "FALSE"):
            return Literal("boolean", text.upper() == "TRUE")
        if kind == "word" and text.upper() == "NULL":
            return Literal("null", None)
        raise SoqlError(f"unexpected token: '{text}'")


def parse(text: str) -> Query:
    """Parse a SELECT; raises SoqlError (MALFORMED_QUERY) on anything outside the subset."""
    return _Parser(text).query()


_LITERAL_FOR_KIND = {STRING: "string", ID: "string", DATETIME: "datetime", NUMBER: "number", BOOLEAN: "boolean"}
_TYPE_NAMES = {STRING: "string", ID: "id", DATETIME: "dateTime", NUMBER: "number", BOOLEAN: "boolean"}


def _check_literal(field: str, kind: str, op: str, literal: Literal, normalize_id: Callable[[str], str]) -> Literal:
    if literal.kind == "null":
        if op not in ("=", "!="):
            raise SoqlError(f"invalid operator on null for field '{field}'")
        return literal
    if literal.kind != _LITERAL_FOR_KIND[kind]:
        hint = " and should not be enclosed in quotes" if kind in (DATETIME, NUMBER, BOOLEAN) else ""
        raise SoqlError(f"value of filter criterion for field '{field}' must be of type {_TYPE_NAMES[kind]}{hint}")
    if op == "LIKE" and kind != STRING:
        raise SoqlError(f"invalid operator on field '{field}': LIKE applies to text fields", "INVALID_FIELD")
    if kind == ID:
        return Literal("string", normalize_id(literal.value))
    return literal


def bind(
    query: Query,
    resolve: Callable[[str], tuple[str, str]],
    normalize_id: Callable[[str], str] = lambda value: value,
) -> Query:
    """Give every field its canonical name and kind (resolve raises SoqlError for unknown fields); check literals."""
    kinds: dict[str, str] = {}

    def field(name: str) -> str:
        canonical, kind = resolve(name)
        kinds[canonical] = kind
        return canonical

    def condition(node: Condition) -> Condition:
        if isinstance(node, Logical):
            return Logical(node.op, tuple(condition(item) for item in node.items))
        name = field(node.field)
        kind = kinds[name]
        if isinstance(node.value, tuple):
            values = tuple(_check_literal(name, kind, "=", value, normalize_id) for value in node.value)
            return Comparison(name, node.op, values)
        return Comparison(name, node.op, _check_literal(name, kind, node.op, node.value, normalize_id))

    fields = tuple(field(name) for name in query.fields)
    seen: set[str] = set()
    for name in fields:
        if name.lower() in seen:
            raise SoqlError(f"duplicate field selected: {name}")
        seen.add(name.lower())
    where = condition(query.where) if query.where is not None else None
    order_by = tuple(replace(item, field=field(item.field)) for item in query.order_by)
    return replace(query, fields=fields, where=where, order_by=order_by, kinds=tuple(kinds.items()))


def _comparable(kind: str, value: Any) -> Any:
    return value.casefold() if kind == STRING and isinstance(value, str) else value


def _like(pattern: str) -> re.Pattern[str]:
    parts, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _test(node: Comparison, kind: str, value: Any) -> bool:
    if isinstance(node.value, tuple):
        found = value is not None and any(_comparable(kind, value) == _comparable(kind, v.value) for v in node.value)
        return found if node.op == "IN" else not found
    target = node.value.value
    if target is None:  # `= null` / `!= null`
        return (value is None) == (node.op == "=")
    if node.op in ("=", "!="):
        equal = value is not None and _comparable(kind, value) == _comparable(kind, target)
        return equal if node.op == "=" else not equal
    if value is None:
        return False
    if node.op == "LIKE":
        return _like(target).fullmatch(str(value)) is not None
    left, right = _comparable(kind, value), _comparable(kind, target)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[node.op]


def matches(query: Query, condition: Condition | None, value_of: Callable[[str], Any]) -> bool:
    """Whether a row passes the (bound) condition; value_of(field) gives the row's value."""
    if condition is None:
        return True
    if isinstance(condition, Logical):
        if condition.op == "NOT":
            return not matches(query, condition.items[0], value_of)
        results = (matches(query, item, value_of) for item in condition.items)
        return all(results) if condition.op == "AND" else any(results)
    return _test(condition, query.kind(condition.field), value_of(condition.field))


def _sort_key(kind: str, field: str, value_of: Callable[[Any, str], Any]) -> Callable[[Any], Any]:
    def key(row: Any) -> Any:
        return _comparable(kind, value_of(row, field))

    return key


def select(query: Query, rows: Iterable[Any], value_of: Callable[[Any, str], Any]) -> list[Any]:
    """Filter, sort, offset and limit rows by a bound query; value_of(row, field) reads a field."""
    chosen = [row for row in rows if matches(query, query.where, functools.partial(value_of, row))]
    # Stable sorts from the last key to the first give a multi-key order with mixed directions.
    for item in reversed(query.order_by):
        kind = query.kind(item.field)
        present = [row for row in chosen if value_of(row, item.field) is not None]
        absent = [row for row in chosen if value_of(row, item.field) is None]
        present.sort(key=_sort_key(kind, item.field, value_of), reverse=item.descending)
        chosen = present + absent if item.nulls_go_last else absent + present
    chosen = chosen[query.offset :]
    return chosen if query.limit is None else chosen[: query.limit]
