"""Match profiles in columns: an entity type's match forms loaded once and compared as arrays.

The batch run (matching/batch.py) compares millions of pairs. Compared one dict at a time a pair costs
about 75 µs; held as columns (one array per attribute, records with the same value sharing one object
and one integer code), a comparison is run over all pairs at once: equality is integer comparison of
codes, and similarities come from rapidfuzz's `cpdist` on the two gathered arrays (matching/comparisons.py).

A `ProfileTable` has one row per source record, ordered by golden record then source record, so a golden
record's members (oldest first) are one contiguous slice. Golden records are numbered 0..G-1 in the order
of their primary keys: a smaller number is an older record.
"""

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection

from matching.features import Features, blocking_keys
from mdm.models import GoldenStatus

# Attributes that hold lists (a record may have several phones, names, tax IDs); the others hold one string.
LIST_FIELDS = frozenset({"names", "forms", "tax", "phones", "domains", "emails"})
KINDS = ("organisation", "person", "product")


@dataclass
class Column:
    """One attribute of every row: its values (str, or tuple for a list attribute; "" or () when missing),
    an integer code per value (equal values, equal codes; -1 when missing), and for list attributes the
    first element and the number of elements (most lists hold one value, compared like a string)."""

    values: np.ndarray
    codes: np.ndarray
    uniques: np.ndarray
    first: np.ndarray | None = None
    counts: np.ndarray | None = None
    # Values derived once per distinct value (a parsed date, a name's numbers), by name: see `derived`.
    cache: dict[str, np.ndarray] = field(default_factory=dict)

    def derived(self, name: str, compute: Callable[[Any], Any], dtype: Any = object) -> np.ndarray:
        """compute(value) for every distinct value, computed once per column and indexed by code."""
        if name not in self.cache:
            self.cache[name] = np.asarray([compute(value) for value in self.uniques], dtype=dtype)
        return self.cache[name]


def _column(raw: list[Any], *, listed: bool) -> Column:
    codes, uniques = pd.factorize(pd.Series(raw, dtype=object), use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    empty = np.fromiter((not value for value in uniques), dtype=bool, count=len(uniques))
    codes = codes.astype(np.int32)
    if empty.any():
        codes = np.where(empty[codes], np.int32(-1), codes)  # one array op, not a Python loop over rows
    values = _shared_values(uniques, codes, () if listed else "")
    if not listed:
        return Column(values, codes, uniques)
    firsts = np.asarray([value[0] if value else "" for value in uniques], dtype=object)
    lengths = np.fromiter((len(value) for value in uniques), dtype=np.int16, count=len(uniques))
    present = codes >= 0
    first = np.full(len(codes), "", dtype=object)
    first[present] = firsts[codes[present]]
    counts = np.zeros(len(codes), dtype=np.int16)
    counts[present] = lengths[codes[present]]
    return Column(values, codes, uniques, first, counts)


def _shared_values(uniques: np.ndarray, codes: np.ndarray, missing: Any) -> np.ndarray:
    """The rows' values as one object per distinct value (a million records share far fewer names)."""
    extended = np.empty(len(uniques) + 1, dtype=object)
    extended[: len(uniques)] = uniques
    extended[-1] = missing  # code -1 picks the last one
    return extended[codes]


class ProfileTable:
    """The match forms of many source records, column by column, with their golden records and blocking keys."""

    def __init__(self, rows: Iterable[tuple[int, int, Features]], *, entity_type: str, with_keys: bool = True) -> None:
        """Rows of (golden pk, source pk, match form), ordered by golden record then source record; read once,
        so a stream of a million rows never holds a million dicts."""
        self.entity_type = entity_type
        row_goldens: list[int] = []
        sources: list[int] = []
        raw: dict[str, list[Any]] = {}
        kinds: list[int] = []
        key_codes: dict[str, int] = {}
        key_rows: list[int] = []
        key_ids: list[int] = []
        fields: list[str] = []
        self.kind_fields: dict[int, list[str]] = {}  # the attributes records of each kind have
        for row, (golden_pk, source_pk, item) in enumerate(rows):
            row_goldens.append(golden_pk)
            sources.append(source_pk)
            kind = KINDS.index(item.get("kind", "organisation"))
            kinds.append(kind)
            kind_fields = self.kind_fields.setdefault(kind, [])
            for name, value in item.items():
                if name == "kind":
                    continue
                if name not in kind_fields:
                    kind_fields.append(name)
                if name not in raw:
                    raw[name] = [() if name in LIST_FIELDS else ""] * row
                    fields.append(name)
                raw[name].append(tuple(value or ()) if name in LIST_FIELDS else (value or ""))
            for name in fields:
                if len(raw[name]) <= row:  # an attribute this record does not have
                    raw[name].append(() if name in LIST_FIELDS else "")
            if with_keys:
                for key in blocking_keys(entity_type, item):
                    key_rows.append(row)
                    key_ids.append(key_codes.setdefault(key, len(key_codes)))
        golden_array = np.asarray(row_goldens, dtype=np.int64)
        if len(golden_array) and np.any(np.diff(golden_array) < 0):
            raise ValueError("rows must be ordered by golden record")
        self.source_pks = np.asarray(sources, dtype=np.int64)
        self.golden_pks, inverse = np.unique(golden_array, return_inverse=True)
        self.row_golden = inverse.astype(np.int32)
        # Members of golden record g: rows starts[g]:starts[g + 1].
        self.starts = np.searchsorted(self.row_golden, np.arange(len(self.golden_pks) + 1)).astype(np.int64)
        self.kinds = np.asarray(kinds, dtype=np.int8)
        self.columns = {name: _column(values, listed=name in LIST_FIELDS) for name, values in raw.items()}
        self.keys = list(key_codes)  # key id -> key
        self.key_rows = np.asarray(key_rows, dtype=np.int32)
        self.key_ids = np.asarray(key_ids, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.source_pks)

    @property
    def goldens(self) -> int:
        return len(self.golden_pks)

    def column(self, name: str) -> Column:
        """An attribute's column (an all-missing one if no row has it)."""
        if name not in self.columns:
            listed = name in LIST_FIELDS
            codes = np.full(len(self), -1, dtype=np.int32)
            missing = _shared_values(np.empty(0, dtype=object), codes, () if listed else "")
            self.columns[name] = Column(
                missing,
                codes,
                np.empty(0, dtype=object),
                np.full(len(self), "", dtype=object) if listed else None,
                np.zeros(len(self), dtype=np.int16) if listed else None,
            )
        return self.columns[name]

    def features(self, row: int) -> Features:
        """One row's match form as a dict, as stored (for the explanation of a pair, and for comparisons
        that have no array form)."""
        kind = int(self.kinds[row])
        found: Features = {"kind": KINDS[kind]}
        for name in self.kind_fields[kind]:
            value = self.columns[name].values[row]
            found[name] = list(value) if name in LIST_FIELDS else value
        return found

    def members(self, golden: int) -> range:
        """The rows of golden record number `golden`, oldest source record first."""
        return range(int(self.starts[golden]), int(self.starts[golden + 1]))

    def source_rows(self, pks: Iterable[int]) -> np.ndarray:
        """Rows of these source records (-1 for those not in the table)."""
        if getattr(self, "_by_source", None) is None:
            self._by_source = np.argsort(self.source_pks, kind="stable")
        pks = np.asarray(list(pks), dtype=np.int64)
        if not len(self.source_pks):
            return np.full(len(pks), -1)
        ordered = self.source_pks[self._by_source]
        found = np.minimum(np.searchsorted(ordered, pks), len(ordered) - 1)
        return np.where(ordered[found] == pks, self._by_source[found], -1)

    def golden_index(self, pks: Iterable[int]) -> np.ndarray:
        """Golden record numbers of these primary keys (-1 for those not in the table)."""
        pks = np.asarray(list(pks), dtype=np.int64)
        found = np.searchsorted(self.golden_pks, pks)
        found = np.minimum(found, max(len(self.golden_pks) - 1, 0))
        hit = (self.golden_pks[found] == pks) if len(self.golden_pks) else np.zeros(len(pks), bool)
        return np.where(hit, found, -1)


def _profile_rows(entity_type: str, golden_pks: Sequence[int] | None) -> Iterator[tuple[int, int, Features]]:
    """(golden pk, source pk, match form) of the active golden records' members, by golden then source record.
    On PostgreSQL the rows are streamed with COPY (a million profiles in seconds), elsewhere read in pages."""
    from matching.models import MatchProfile

    if connection.vendor == "postgresql" and golden_pks is None:
        sql = (
            "COPY (SELECT p.golden_id, p.source_record_id, p.features FROM matching_matchprofile p"
            " JOIN mdm_goldenrecord g ON g.id = p.golden_id WHERE p.entity_type = {entity} AND g.status = {status}"
            " ORDER BY p.golden_id, p.source_record_id) TO STDOUT"
        )
        connection.ensure_connection()
        from psycopg import sql as psql

        statement = psql.SQL(sql).format(entity=psql.Literal(entity_type), status=psql.Literal(GoldenStatus.ACTIVE))
        with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
            for golden_pk, source_pk, text in copy.rows():
                yield int(golden_pk), int(source_pk), json.loads(text)
        return
    queryset = MatchProfile.objects.filter(entity_type=entity_type, golden__status=GoldenStatus.ACTIVE)
    if golden_pks is not None:
        queryset = queryset.filter(golden_id__in=list(golden_pks))
    rows = queryset.order_by("golden_id", "source_record_id").values_list("golden_id", "source_record_id", "features")
    yield from rows.iterator(chunk_size=5000)


def profile_table(entity_type: str, golden_pks: Sequence[int] | None = None, *, with_keys: bool = True) -> ProfileTable:
    """The match profiles of an entity type's active golden records (all, or these), with their blocking keys."""
    return ProfileTable(_profile_rows(entity_type, golden_pks), entity_type=entity_type, with_keys=with_keys)
