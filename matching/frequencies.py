"""Term frequencies: a common value agreeing says less than a rare one (Splink's term-frequency adjustment).

Two companies both called "Smith Energy", two people both called Smith, two records in London, two companies on
one group's web domain: each agreement is weighed by the comparison's learnt weight, which is the same for every
value. Exact agreement on a value many records carry is weaker evidence than on one few records carry, so the
weight of that level moves by

    log2(typical / count)

where `count` is the number of records carrying the value agreed on and `typical` the number a value agreed on
usually has: the geometric mean of the counts over the records whose value another record shares (a true pair's
value is drawn like any record's). Both come from the data at hand, so the adjustment means the same on a
thousand records as on a million and needs no training: a value as common as usual moves nothing, one carried by
twice as many records costs a bit, and one twice as rare earns a bit. The adjustment is bounded
(MAX_PENALTY, MAX_BONUS): a rare name alone never decides, and a common one is still evidence.

Counts live in TermFrequency per record kind, term and value; every match form stored updates them
(`frequencies_count`, called by engine.match_profiles_replace) and training recounts them from the match
profiles (`frequencies_rebuild`). A record being matched counts itself, and the records of its batch count too.
Written here rather than taken from a library: recordlinkage has no term-frequency weights, and Splink's are
computed in SQL over its own tables.
"""

import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, Q

from matching.features import Features
from matching.models import MatchProfile, TermFrequency

if TYPE_CHECKING:
    from matching.comparisons import Pairs

# Bounds of an adjustment (bits): a value carried by 2^8 times more records than usual still counts for something,
# and a rare one adds at most MAX_BONUS (a name nobody else has is not an identifier).
MAX_PENALTY = -8.0
MAX_BONUS = 4.0
# A value agreed on is carried by at least the two records compared.
PAIR = 2
# Values longer than this are counted by their first VALUE_LENGTH characters (the column's width).
VALUE_LENGTH = 200
# Seconds a process keeps an entity type's typical counts before reading them again.
TYPICAL_TTL = 300.0


@dataclass(frozen=True)
class Adjusted:
    """A comparison level whose weight follows its value's frequency: the term counted, the match-form attribute
    holding its values (a list or one string), and the level (the exact agreement)."""

    term: str
    key: str
    level: int


# Per kind, per comparison (matching/comparisons.py): the level adjusted. A person's city is adjusted where it is
# all two home addresses share ("same city"); street and postcode are rare enough as they are. An organisation's
# is not: on the validation generator (seed 7, not a reported set) it cost real-time recall (F1 0.956 -> 0.950 with
# the learnt model) and gained nothing elsewhere, while a company's city is often its group's or its branch's.
ADJUSTED: dict[str, dict[str, Adjusted]] = {
    "organisation": {"name": Adjusted("name", "names", 0), "domain": Adjusted("domain", "domains", 0)},
    "person": {
        "first_name": Adjusted("first", "first", 0),
        "last_name": Adjusted("last", "last", 0),
        "address": Adjusted("city", "city", 3),
    },
    "product": {"name": Adjusted("name", "name", 0)},
}
# Per kind, the terms counted and the attribute holding each.
TERMS: dict[str, dict[str, str]] = {
    kind: {spec.term: spec.key for spec in specs.values()} for kind, specs in ADJUSTED.items()
}
KINDS_OF_ENTITY_TYPE = {"customer": ("organisation", "person"), "product": ("product",)}


def _values(found: Features, key: str) -> list[str]:
    value = found.get(key)
    if not value:
        return []
    return [item for item in value if item] if isinstance(value, list | tuple) else [value]


def terms_of(found: Features) -> set[tuple[str, str, str]]:
    """(kind, term, value) of every term value a match form carries, each once."""
    kind = found.get("kind") or ""
    return {
        (kind, term, value[:VALUE_LENGTH]) for term, key in TERMS.get(kind, {}).items() for value in _values(found, key)
    }


def agreed(left: Features, right: Features, key: str) -> list[str]:
    """The values of an attribute both records carry."""
    mine = _values(left, key)
    return sorted(set(mine) & set(_values(right, key))) if mine else []


@dataclass(frozen=True)
class TermAdjustment:
    """What a value's frequency did to a comparison's weight: the value, the records carrying it, the typical
    count of a value agreed on, and the bits added (negative: a common value)."""

    term: str
    value: str
    records: int
    typical: float
    weight: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "value": self.value,
            "records": self.records,
            "typical": round(self.typical, 1),
            "weight": round(self.weight, 3),
        }


def adjustment_of(records: int, typical: float) -> float:
    """log2(typical / records), bounded."""
    return min(max(math.log2(typical / max(records, PAIR)), MAX_PENALTY), MAX_BONUS)


@dataclass
class Frequencies:
    """Counts of term values (those of the records being matched, or every shared value for a batch run) and the
    typical count per (kind, term). A value not held counts as carried by the two records compared."""

    counts: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    typical: dict[tuple[str, str], float] = field(default_factory=dict)

    def count(self, kind: str, term: str, value: str) -> int:
        return max(self.counts.get((kind, term), {}).get(value[:VALUE_LENGTH], 0), PAIR)

    def adjustment(
        self, kind: str, comparison: str, level: int, left: Features, right: Features
    ) -> TermAdjustment | None:
        """The adjustment of a pair's comparison at this level, or None (not adjusted, or no value agreed on): the
        rarest value the two records share decides."""
        spec = ADJUSTED.get(kind, {}).get(comparison)
        if spec is None or level != spec.level:
            return None
        values = agreed(left, right, spec.key)
        if not values:
            return None
        records, value = min((self.count(kind, spec.term, value), value) for value in values)
        typical = self.typical.get((kind, spec.term), float(PAIR))
        return TermAdjustment(spec.term, value, records, typical, adjustment_of(records, typical))

    def adjustments_of(self, kind: str, comparison: str, levels: np.ndarray, pairs: "Pairs") -> np.ndarray:
        """`adjustment`'s weight for many pairs at once (0 where none): a one-valued attribute by its codes, a
        record with several values pair by pair."""
        result = np.zeros(len(pairs), dtype=np.float64)
        spec = ADJUSTED.get(kind, {}).get(comparison)
        if spec is None:
            return result
        at_level = levels == spec.level
        if not at_level.any():
            return result
        typical = self.typical.get((kind, spec.term), float(PAIR))
        column = pairs.column(spec.key)
        left, right = pairs.codes(spec.key)
        single = at_level & (left >= 0) & (left == right)
        if column.counts is not None:
            left_count, right_count = pairs.counts(spec.key)
            single &= left_count == 1
            several = at_level & ~single & (left_count > 0) & (right_count > 0)
        else:
            several = np.zeros(len(pairs), dtype=bool)

        def weight_of_unique(value: Any) -> float:
            if isinstance(value, tuple):
                value = value[0] if len(value) == 1 else ""
            return adjustment_of(self.count(kind, spec.term, value), typical) if value else 0.0

        by_code = column.derived(f"tf:{kind}:{spec.term}:{id(self)}", weight_of_unique, dtype=np.float64)
        result[single] = by_code[left[single]]
        features = pairs.table.features
        for index in np.flatnonzero(several):
            found = self.adjustment(
                kind, comparison, spec.level, features(int(pairs.left[index])), features(int(pairs.right[index]))
            )
            result[index] = found.weight if found is not None else 0.0
        return result


# --- Reading ---------------------------------------------------------------------------------------

_TYPICAL: dict[tuple[str, str], tuple[float, float]] = {}


def frequencies_forget() -> None:
    """Drop the typical counts this process keeps (tests; after a recount)."""
    _TYPICAL.clear()


def _typical(kind: str, term: str) -> float:
    """The geometric mean of the counts over the records whose value another record shares: what a value agreed on
    usually counts (PAIR when no value is shared)."""
    now = time.monotonic()
    cached = _TYPICAL.get((kind, term))
    if cached is not None and cached[0] > now:
        return cached[1]
    rows = (
        TermFrequency.objects.filter(kind=kind, term=term, count__gte=PAIR)
        .values_list("count")
        .annotate(values=Count("id"))
    )
    typical = _typical_of_grouped(rows)
    _TYPICAL[(kind, term)] = (now + TYPICAL_TTL, typical)
    return typical


def frequencies_for(records: Sequence[Features]) -> Frequencies:
    """The counts of these records' term values (one query), each value counting these records too (they are
    about to be stored, and a record being matched carries its own value)."""
    batch = Counter(term for found in records for term in terms_of(found))
    frequencies = Frequencies()
    if not batch:
        return frequencies
    wanted: dict[tuple[str, str], set[str]] = {}
    for kind, term, value in batch:
        wanted.setdefault((kind, term), set()).add(value)
    condition = Q()
    for (kind, term), values in wanted.items():
        condition |= Q(kind=kind, term=term, value__in=sorted(values))
    stored = {
        (kind, term, value): count
        for kind, term, value, count in TermFrequency.objects.filter(condition).values_list(
            "kind", "term", "value", "count"
        )
    }
    for (kind, term, value), mine in batch.items():
        frequencies.counts.setdefault((kind, term), {})[value] = max(stored.get((kind, term, value), 0), 0) + mine
    frequencies.typical = {(kind, term): _typical(kind, term) for kind, term in wanted}
    return frequencies


def frequencies_all(entity_type: str) -> Frequencies:
    """Every value of an entity type's kinds that more than one record carries, with the typical counts: for a
    batch run over the whole entity type."""
    frequencies = Frequencies()
    kinds = KINDS_OF_ENTITY_TYPE.get(entity_type, ())
    rows = TermFrequency.objects.filter(kind__in=kinds, count__gte=PAIR).values_list("kind", "term", "value", "count")
    for kind, term, value, count in rows.iterator(chunk_size=10_000):
        frequencies.counts.setdefault((kind, term), {})[value] = count
    for kind in kinds:
        for term in TERMS[kind]:
            frequencies.typical[(kind, term)] = _typical_of(frequencies.counts.get((kind, term), {}).values())
    return frequencies


def frequencies_from(records: Iterable[Features]) -> Frequencies:
    """The frequencies of these match forms alone, counted in memory (a data set not stored; tests)."""
    counted = Counter(term for found in records for term in terms_of(found))
    frequencies = Frequencies()
    for (kind, term, value), count in counted.items():
        frequencies.counts.setdefault((kind, term), {})[value] = count
    for key, counts in frequencies.counts.items():
        frequencies.typical[key] = _typical_of(counts.values())
    return frequencies


def _typical_of(counts: Iterable[int]) -> float:
    """`_typical_of_grouped` of the values' counts, one per value."""
    return _typical_of_grouped(Counter(counts).items())


def _typical_of_grouped(grouped: Iterable[tuple[int, int]]) -> float:
    """The geometric mean count over the records of values shared by two records or more, from (count, how many
    values have it): each value weighs by the records carrying it. PAIR when no value is shared."""
    records = logs = 0.0
    for count, values in grouped:
        if count >= PAIR:
            records += count * values
            logs += count * values * math.log(count)
    return math.exp(logs / records) if records else float(PAIR)


# --- Writing ---------------------------------------------------------------------------------------

UPSERT_ROWS = 500


def frequencies_count(*, added: Iterable[Features] = (), removed: Iterable[Features] = ()) -> int:
    """Count the term values of match forms stored (`added`) and no longer stored (`removed`, a form replaced): one
    upsert per UPSERT_ROWS values, in a fixed order so concurrent ingests lock rows alike. Returns the values
    changed."""
    deltas: Counter[tuple[str, str, str]] = Counter()
    for found in added:
        deltas.update(terms_of(found))
    for found in removed:
        deltas.subtract(terms_of(found))
    rows = sorted((key, delta) for key, delta in deltas.items() if delta)
    if not rows:
        return 0
    table = connection.ops.quote_name(TermFrequency._meta.db_table)
    count = connection.ops.quote_name("count")
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UPSERT_ROWS):
            chunk = rows[start : start + UPSERT_ROWS]
            placeholders = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} (kind, term, value, {count}) VALUES {placeholders}"  # noqa: S608 (names quoted)
                f" ON CONFLICT (kind, term, value) DO UPDATE SET {count} = {table}.{count} + excluded.{count}",
                [item for (kind, term, value), delta in chunk for item in (kind, term, value, delta)],
            )
    return len(rows)


def frequencies_rebuild(entity_type: str) -> int:
    """Recount an entity type's term values from its stored match forms (repairing any drift: profiles deleted
    with their source records are not subtracted). Returns the distinct values counted."""
    counts: Counter[tuple[str, str, str]] = Counter()
    profiles = MatchProfile.objects.filter(entity_type=entity_type).values_list("features", flat=True)
    for found in profiles.iterator(chunk_size=5000):
        counts.update(terms_of(found))
    with transaction.atomic():
        TermFrequency.objects.filter(kind__in=KINDS_OF_ENTITY_TYPE.get(entity_type, ())).delete()
        TermFrequency.objects.bulk_create(
            [TermFrequency(kind=kind, term=term, value=value, count=n) for (kind, term, value), n in counts.items()],
            batch_size=5000,
        )
    frequencies_forget()
    return len(counts)
