"""Compare: each attribute of two records mapped to a comparison level (exact, close, far, missing).

A comparison looks at one attribute of two match-form records (matching/features.py) and answers
the level it hit, the similarity behind it and the two values it compared, so an explanation can
show exactly what was compared. Levels are ordered from the strongest agreement to disagreement;
`MISSING` (one side has nothing) carries no weight either way. Similarities come from rapidfuzz:
Jaro-Winkler for short names, token-set ratio where word order and extra words should not matter,
normalised Levenshtein for codes.

Legal-form suffixes, abbreviations, case and word order are already gone from the names compared
(features.py), so "ACME Intl. Inc" and "Acme International Incorporated" compare as equal.
"""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from matching.features import LIST_FIELDS, Features, national_number

if TYPE_CHECKING:  # the batch run's columns (pandas): web processes, which score pair by pair, never load them
    from matching.profiles import Column, ProfileTable

MISSING = -1


@dataclass(frozen=True)
class Outcome:
    """What one comparison found: the level index (or MISSING), the similarity, the values compared."""

    level: int
    similarity: float | None = None
    left: Any = None
    right: Any = None


@dataclass(frozen=True)
class Comparison:
    """One attribute's comparison: its levels (strongest first) and the function that picks one.

    `levels_of` answers the same for many pairs at once (the batch run): through the compare function's
    array form (its `many` attribute) where it has one, pair by pair otherwise.
    """

    name: str
    label: str
    levels: tuple[str, ...]
    compare: Callable[[Features, Features], Outcome]
    # How many leading levels say the values agree, strongest first (the rest say they differ): a trained model's
    # weights must fall from one agreeing level to the next and be negative on every differing one. Default: all
    # levels but the last.
    agreeing: int = 0
    # Whether the agreeing levels are one similarity cut finer and finer (exact, very close, close): then a weaker
    # one never weighs more than a stronger one. Not so for kinds of agreement (a category the same or broader).
    graded: bool = True

    @property
    def agreeing_levels(self) -> int:
        return self.agreeing or len(self.levels) - 1

    def levels_of(self, pairs: "Pairs") -> np.ndarray:
        many = getattr(self.compare, "many", None)
        if many is not None:
            return many(pairs)
        return pairs.one_by_one(self.compare, np.ones(len(pairs), dtype=bool))


# Threads rapidfuzz's cpdist may use (-1: every core), for arrays of at least CPDIST_THREADED pairs (starting
# threads costs more than a few hundred comparisons).
CPDIST_WORKERS = -1
CPDIST_THREADED = 20_000


class Pairs:
    """Pairs of rows of a ProfileTable (left[i] with right[i]), gathered attribute by attribute as arrays."""

    def __init__(self, table: "ProfileTable", left: np.ndarray, right: np.ndarray) -> None:
        self.table = table
        self.left = np.asarray(left, dtype=np.int64)
        self.right = np.asarray(right, dtype=np.int64)
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.left)

    def column(self, key: str) -> "Column":
        return self.table.column(key)

    def codes(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Both sides' codes of an attribute (-1 where missing): equal codes, equal values."""
        if key not in self._codes:
            codes = self.column(key).codes
            self._codes[key] = (codes[self.left], codes[self.right])
        return self._codes[key]

    def counts(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Both sides' number of values of a list attribute."""
        counts = self.column(key).counts
        if counts is None:
            raise TypeError(f"{key} is not a list attribute")
        return counts[self.left], counts[self.right]

    def values(self, key: str, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both sides' values of the masked pairs (a list attribute's first value)."""
        column = self.column(key)
        source = column.first if column.first is not None else column.values
        return source[self.left[mask]], source[self.right[mask]]

    def one_by_one(self, compare: Callable[[Features, Features], Outcome], mask: np.ndarray) -> np.ndarray:
        """Levels of the masked pairs through the scalar compare function (MISSING elsewhere)."""
        levels = np.full(len(self), MISSING, dtype=np.int8)
        features = self.table.features
        for index in np.flatnonzero(mask):
            levels[index] = compare(features(int(self.left[index])), features(int(self.right[index]))).level
        return levels


def _cpdist(left: np.ndarray, right: np.ndarray, scorer: Callable[..., Any], **options: Any) -> np.ndarray:
    if not len(left):
        return np.empty(0, dtype=np.float64)
    workers = CPDIST_WORKERS if len(left) >= CPDIST_THREADED else 1
    return cpdist(left, right, scorer=scorer, workers=workers, **options)


def _best_pair(left: Sequence[str], right: Sequence[str], score: Callable[[str, str], float]) -> tuple[float, str, str]:
    best = (-1.0, "", "")
    for a in left:
        for b in right:
            similarity = score(a, b)
            if similarity > best[0]:
                best = (similarity, a, b)
    return best


_NUMBER = re.compile(r"\d+")


def _name_similarity(a: str, b: str) -> float:
    """Names: the better of Jaro-Winkler (typos) and token-set ratio (word order, an extra word).

    Names that carry different numbers ("Unit 7" and "Unit 17", "Hotel 1" and "Hotel 2") name different
    things however alike the rest is, so they are never more than "similar".
    """
    if a == b:
        return 1.0
    similarity = max(JaroWinkler.normalized_similarity(a, b), fuzz.token_set_ratio(a, b) / 100 * 0.98)
    numbers_a, numbers_b = _NUMBER.findall(a), _NUMBER.findall(b)
    if numbers_a and numbers_b and sorted(numbers_a) != sorted(numbers_b):
        similarity = min(similarity, 0.69)
    return similarity


def _numbers(value: str) -> tuple[str, ...]:
    return tuple(sorted(_NUMBER.findall(value)))


def _name_similarity_many(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """`_name_similarity` over arrays of pairs."""
    similarity = np.maximum(
        _cpdist(left, right, JaroWinkler.normalized_similarity, dtype=np.float64),
        _cpdist(left, right, fuzz.token_set_ratio, dtype=np.float64) / 100 * 0.98,
    )
    similarity[left == right] = 1.0
    # Different numbers cap the similarity; only pairs above the cap need their numbers read.
    for index in np.flatnonzero(similarity > 0.69):
        numbers_a, numbers_b = _numbers(left[index]), _numbers(right[index])
        if numbers_a and numbers_b and numbers_a != numbers_b:
            similarity[index] = 0.69
    return similarity


_name_similarity.many = _name_similarity_many  # type: ignore[attr-defined]


def _levels_by_cuts(similarity: np.ndarray, cuts: Sequence[float]) -> np.ndarray:
    """`fuzzy_list`'s level of each similarity: 0 when exact, else 1 + the first cut reached."""
    below = np.zeros(len(similarity), dtype=np.int8)
    for cut in cuts:  # cuts are descending: the level is the number of cuts not reached
        below += similarity < cut
    return np.where(similarity >= 1.0, 0, 1 + below).astype(np.int8)


def _thresholds(similarity: float, cuts: Sequence[float]) -> int:
    for level, cut in enumerate(cuts):
        if similarity >= cut:
            return level
    return len(cuts)


def fuzzy_list(key: str, cuts: Sequence[float], score: Callable[[str, str], float] = _name_similarity):
    """Best similarity between any value on the left and any on the right; level by thresholds, 1.0 exact."""

    def compare(left: Features, right: Features) -> Outcome:
        a, b = left.get(key) or [], right.get(key) or []
        if isinstance(a, str):
            a, b = [a] if a else [], [b] if b else []
        if not a or not b:
            return Outcome(MISSING, None, a or None, b or None)
        similarity, va, vb = _best_pair(a, b, score)
        level = 0 if similarity >= 1.0 else 1 + _thresholds(similarity, cuts)
        return Outcome(level, round(similarity, 4), va, vb)

    def many(pairs: Pairs) -> np.ndarray:
        left, right = pairs.codes(key)
        levels = np.full(len(pairs), MISSING, dtype=np.int8)
        present = (left >= 0) & (right >= 0)
        single = present
        if key in LIST_FIELDS:
            left_count, right_count = pairs.counts(key)
            single = present & (left_count == 1) & (right_count == 1)
        equal = single & (left == right)
        levels[equal] = 0
        todo = single & ~equal
        scorer = getattr(score, "many", None)
        if scorer is None:
            return np.where(present, pairs.one_by_one(compare, present), levels).astype(np.int8)
        levels[todo] = _levels_by_cuts(scorer(*pairs.values(key, todo)), cuts)
        several = present & ~single  # a record with two names: the best of every pairing, one pair at a time
        if several.any():
            levels[several] = pairs.one_by_one(compare, several)[several]
        return levels

    compare.many = many  # type: ignore[attr-defined]
    return compare


def _missing_or_equal(a: str, b: str) -> Outcome | None:
    """One value each: MISSING when a side has none, exact (level 0) when equal; None when they must be compared."""
    if not a or not b:
        return Outcome(MISSING, None, a or None, b or None)
    if a == b:
        return Outcome(0, 1.0, a, b)
    return None


def _crosswise(straight_first: Any, straight_last: Any, first_last: Any, last_first: Any) -> Any:
    """Whether two persons' names agree better read crosswise (one's first name against the other's last name)."""
    return first_last + last_first > straight_first + straight_last


def person_name(key: str, cuts: Sequence[float]):
    """A person's first or last name by Jaro-Winkler, levels by thresholds (1.0 exact). Names written the other way
    round ("Priest Felicity" and "Felicity Priest") are compared crosswise, since the order of the names never
    decides a match by itself: when the two names agree better that way, the first-name comparison takes the
    better crosswise pair and the last-name comparison the other, so a score stays the same from either side."""
    better = key == "first"

    def compare(left: Features, right: Features) -> Outcome:
        a, b = left.get(key) or "", right.get(key) or ""
        if settled := _missing_or_equal(a, b):
            return settled
        similarity, shown = JaroWinkler.normalized_similarity(a, b), (a, b)
        first_a, last_a, first_b, last_b = (
            side.get(name) or "" for side in (left, right) for name in ("first", "last")
        )
        if first_a and last_a and first_b and last_b:
            first_last = JaroWinkler.normalized_similarity(first_a, last_b)
            last_first = JaroWinkler.normalized_similarity(last_a, first_b)
            straight_first = JaroWinkler.normalized_similarity(first_a, first_b)
            straight_last = JaroWinkler.normalized_similarity(last_a, last_b)
            if _crosswise(straight_first, straight_last, first_last, last_first):
                if (first_last >= last_first) == better:
                    similarity, shown = first_last, (first_a, f"{last_b} (last name)")
                else:
                    similarity, shown = last_first, (last_a, f"{first_b} (first name)")
        level = 0 if similarity >= 1.0 else 1 + _thresholds(similarity, cuts)
        return Outcome(level, round(similarity, 4), *shown)

    def many(pairs: Pairs) -> np.ndarray:
        left, right = pairs.codes(key)
        present = (left >= 0) & (right >= 0)
        levels = np.where(present, 0, MISSING).astype(np.int8)
        todo = present & (left != right)
        similarity = _cpdist(*pairs.values(key, todo), JaroWinkler.normalized_similarity, dtype=np.float64)
        codes = [code for name in ("first", "last") for code in pairs.codes(name)]
        both = np.logical_and.reduce([code >= 0 for code in codes])[todo]
        mine, theirs = pairs.left[todo][both], pairs.right[todo][both]
        firsts, lasts = pairs.column("first").values, pairs.column("last").values

        def jaro_winkler(one: np.ndarray, other: np.ndarray) -> np.ndarray:
            return _cpdist(one, other, JaroWinkler.normalized_similarity, dtype=np.float64)

        first_last, last_first = jaro_winkler(firsts[mine], lasts[theirs]), jaro_winkler(lasts[mine], firsts[theirs])
        straight_first, straight_last = (
            jaro_winkler(firsts[mine], firsts[theirs]),
            jaro_winkler(lasts[mine], lasts[theirs]),
        )
        pick = np.maximum(first_last, last_first) if better else np.minimum(first_last, last_first)
        crosswise = _crosswise(straight_first, straight_last, first_last, last_first)
        similarity[np.flatnonzero(both)] = np.where(crosswise, pick, similarity[both])
        levels[todo] = _levels_by_cuts(similarity, cuts)
        return levels

    compare.many = many  # type: ignore[attr-defined]
    return compare


def shared(key: str):
    """Lists of identifiers (phones, tax IDs, domains): 0 if any value is shared, 1 if none is."""

    def compare(left: Features, right: Features) -> Outcome:
        a, b = left.get(key) or [], right.get(key) or []
        if not a or not b:
            return Outcome(MISSING, None, a or None, b or None)
        common = sorted(set(a) & set(b))
        if common:
            return Outcome(0, 1.0, common[0], common[0])
        return Outcome(1, 0.0, a[0], b[0])

    def many(pairs: Pairs) -> np.ndarray:
        left, right = pairs.codes(key)
        left_count, right_count = pairs.counts(key)
        present = (left_count > 0) & (right_count > 0)
        single = present & (left_count == 1) & (right_count == 1)
        levels = np.full(len(pairs), MISSING, dtype=np.int8)
        levels[single] = np.where(left[single] == right[single], 0, 1)
        several = present & ~single
        if several.any():
            levels[several] = pairs.one_by_one(compare, several)[several]
        return levels

    compare.many = many  # type: ignore[attr-defined]
    return compare


_shared_phone_numbers = shared("phonenums")


def _shown_phone(number: str, phones: Sequence[str]) -> str:
    """A phone compared by its national significant number, shown as the record holds it (E.164) where it does."""
    return next((phone for phone in phones if national_number(phone) == number), number)


def phone(left: Features, right: Features) -> Outcome:
    """Phones by their national significant numbers, valid or not ("+49 30 123456" and an unverifiable
    "030 123456" agree): shared, or all different."""
    found = _shared_phone_numbers(left, right)
    if found.level == MISSING:
        return found
    return Outcome(
        found.level,
        found.similarity,
        _shown_phone(found.left, left.get("phones") or ()),
        _shown_phone(found.right, right.get("phones") or ()),
    )


phone.many = _shared_phone_numbers.many  # type: ignore[attr-defined]


def exact(key: str, *, close: Callable[[str, str], bool] | None = None):
    """One value each: 0 exact, then (when given) 1 close, then different."""

    def compare(left: Features, right: Features) -> Outcome:
        a, b = left.get(key) or "", right.get(key) or ""
        if settled := _missing_or_equal(a, b):
            return settled
        if close is not None:
            return Outcome(1 if close(a, b) else 2, None, a, b)
        return Outcome(1, 0.0, a, b)

    def many(pairs: Pairs) -> np.ndarray:
        left, right = pairs.codes(key)
        present = (left >= 0) & (right >= 0)
        levels = np.where(present, np.where(left == right, 0, 1), MISSING).astype(np.int8)
        if close is None:
            return levels
        differ = present & (left != right)
        close_many = getattr(close, "many", None)
        if close_many is None:
            levels[differ] = pairs.one_by_one(compare, differ)[differ]
        else:
            levels[differ] = np.where(close_many(pairs.column(key), left[differ], right[differ]), 1, 2)
        return levels

    compare.many = many  # type: ignore[attr-defined]
    return compare


def _one_edit(a: str, b: str) -> bool:
    return Levenshtein.distance(a, b, score_cutoff=1) <= 1 or _transposed(a, b)


def _one_edit_values(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """`_one_edit` over arrays: one insertion, deletion or substitution, or two neighbours swapped, is an
    optimal-string-alignment distance of at most 1."""
    return _cpdist(left, right, OSA.distance, score_cutoff=1) <= 1


_one_edit.many = lambda column, left, right: _one_edit_values(  # type: ignore[attr-defined]
    column.uniques[left], column.uniques[right]
)


def _transposed(a: str, b: str) -> bool:
    if len(a) != len(b):
        return False
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def _dates_close(a: str, b: str) -> bool:
    """Dates of birth one typo apart, or with day and month swapped."""
    try:
        first, second = date.fromisoformat(a), date.fromisoformat(b)
    except ValueError:
        return _one_edit(a, b)
    swapped = first.day == second.month and first.month == second.day and first.year == second.year
    return swapped or _one_edit(a.replace("-", ""), b.replace("-", ""))


def _parsed_date(value: str) -> tuple[int, int, int]:
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return (-1, -1, -1)
    return (parsed.year, parsed.month, parsed.day)


def _dates_close_many(column: "Column", left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """`_dates_close` over arrays of codes (each distinct date parsed once)."""
    parsed = column.derived("date", _parsed_date, dtype=np.int32)
    if not len(parsed):
        return np.zeros(len(left), dtype=bool)
    digits = column.derived("date digits", lambda value: value.replace("-", ""))
    a, b = parsed[left], parsed[right]
    valid = (a[:, 0] >= 0) & (b[:, 0] >= 0)
    swapped = valid & (a[:, 2] == b[:, 1]) & (a[:, 1] == b[:, 2]) & (a[:, 0] == b[:, 0])
    close = swapped.copy()
    rest = ~swapped & valid
    close[rest] = _one_edit_values(digits[left[rest]], digits[right[rest]])
    unparsed = ~valid
    close[unparsed] = _one_edit_values(column.uniques[left[unparsed]], column.uniques[right[unparsed]])
    return close


_dates_close.many = _dates_close_many  # type: ignore[attr-defined]


def _city_close(a: str, b: str) -> bool:
    return JaroWinkler.normalized_similarity(a, b) >= 0.9


_city_close.many = lambda column, left, right: (  # type: ignore[attr-defined]
    _cpdist(column.uniques[left], column.uniques[right], JaroWinkler.normalized_similarity, dtype=np.float64) >= 0.9
)


def address(left: Features, right: Features) -> Outcome:
    """An organisation's address as one comparison: street, postcode and city agree together, so counting
    them as three independent pieces of evidence would make neighbours in one office building a match."""
    if not (left.get("postcode") or left.get("city")) or not (right.get("postcode") or right.get("city")):
        return Outcome(MISSING)
    shown_left = ", ".join(filter(None, (left.get("street"), left.get("postcode"), left.get("city"))))
    shown_right = ", ".join(filter(None, (right.get("street"), right.get("postcode"), right.get("city"))))
    same_postcode = bool(left.get("postcode")) and left.get("postcode") == right.get("postcode")
    street = fuzz.token_set_ratio(left.get("street") or "", right.get("street") or "") / 100
    if same_postcode and left.get("street") and street >= 0.85:
        return Outcome(0, round(street, 4), shown_left, shown_right)
    if same_postcode:
        return Outcome(1, round(street, 4), shown_left, shown_right)
    if left.get("city") and _city_close(left["city"], right.get("city") or ""):
        return Outcome(2, None, shown_left, shown_right)
    return Outcome(3, None, shown_left, shown_right)


def _address_many(pairs: Pairs) -> np.ndarray:
    """`address` over arrays of pairs."""
    left_postcode, right_postcode = pairs.codes("postcode")
    left_city, right_city = pairs.codes("city")
    left_street, _ = pairs.codes("street")
    present = ((left_postcode >= 0) | (left_city >= 0)) & ((right_postcode >= 0) | (right_city >= 0))
    same_postcode = present & (left_postcode >= 0) & (left_postcode == right_postcode)
    levels = np.where(present, 3, MISSING).astype(np.int8)
    levels[same_postcode] = 1
    by_street = same_postcode & (left_street >= 0)
    similarity = _cpdist(*pairs.values("street", by_street), fuzz.token_set_ratio, dtype=np.float64)
    levels[np.flatnonzero(by_street)[similarity / 100 >= 0.85]] = 0
    by_city = present & ~same_postcode & (left_city >= 0) & (right_city >= 0)
    near = _cpdist(*pairs.values("city", by_city), JaroWinkler.normalized_similarity, dtype=np.float64)
    levels[np.flatnonzero(by_city)[near >= 0.9]] = 2
    return levels


address.many = _address_many  # type: ignore[attr-defined]


def _tax_country(tax: str) -> str:
    return tax.split(":", 1)[0]


def tax_id(left: Features, right: Features) -> Outcome:
    """Tax IDs as they are, valid or not: a shared valid number; the same number where a check digit fails or a
    prefix is missing; one character apart (a typo, which is what most check-digit failures are); two valid
    numbers of one country that differ (two legal entities); or different."""
    a, b = left.get("taxnum") or [], right.get("taxnum") or []
    if not a or not b:
        return Outcome(MISSING, None, a or None, b or None)
    valid = sorted(set(left.get("tax") or ()) & set(right.get("tax") or ()))
    if valid:
        return Outcome(0, 1.0, valid[0].split(":", 1)[1], valid[0].split(":", 1)[1])
    common = sorted(set(a) & set(b))
    if common:
        return Outcome(1, 1.0, common[0], common[0])
    near = next(((x, y) for x in a for y in b if _one_edit(x, y)), None)
    if near is not None:
        return Outcome(2, None, *near)
    countries = {_tax_country(tax) for tax in left.get("tax") or ()} & {
        _tax_country(tax) for tax in right.get("tax") or ()
    }
    if countries:
        return Outcome(3, 0.0, (left.get("tax") or [""])[0], (right.get("tax") or [""])[0])
    return Outcome(4, 0.0, a[0], b[0])


def _tax_id_many(pairs: "Pairs") -> np.ndarray:
    left_count, right_count = pairs.counts("taxnum")
    present = (left_count > 0) & (right_count > 0)
    return pairs.one_by_one(tax_id, present)


tax_id.many = _tax_id_many  # type: ignore[attr-defined]


def person_address(left: Features, right: Features) -> Outcome:
    """A person's home address as one comparison. Street, postcode and city agree together for everyone living
    there: counted as three independent pieces of evidence they would make a household one person."""
    if not (left.get("postcode") or left.get("city")) or not (right.get("postcode") or right.get("city")):
        return Outcome(MISSING)
    shown_left = ", ".join(filter(None, (left.get("street"), left.get("postcode"), left.get("city"))))
    shown_right = ", ".join(filter(None, (right.get("street"), right.get("postcode"), right.get("city"))))
    postcode_a, postcode_b = left.get("postcode") or "", right.get("postcode") or ""
    same_postcode = bool(postcode_a) and postcode_a == postcode_b
    city_a, city_b = left.get("city") or "", right.get("city") or ""
    same_city = bool(city_a) and bool(city_b) and _city_close(city_a, city_b)
    street_a, street_b = left.get("street") or "", right.get("street") or ""
    street = fuzz.token_set_ratio(street_a, street_b) / 100 if street_a and street_b else 0.0
    if street >= 0.85 and same_postcode:
        level = 0
    elif street >= 0.85 and (same_city or (postcode_a and postcode_b and _one_edit(postcode_a, postcode_b))):
        level = 1
    elif same_postcode:
        level = 2
    elif same_city:
        level = 3
    else:
        level = 4
    return Outcome(level, round(street, 4), shown_left, shown_right)


def _person_address_many(pairs: "Pairs") -> np.ndarray:
    """`person_address` over arrays of pairs."""
    left_postcode, right_postcode = pairs.codes("postcode")
    left_city, right_city = pairs.codes("city")
    left_street, right_street = pairs.codes("street")
    present = ((left_postcode >= 0) | (left_city >= 0)) & ((right_postcode >= 0) | (right_city >= 0))
    same_postcode = present & (left_postcode >= 0) & (left_postcode == right_postcode)
    both_cities = present & (left_city >= 0) & (right_city >= 0)
    same_city = both_cities & (left_city == right_city)
    differ = both_cities & ~same_city
    if differ.any():
        same_city[differ] = _city_close.many(pairs.column("city"), left_city[differ], right_city[differ])  # type: ignore[attr-defined]
    streets = present & (left_street >= 0) & (right_street >= 0)
    street_close = np.zeros(len(pairs), dtype=bool)
    street_close[streets & (left_street == right_street)] = True
    todo = streets & (left_street != right_street)
    similarity = _cpdist(*pairs.values("street", todo), fuzz.token_set_ratio, dtype=np.float64)
    street_close[np.flatnonzero(todo)[similarity / 100 >= 0.85]] = True
    postcodes = present & (left_postcode >= 0) & (right_postcode >= 0) & ~same_postcode
    near_postcode = np.zeros(len(pairs), dtype=bool)
    check = postcodes & street_close & ~same_city
    if check.any():
        near_postcode[check] = _one_edit.many(pairs.column("postcode"), left_postcode[check], right_postcode[check])  # type: ignore[attr-defined]
    levels = np.where(present, 4, MISSING).astype(np.int8)
    levels[present & same_city] = 3
    levels[same_postcode] = 2
    levels[street_close & (same_city | near_postcode)] = 1
    levels[street_close & same_postcode] = 0
    return levels


person_address.many = _person_address_many  # type: ignore[attr-defined]


def _gtin_item(gtin: str) -> str:
    """A GTIN-14's item reference: without its packaging indicator (first digit) and check digit (last)."""
    return gtin[1:13] if len(gtin) == 14 else gtin


def gtin(left: Features, right: Features) -> Outcome:
    """GTINs as they are: the same; the same item reference with another packaging level (a case's GTIN-14) or a
    wrong check digit; one digit apart (a typo); or different."""
    a, b = left.get("gtin") or "", right.get("gtin") or ""
    if settled := _missing_or_equal(a, b):
        return settled
    if _gtin_item(a) == _gtin_item(b):
        return Outcome(1, None, a, b)
    return Outcome(2 if _one_edit(a, b) else 3, None, a, b)


def _gtin_many(pairs: "Pairs") -> np.ndarray:
    left, right = pairs.codes("gtin")
    present = (left >= 0) & (right >= 0)
    levels = np.where(present, np.where(left == right, 0, 3), MISSING).astype(np.int8)
    differ = present & (left != right)
    if differ.any():
        levels[differ] = pairs.one_by_one(gtin, differ)[differ]
    return levels


gtin.many = _gtin_many  # type: ignore[attr-defined]


def sku(left: Features, right: Features) -> Outcome:
    """SKUs: the same (padding zeros, case and separators aside); the same number under another prefix or with a
    suffix ("17928" and "SCR-17928-BX"); or different. SKUs are numbered in sequence ("SAF10078", "SAF10048"):
    one character apart is another product, so there is no "close" level."""
    a, b = left.get("sku") or "", right.get("sku") or ""
    if settled := _missing_or_equal(a, b):
        return settled
    number_a, number_b = left.get("skunum") or "", right.get("skunum") or ""
    if number_a and number_a == number_b:
        return Outcome(1, None, a, b)
    return Outcome(2, 0.0, a, b)


def _sku_many(pairs: "Pairs") -> np.ndarray:
    left, right = pairs.codes("sku")
    present = (left >= 0) & (right >= 0)
    number_left, number_right = pairs.codes("skunum")
    same_number = (number_left >= 0) & (number_left == number_right)
    return np.where(present, np.where(left == right, 0, np.where(same_number, 1, 2)), MISSING).astype(np.int8)


sku.many = _sku_many  # type: ignore[attr-defined]


def price(left: Features, right: Features) -> Outcome:
    """List prices in one currency: the same, within 1%, within 10% (a stale price list), or different. Prices in
    two currencies say nothing (exchange rates and rounding), so they count as missing."""
    a, b = left.get("price") or "", right.get("price") or ""
    if not a or not b or (left.get("currency") or "") != (right.get("currency") or ""):
        return Outcome(MISSING, None, a or None, b or None)
    try:
        x, y = Decimal(a), Decimal(b)
    except (InvalidOperation, ValueError):
        return Outcome(3, None, a, b)
    largest = max(abs(x), abs(y))
    if x == y:
        return Outcome(0, 1.0, a, b)
    if abs(x - y) <= Decimal("0.01") * largest:
        return Outcome(1, None, a, b)
    return Outcome(2 if abs(x - y) <= Decimal("0.1") * largest else 3, None, a, b)


def category(left: Features, right: Features) -> Outcome:
    """Categories: the same; one the other's broader or narrower form ("coatings" and "chemicals coatings": two
    systems' taxonomies at different depths); or different."""
    a, b = left.get("category") or "", right.get("category") or ""
    if settled := _missing_or_equal(a, b):
        return settled
    words_a, words_b = set(a.split()), set(b.split())
    if words_a <= words_b or words_b <= words_a:
        return Outcome(1, None, a, b)
    return Outcome(2, 0.0, a, b)


def _abbreviates(short: str, long: str) -> bool:
    """Whether a word is an abbreviation of another: its prefix ("ind", "industrial"), or its letters in order
    starting with the same one ("cbl", "cable"; "blk", "black"; "pwr", "power")."""
    if short == long:
        return True
    if len(short) < 2 or len(short) >= len(long) or short[0] != long[0] or short.isdigit():
        return False
    if long.startswith(short):
        return True
    position = 0
    for char in short:
        position = long.find(char, position) + 1
        if not position:
            return False
    return True


# Where digits meet letters ("100m", "4x40mm", "h07rn"): split, so "100 m" and "100m" read as the same words.
_UNIT_BOUNDARY = re.compile(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)")


def _same_word(one: str, other: str) -> bool:
    """Two words of product names that name the same thing: equal, one abbreviating the other, or one typo apart."""
    if _abbreviates(one, other) or _abbreviates(other, one):
        return True
    return min(len(one), len(other)) >= 4 and not one.isdigit() and _one_edit(one, other)


def product_name_similarity(a: str, b: str) -> float:
    """Product names, word by word: the share of the shorter name's words found in the other in order, equal, one
    abbreviating the other ("rbr pwr cbl h07rn" and "rubber power cable h07rn": ERP item names are abbreviated to
    fit a field) or one typo apart. Variants of one product line differ in a word ("blue size m" and "black size
    l"), which a similarity of the whole string hides behind their long common beginning; different numbers
    (sizes, pack counts) keep a name "similar" at most, as for every name."""
    if a == b:
        return 1.0
    words_a, words_b = _UNIT_BOUNDARY.sub(" ", a).split(), _UNIT_BOUNDARY.sub(" ", b).split()
    short, long = (words_a, words_b) if len(words_a) <= len(words_b) else (words_b, words_a)
    if not short:
        return 0.0
    matched, position = 0, 0
    for word in short:
        for index in range(position, len(long)):
            if _same_word(word, long[index]):
                matched, position = matched + 1, index + 1
                break
    similarity = matched / len(short) * 0.97
    numbers_a, numbers_b = _NUMBER.findall(a), _NUMBER.findall(b)
    if numbers_a and numbers_b and sorted(numbers_a) != sorted(numbers_b):
        similarity = min(similarity, 0.69)
    return similarity


# Levels of tax_id that say "one number", and the one that says "two legal entities".
_SAME_TAX_NUMBER = (0, 1)
_TWO_VALID_TAX_NUMBERS = 3


def distinct_legal_entities(left: Features, right: Features, levels: Mapping[str, int]) -> str | None:
    """Why two organisations are two legal entities whatever else agrees, or None: a legal address in another
    country, or two valid tax IDs of one country that differ. A company of the same group in another country
    shares the brand, the web domain and often the switchboard, and is still another company: related through
    the hierarchy, never merged. A shared tax number outweighs both (a company that moved abroad). `levels`: the
    pair's level of each comparison, as scored."""
    if left.get("kind") != "organisation" or right.get("kind") != "organisation":
        return None
    level = levels["tax_id"]
    if level in _SAME_TAX_NUMBER:
        return None
    if level == _TWO_VALID_TAX_NUMBERS:
        return "two valid tax IDs of one country that differ"
    country_a, country_b = left.get("country") or "", right.get("country") or ""
    if country_a and country_b and country_a != country_b:
        return f"legal addresses in two countries ({country_a}, {country_b})"
    return None


def distinct_persons(left: Features, right: Features, levels: Mapping[str, int]) -> str | None:
    """Why two person records are two people whatever else agrees, or None: their first names differ (not a typo,
    not written the other way round) and so do their dates of birth (not a typo, not day and month swapped), or
    they name two generations ("Jr." and "Sr."); one national ID outweighs names and dates. A household shares the
    surname, the address and often the phone and email; twins share the date of birth too, so they are left to the
    first name (scoring.Scorer.cap). `levels`: the pair's level of each comparison, as scored."""
    if left.get("kind") != "person" or right.get("kind") != "person":
        return None
    generation_a, generation_b = left.get("gen") or "", right.get("gen") or ""
    if generation_a and generation_b and generation_a != generation_b:
        return f"another generation ({generation_a}, {generation_b})"
    differ = levels["first_name"] == _FIRST_NAME_DIFFERENT and levels["date_of_birth"] == _DATE_OF_BIRTH_DIFFERENT
    if differ and levels["national_id"] != _SAME_NATIONAL_ID:  # one national ID outweighs both
        return "different first names and dates of birth"
    return None


def distinct_persons_many(
    pairs: "Pairs", first_levels: np.ndarray, born_levels: np.ndarray, national_id_levels: np.ndarray
) -> np.ndarray:
    """`distinct_persons` over arrays of person pairs, given their first-name, birth-date and national ID levels."""
    left, right = pairs.codes("gen")
    generations = (left >= 0) & (right >= 0) & (left != right)
    differ = (first_levels == _FIRST_NAME_DIFFERENT) & (born_levels == _DATE_OF_BIRTH_DIFFERENT)
    return generations | (differ & (national_id_levels != _SAME_NATIONAL_ID))


_SERIES = re.compile(r"^[A-Z]+")
_SKU_DIFFERENT, _GTIN_DIFFERENT = 2, 3


def _series(sku: str) -> str:
    """A SKU's series: its leading letters ("GLV" of "GLV13166"); "" when it starts with a digit."""
    found = _SERIES.match(sku)
    return found.group() if found else ""


def distinct_products(left: Features, right: Features, levels: Mapping[str, int]) -> str | None:
    """Why two product records are two products whatever else agrees, or None: two item numbers of one series
    ("GLV13166" and "GLV13153": SKUs are numbered in sequence, and variants of one product line differ in nothing
    but a size or a colour in their names), or two GTINs that differ beyond a packaging level or a check digit.
    `levels`: the pair's level of each comparison, as scored."""
    if left.get("kind") != "product" or right.get("kind") != "product":
        return None
    if levels["sku"] == _SKU_DIFFERENT and _series(left["sku"]) and _series(left["sku"]) == _series(right["sku"]):
        return f"two item numbers of one series ({left['sku']}, {right['sku']})"
    if levels["gtin"] == _GTIN_DIFFERENT:
        return f"two GTINs ({left['gtin']}, {right['gtin']})"
    return None


def distinct_products_many(pairs: "Pairs", sku_levels: np.ndarray, gtin_levels: np.ndarray) -> np.ndarray:
    """`distinct_products` over arrays of product pairs, given their SKU and GTIN levels."""
    left, right = pairs.codes("sku")
    differ = np.flatnonzero(sku_levels == _SKU_DIFFERENT)
    series = pairs.column("sku").derived("series", _series)
    same_series = np.zeros(len(pairs), dtype=bool)
    if len(differ):
        mine, theirs = series[left[differ]], series[right[differ]]
        same_series[differ] = (mine == theirs) & (mine != "")
    return same_series | (gtin_levels == _GTIN_DIFFERENT)


def distinct_legal_entities_many(pairs: "Pairs", tax_levels: np.ndarray) -> np.ndarray:
    """`distinct_legal_entities` over arrays of organisation pairs, given their tax_id levels."""
    left, right = pairs.codes("country")
    countries = (left >= 0) & (right >= 0) & (left != right)
    same_number = np.isin(tax_levels, _SAME_TAX_NUMBER)
    return ~same_number & (countries | (tax_levels == _TWO_VALID_TAX_NUMBERS))


ORGANISATION: tuple[Comparison, ...] = (
    Comparison(
        "name",
        "Name (legal or trade, legal form and abbreviations normalised)",
        ("exact", "very close", "close", "similar", "different"),
        fuzzy_list("names", (0.92, 0.85, 0.7)),
    ),
    Comparison("legal_form", "Legal form (canonical: Ltd, GmbH, SAS…)", ("same", "different"), shared("forms")),
    Comparison(
        "tax_id",
        "Tax ID (as sent: valid or not)",
        ("same valid number", "same number", "one character apart", "two valid numbers of one country", "different"),
        tax_id,
        agreeing=3,
    ),
    Comparison("phone", "Phone (national significant number)", ("shared", "different"), phone),
    Comparison("domain", "Website or email domain", ("shared", "different"), shared("domains")),
    Comparison(
        "address",
        "Address (street, postcode, city)",
        ("same street and postcode", "same postcode", "same city", "different"),
        address,
    ),
    Comparison("country", "Country", ("same", "different"), exact("country")),
)

PERSON: tuple[Comparison, ...] = (
    Comparison(
        "first_name",
        "First name",
        ("exact", "close", "similar", "different"),
        person_name("first", (0.92, 0.8)),
    ),
    Comparison(
        "last_name",
        "Last name",
        ("exact", "close", "similar", "different"),
        person_name("last", (0.92, 0.8)),
    ),
    Comparison(
        "date_of_birth",
        "Date of birth",
        ("exact", "one typo or day/month swapped", "different"),
        exact("dob", close=_dates_close),
    ),
    Comparison("national_id", "National ID", ("exact", "one typo", "different"), exact("nid", close=_one_edit)),
    Comparison(
        "address",
        "Home address (street, postcode, city)",
        (
            "same street and postcode",
            "same street, postcode one edit apart or same city",
            "same postcode",
            "same city",
            "different",
        ),
        person_address,
    ),
    Comparison("phone", "Phone (national significant number)", ("shared", "different"), phone),
    Comparison("email", "Email", ("shared", "different"), shared("emails")),
)

_FIRST_NAME_DIFFERENT, _DATE_OF_BIRTH_DIFFERENT = len(PERSON[0].levels) - 1, len(PERSON[2].levels) - 1
_SAME_NATIONAL_ID = 0

PRODUCT: tuple[Comparison, ...] = (
    Comparison(
        "gtin",
        "GTIN",
        ("same", "same item, other packaging level or check digit", "one digit apart", "different"),
        gtin,
    ),
    Comparison("sku", "SKU (normalised)", ("same", "same number", "different"), sku),
    Comparison(
        "name",
        "Product name (abbreviations read)",
        ("exact", "very close", "close", "different"),
        fuzzy_list("name", (0.9, 0.75), product_name_similarity),
    ),
    Comparison("unit", "Unit of measure", ("same", "different"), exact("uom")),
    Comparison("category", "Category", ("same", "broader or narrower", "different"), category, graded=False),
    Comparison("price", "List price (same currency)", ("same", "within 1%", "within 10%", "different"), price),
)

COMPARISONS: dict[str, tuple[Comparison, ...]] = {"organisation": ORGANISATION, "person": PERSON, "product": PRODUCT}


def comparisons_for(found: Features) -> tuple[Comparison, ...]:
    """The comparisons for a record of this kind (organisation, person, product)."""
    return COMPARISONS[found["kind"]]


def compare(left: Features, right: Features) -> list[Outcome]:
    """Every comparison of two records of the same kind, in the order of `comparisons_for`."""
    return [comparison.compare(left, right) for comparison in comparisons_for(left)]
