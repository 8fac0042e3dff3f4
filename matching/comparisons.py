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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein

from matching.features import Features

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
    """One attribute's comparison: its levels (strongest first) and the function that picks one."""

    name: str
    label: str
    levels: tuple[str, ...]
    compare: Callable[[Features, Features], Outcome]


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

    return compare


def exact(key: str, *, close: Callable[[str, str], bool] | None = None):
    """One value each: 0 exact, then (when given) 1 close, then different."""

    def compare(left: Features, right: Features) -> Outcome:
        a, b = left.get(key) or "", right.get(key) or ""
        if not a or not b:
            return Outcome(MISSING, None, a or None, b or None)
        if a == b:
            return Outcome(0, 1.0, a, b)
        if close is not None:
            return Outcome(1 if close(a, b) else 2, None, a, b)
        return Outcome(1, 0.0, a, b)

    return compare


def _one_edit(a: str, b: str) -> bool:
    return Levenshtein.distance(a, b, score_cutoff=1) <= 1 or _transposed(a, b)


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


def _prices_close(a: str, b: str) -> bool:
    try:
        x, y = Decimal(a), Decimal(b)
    except (InvalidOperation, ValueError):
        return False
    return abs(x - y) <= Decimal("0.01") * max(abs(x), abs(y))


def _city_close(a: str, b: str) -> bool:
    return JaroWinkler.normalized_similarity(a, b) >= 0.9


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


ORGANISATION: tuple[Comparison, ...] = (
    Comparison(
        "name",
        "Name (legal or trade, legal form and abbreviations normalised)",
        ("exact", "very close", "close", "similar", "different"),
        fuzzy_list("names", (0.92, 0.85, 0.7)),
    ),
    Comparison("legal_form", "Legal form (canonical: Ltd, GmbH, SAS…)", ("same", "different"), shared("forms")),
    Comparison("tax_id", "Tax ID (valid ones)", ("same", "different"), shared("tax")),
    Comparison("phone", "Phone (E.164)", ("shared", "different"), shared("phones")),
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
        fuzzy_list("first", (0.92, 0.8), JaroWinkler.normalized_similarity),
    ),
    Comparison(
        "last_name",
        "Last name",
        ("exact", "close", "similar", "different"),
        fuzzy_list("last", (0.92, 0.8), JaroWinkler.normalized_similarity),
    ),
    Comparison(
        "date_of_birth",
        "Date of birth",
        ("exact", "one typo or day/month swapped", "different"),
        exact("dob", close=_dates_close),
    ),
    Comparison("national_id", "National ID", ("exact", "one typo", "different"), exact("nid", close=_one_edit)),
    Comparison(
        "street",
        "Street address",
        ("exact", "close", "similar", "different"),
        fuzzy_list("street", (0.85, 0.6), lambda a, b: fuzz.token_set_ratio(a, b) / 100),
    ),
    Comparison("postcode", "Postcode", ("exact", "one edit", "different"), exact("postcode", close=_one_edit)),
    Comparison("city", "City", ("exact", "close", "different"), exact("city", close=_city_close)),
    Comparison("phone", "Phone (E.164)", ("shared", "different"), shared("phones")),
    Comparison("email", "Email", ("shared", "different"), shared("emails")),
)

PRODUCT: tuple[Comparison, ...] = (
    Comparison("gtin", "GTIN", ("same", "different"), exact("gtin")),
    # SKUs are numbered in sequence ("SAF10078", "SAF10048"): one character apart is another product.
    Comparison("sku", "SKU (normalised)", ("same", "different"), exact("sku")),
    Comparison(
        "name",
        "Product name",
        ("exact", "very close", "close", "different"),
        fuzzy_list("name", (0.9, 0.75)),
    ),
    Comparison("unit", "Unit of measure", ("same", "different"), exact("uom")),
    Comparison("category", "Category", ("same", "different"), exact("category")),
    Comparison("price", "List price", ("same", "within 1%", "different"), exact("price", close=_prices_close)),
)

COMPARISONS: dict[str, tuple[Comparison, ...]] = {"organisation": ORGANISATION, "person": PERSON, "product": PRODUCT}


def comparisons_for(found: Features) -> tuple[Comparison, ...]:
    """The comparisons for a record of this kind (organisation, person, product)."""
    return COMPARISONS[found["kind"]]


def compare(left: Features, right: Features) -> list[Outcome]:
    """Every comparison of two records of the same kind, in the order of `comparisons_for`."""
    return [comparison.compare(left, right) for comparison in comparisons_for(left)]
