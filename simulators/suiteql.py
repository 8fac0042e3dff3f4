"""The subset of SuiteQL (NetSuite's Oracle-flavoured SQL) that the NetSuite simulator understands.

Enough for incremental pulls and connection checks:

    SELECT <* | expr [[AS] alias], ...> FROM <table> [[AS] alias]
    [WHERE <condition>] [ORDER BY <expr> [ASC|DESC] [NULLS FIRST|LAST], ...]

Conditions are comparisons (=, <>, !=, <, <=, >, >=), `IS [NOT] NULL` and `[NOT] IN (...)`, combined with
AND, OR, NOT and parentheses, under SQL's three-valued logic (a comparison with NULL is unknown).
Expressions are columns, 'string' and number literals, and the functions TO_DATE(text, format),
TO_CHAR(value [, format]), UPPER and LOWER. Date formats use the Oracle elements YYYY, MM, DD, HH24,
HH/HH12, MI, SS, AM/PM, "quoted text" and the punctuation - / , . : ; and space.

Rows are plain dicts of lower-case column name to int, str, naive datetime or None; the caller (the
simulator) builds them from its records and renders the values the way NetSuite's REST answer does.
"""

import functools
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class SuiteQLError(ValueError):
    """The query is outside the subset, malformed, or names an unknown table or column."""


# ---- date format models ---------------------------------------------------------------------------------------

_FORMAT_ELEMENT = re.compile(r'YYYY|MM|DD|HH24|HH12|HH|MI|SS|AM|PM|"[^"]*"|[-/,.:; ]', re.IGNORECASE)


def _format_elements(fmt: str) -> list[str]:
    """Split an Oracle date format model into its elements; unknown elements are an error, as in Oracle."""
    elements, position = [], 0
    while position < len(fmt):
        match = _FORMAT_ELEMENT.match(fmt, position)
        if match is None:
            raise SuiteQLError(f"date format not recognized: {fmt!r} (at {fmt[position:]!r})")
        element = match.group()
        elements.append(element if element.startswith('"') else element.upper())
        position = match.end()
    return elements


def format_date(value: datetime, fmt: str) -> str:
    """TO_CHAR(date, fmt)."""
    out = []
    for element in _format_elements(fmt):
        if element == "YYYY":
            out.append(f"{value.year:04d}")
        elif element == "MM":
            out.append(f"{value.month:02d}")
        elif element == "DD":
            out.append(f"{value.day:02d}")
        elif element == "HH24":
            out.append(f"{value.hour:02d}")
        elif element in ("HH", "HH12"):
            out.append(f"{(value.hour % 12) or 12:02d}")
        elif element == "MI":
            out.append(f"{value.minute:02d}")
        elif element == "SS":
            out.append(f"{value.second:02d}")
        elif element in ("AM", "PM"):
            out.append("AM" if value.hour < 12 else "PM")
        elif element.startswith('"'):
            out.append(element[1:-1])
        else:
            out.append(element)
    return "".join(out)


def parse_date(text: str, fmt: str) -> datetime:
    """TO_DATE(text, fmt): the whole text must match the format (stricter than Oracle, which fills in gaps)."""
    groups = {"YYYY": r"(?P<year>\d{4})", "MM": r"(?P<month>\d{1,2})", "DD": r"(?P<day>\d{1,2})"}
    groups |= {"HH24": r"(?P<hour24>\d{1,2})", "HH": r"(?P<hour12>\d{1,2})", "HH12": r"(?P<hour12>\d{1,2})"}
    groups |= {"MI": r"(?P<minute>\d{1,2})", "SS": r"(?P<second>\d{1,2})", "AM": r"(?P<meridian>AM|PM)"}
    groups["PM"] = groups["AM"]
    pattern = []
    for element in _format_elements(fmt):
        if element in groups:
            pattern.append(groups[element])
        elif element.startswith('"'):
            pattern.append(re.escape(element[1:-1]))
        else:
            pattern.append(re.escape(element))
    try:
        match = re.fullmatch("".join(pattern), text.strip(), re.IGNORECASE)
    except re.error as exc:  # the same element twice: Oracle says "format code appears twice"
        raise SuiteQLError(f"format code appears twice in {fmt!r}") from exc
    if match is None:
        raise SuiteQLError(f"literal does not match format string: TO_DATE({text!r}, {fmt!r})")
    parts = {key: value for key, value in match.groupdict().items() if value is not None}
    hour = int(parts.get("hour24", 0))
    if "hour12" in parts:
        hour = int(parts["hour12"]) % 12 + (12 if parts.get("meridian", "AM").upper() == "PM" else 0)
    try:
        return datetime(
            int(parts.get("year", 1)),
            int(parts.get("month", 1)),
            int(parts.get("day", 1)),
            hour,
            int(parts.get("minute", 0)),
            int(parts.get("second", 0)),
        )
    except ValueError as exc:
        raise SuiteQLError(f"invalid date in TO_DATE({text!r}, {fmt!r}): {exc}") from exc


# ---- tokens ---------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_$#]*(?:\.[A-Za-z_][A-Za-z0-9_$#]*)?)
      | (?P<op><=|>=|<>|!=|=|<|>|\(|\)|,|\*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"SELECT", "FROM", "WHERE", "ORDER", "BY", "ASC", "DESC", "AND", "OR", "NOT", "IS", "NULL", "IN", "AS"}
_KEYWORDS |= {"NULLS", "FIRST", "LAST"}


@dataclass(frozen=True)
class _Token:
    """One lexical token."""

    kind: str  # string | number | name | keyword | op | end
    value: str


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return [*tokens, _Token("end", "")]
        match = _TOKEN.match(text, position)
        if match is None:
            raise SuiteQLError(f"unexpected character at position {position}: {text[position : position + 20]!r}")
        kind = match.lastgroup or "op"
        value = match.group(kind)
        if kind == "string":
            value = value[1:-1].replace("''", "'")
        elif kind == "name" and value.upper() in _KEYWORDS:
            kind, value = "keyword", value.upper()
        tokens.append(_Token(kind, value))
        position = match.end()


# ---- expressions ----------------------------------------------------------------------------------------------

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Column:
    """A column of the table, or a select-list alias in ORDER BY."""

    name: str

    def value(self, row: Row) -> Any:
        return row[self.name]


@dataclass(frozen=True)
class Literal:
    """A string or number constant."""

    constant: Any

    def value(self, row: Row) -> Any:
        return self.constant


@dataclass(frozen=True)
class Call:
    """One of the supported functions."""

    function: str
    args: tuple[Any, ...]

    def value(self, row: Row) -> Any:
        values = [arg.value(row) for arg in self.args]
        if any(v is None for v in values):
            return None
        if self.function == "TO_DATE":
            if not isinstance(values[0], str) or not isinstance(values[1], str):
                raise SuiteQLError("TO_DATE takes a text and a format")
            return parse_date(values[0], values[1])
        if self.function == "TO_CHAR":
            if isinstance(values[0], datetime):
                return format_date(values[0], values[1] if len(values) > 1 else "MM/DD/YYYY")
            return str(values[0])
        if self.function == "UPPER":
            return str(values[0]).upper()
        return str(values[0]).lower()


_ARITY = {"TO_DATE": (2, 2), "TO_CHAR": (1, 2), "UPPER": (1, 1), "LOWER": (1, 1)}


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Oracle's implicit conversions for the types the simulator has: number vs digit text, dates vs dates."""
    numbers = int | float
    if (isinstance(left, numbers) and isinstance(right, str)) or (isinstance(left, str) and isinstance(right, numbers)):
        try:
            return float(left), float(right)
        except ValueError as exc:
            raise SuiteQLError(f"invalid number: cannot compare {left!r} with {right!r}") from exc
    if isinstance(left, datetime) != isinstance(right, datetime):
        raise SuiteQLError(f"inconsistent datatypes: cannot compare {left!r} with {right!r}; use TO_DATE")
    return left, right


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Comparison:
    """left <op> right."""

    op: str
    left: Any
    right: Any

    def truth(self, row: Row) -> bool | None:
        left, right = self.left.value(row), self.right.value(row)
        if left is None or right is None:
            return None
        return _COMPARE[self.op](*_comparable(left, right))


@dataclass(frozen=True)
class IsNull:
    """expr IS [NOT] NULL."""

    operand: Any
    negated: bool

    def truth(self, row: Row) -> bool | None:
        return (self.operand.value(row) is None) != self.negated


@dataclass(frozen=True)
class In:
    """expr [NOT] IN (...)."""

    operand: Any
    options: tuple[Any, ...]
    negated: bool

    def truth(self, row: Row) -> bool | None:
        value = self.operand.value(row)
        if value is None:
            return None
        found: bool | None = False
        for option in self.options:
            candidate = option.value(row)
            if candidate is None:
                found = None
            elif _COMPARE["="](*_comparable(value, candidate)):
                found = True
                break
        if found is None:
            return None
        return found != self.negated


@dataclass(frozen=True)
class Logical:
    """AND, OR or NOT over conditions."""

    op: str  # AND | OR | NOT
    parts: tuple[Any, ...]

    def truth(self, row: Row) -> bool | None:
        values = [part.truth(row) for part in self.parts]
        if self.op == "NOT":
            return None if values[0] is None else not values[0]
        if self.op == "AND":
            return False if False in values else (None if None in values else True)
        return True if True in values else (None if None in values else False)


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY term."""

    expression: Any
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    """A parsed SELECT."""

    columns: tuple[tuple[str, Any], ...] | None  # (output name, expression); None for SELECT *
    table: str
    table_alias: str | None
    where: Any | None
    order_by: tuple[OrderItem, ...]


# ---- parser ---------------------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the token list."""

    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.position = 0

    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.position + offset, len(self.tokens) - 1)]

    def next(self) -> _Token:
        token = self.peek()
        self.position += 1
        return token

    def accept(self, kind: str, value: str | None = None) -> _Token | None:
        token = self.peek()
        if token.kind == kind and (value is None or token.value == value):
            self.position += 1
            return token
        return None

    def expect(self, kind: str, value: str | None = None) -> _Token:
        token = self.accept(kind, value)
        if token is None:
            found = self.peek().value or "end of query"
            raise SuiteQLError(f"expected {value or kind} but found {found!r}")
        return token

    def query(self) -> Query:
        self.expect("keyword", "SELECT")
        columns: list[tuple[str, Any]] | None = None
        if not self.accept("op", "*"):
            columns = []
            while True:
                expression = self.expression()
                alias = self.alias()
                name = alias or (expression.name.split(".")[-1] if isinstance(expression, Column) else None)
                columns.append((name or f"expr{len(columns) + 1}", expression))
                if not self.accept("op", ","):
                    break
        self.expect("keyword", "FROM")
        table = self.expect("name").value.lower()
        table_alias = self.alias()
        where = self.condition() if self.accept("keyword", "WHERE") else None
        order: list[OrderItem] = []
        if self.accept("keyword", "ORDER"):
            self.expect("keyword", "BY")
            while True:
                expression = self.expression()
                descending = bool(self.accept("keyword", "DESC"))
                if not descending:
                    self.accept("keyword", "ASC")
                nulls_first = descending  # Oracle: NULLs sort as if larger than any value
                if self.accept("keyword", "NULLS"):
                    nulls_first = bool(self.accept("keyword", "FIRST"))
                    if not nulls_first:
                        self.expect("keyword", "LAST")
                order.append(OrderItem(expression, descending, nulls_first))
                if not self.accept("op", ","):
                    break
        if self.peek().kind != "end":
            raise SuiteQLError(f"unexpected {self.peek().value!r} after the end of the query")
        return Query(tuple(columns) if columns is not None else None, table, table_alias, where, tuple(order))

    def alias(self) -> str | None:
        if self.accept("keyword", "AS"):
            return self.expect("name").value.lower()
        token = self.accept("name")
        return token.value.lower() if token else None

    def condition(self) -> Any:
        parts = [self.conjunction()]
        while self.accept("keyword", "OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Logical("OR", tuple(parts))

    def conjunction(self) -> Any:
        parts = [self.negation()]
        while self.accept("keyword", "AND"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else Logical("AND", tuple(parts))

    def negation(self) -> Any:
        if self.accept("keyword", "NOT"):
            return Logical("NOT", (self.negation(),))
        return self.predicate()

    def predicate(self) -> Any:
        # A parenthesis here opens a nested condition; expressions in parentheses are not in the subset.
        if self.accept("op", "("):
            inner = self.condition()
            self.expect("op", ")")
            return inner
        left = self.expression()
        if self.accept("keyword", "IS"):
            negated = bool(self.accept("keyword", "NOT"))
            self.expect("keyword", "NULL")
            return IsNull(left, negated)
        negated = bool(self.accept("keyword", "NOT"))
        if self.accept("keyword", "IN"):
            self.expect("op", "(")
            options = [self.expression()]
            while self.accept("op", ","):
                options.append(self.expression())
            self.expect("op", ")")
            return In(left, tuple(options), negated)
        if negated:
            raise SuiteQLError("expected IN after NOT")
        token = self.next()
        if token.kind != "op" or token.value not in _COMPARE:
            raise SuiteQLError(f"expected a comparison operator but found {token.value or 'end of query'!r}")
        return Comparison(token.value, left, self.expression())

    def expression(self) -> Any:
        token = self.next()
        if token.kind == "string":
            return Literal(token.value)
        if token.kind == "number":
            return Literal(float(token.value) if "." in token.value else int(token.value))
        if token.kind == "name":
            if self.accept("op", "("):
                function = token.value.upper()
                if function not in _ARITY:
                    raise SuiteQLError(f"function {token.value} is not supported")
                args = [self.expression()]
                while self.accept("op", ","):
                    args.append(self.expression())
                self.expect("op", ")")
                low, high = _ARITY[function]
                if not low <= len(args) <= high:
                    raise SuiteQLError(f"wrong number of arguments for {function}")
                return Call(function, tuple(args))
            return Column(token.value.lower())
        raise SuiteQLError(f"expected a column, a literal or a function but found {token.value or 'end of query'!r}")


def parse(text: str) -> Query:
    """Parse one SELECT of the subset; raises SuiteQLError."""
    if not text or not text.strip():
        raise SuiteQLError("the query is empty")
    return _Parser(text).query()


# ---- execution ------------------------------------------------------------------------------------------------


def _bind(expression: Any, query: Query, columns: Collection[str], aliases: Mapping[str, Any]) -> Any:
    """Resolve column names against the table; a qualified name must use the table's name or its alias."""

    def bind(part: Any) -> Any:
        return _bind(part, query, columns, aliases)

    if isinstance(expression, Column):
        qualifier, _, name = expression.name.rpartition(".")
        if qualifier and qualifier not in (query.table, query.table_alias):
            raise SuiteQLError(f"Search error occurred: unknown table or alias '{qualifier}'")
        if name in columns:
            return Column(name)
        if not qualifier and name in aliases:
            return aliases[name]
        raise SuiteQLError(f"Search error occurred: Field '{name}' for record '{query.table}' was not found.")
    if isinstance(expression, Call):
        return Call(expression.function, tuple(bind(a) for a in expression.args))
    if isinstance(expression, Comparison):
        return Comparison(expression.op, bind(expression.left), bind(expression.right))
    if isinstance(expression, IsNull):
        return IsNull(bind(expression.operand), expression.negated)
    if isinstance(expression, In):
        return In(bind(expression.operand), tuple(bind(o) for o in expression.options), expression.negated)
    if isinstance(expression, Logical):
        return Logical(expression.op, tuple(bind(p) for p in expression.parts))
    return expression


def execute(query: Query, rows: Iterable[Row], columns: Collection[str]) -> list[dict]:
    """Run a parsed query over rows that all have `columns`; returns the output rows in order."""
    if query.columns is None:
        selected = tuple((name, Column(name)) for name in columns)
    else:
        selected = tuple((name, _bind(expression, query, columns, {})) for name, expression in query.columns)
    where = _bind(query.where, query, columns, {}) if query.where is not None else None
    # ORDER BY may name a select-list alias (ORDER BY lm); the WHERE clause may not, as in Oracle.
    aliases = dict(selected)
    order = [
        OrderItem(_bind(item.expression, query, columns, aliases), item.descending, item.nulls_first)
        for item in query.order_by
    ]

    matching = [row for row in rows if where is None or where.truth(row) is True]

    def compare(a: Row, b: Row) -> int:
        for item in order:
            left, right = item.expression.value(a), item.expression.value(b)
            if left == right:
                continue
            if left is None or right is None:
                return (-1 if left is None else 1) * (1 if item.nulls_first else -1)
            left, right = _comparable(left, right)
            result = -1 if left < right else 1
            return -result if item.descending else result
        return 0

    if order:
        matching.sort(key=functools.cmp_to_key(compare))
    return [{name: expression.value(row) for name, expression in selected} for row in matching]


def run(text: str, tables: Mapping[str, tuple[Collection[str], Callable[[], Iterable[Row]]]]) -> list[dict]:
    """Parse and run a query; `tables` maps a table name to its columns and a function giving its rows."""
    query = parse(text)
    if query.table not in tables:
        raise SuiteQLError(f"Search error occurred: Record '{query.table}' was not found.")
    columns, rows = tables[query.table]
    return execute(query, rows(), columns)
