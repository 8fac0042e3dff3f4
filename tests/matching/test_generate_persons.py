"""bench/generate_persons.py: FEBRL-like person records, seeded, with a truth that the record IDs carry.

The generator lives in bench/, not in a package, so its directory goes on sys.path. No database: the contract check
needs only the settings.
"""

import csv
import io
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from generate_persons import (
    CSV_COLUMNS,
    FIELDS,
    MAX_DUPLICATES,
    Summary,
    _keyboard_neighbours,
    csv_row,
    hub_record,
    persons,
    vocabulary,
    write,
)

SAMPLE = 3000
_REC_ID = re.compile(r"rec-(\d+)-(?:org|dup-(\d+))")


@pytest.fixture(scope="module")
def sample() -> list[dict[str, str]]:
    return list(persons(SAMPLE, seed=7))


def _groups(records: list[dict[str, str]]) -> dict[str, dict[str, dict[str, str]]]:
    """entity -> {rec_id: record}."""
    groups: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    for record in records:
        groups[record["entity"]][record["rec_id"]] = record
    return groups


def _differing(left: dict[str, str], right: dict[str, str]) -> list[str]:
    return [name for name in FIELDS if left[name] != right[name]]


def test_same_seed_same_records(sample: list[dict[str, str]]) -> None:
    assert list(persons(SAMPLE, seed=7)) == sample
    assert list(persons(SAMPLE, seed=8)) != sample


def test_count_and_shape(sample: list[dict[str, str]]) -> None:
    assert len(sample) == SAMPLE
    assert list(persons(0)) == []
    assert len(list(persons(1))) == 1
    assert all(set(record) == {"rec_id", "entity", *FIELDS} for record in sample)
    assert all(isinstance(record[name], str) for record in sample for name in FIELDS)
    assert len({record["rec_id"] for record in sample}) == SAMPLE


def test_the_truth_is_the_number_in_the_record_id(sample: list[dict[str, str]]) -> None:
    for record in sample:
        match = _REC_ID.fullmatch(record["rec_id"])
        assert match is not None, record["rec_id"]
        assert match.group(1) == record["entity"]
    for entity, members in _groups(sample).items():
        assert f"rec-{entity}-org" in members  # one original per entity
        numbers = sorted(int(_REC_ID.fullmatch(rec_id).group(2)) for rec_id in members if "-dup-" in rec_id)
        assert numbers == list(range(len(numbers)))  # dup-0, dup-1, ...
        assert len(numbers) <= MAX_DUPLICATES


def test_duplicates_make_up_about_the_share_asked_for(sample: list[dict[str, str]]) -> None:
    duplicates = sum("-dup-" in record["rec_id"] for record in sample)
    assert 0.35 < duplicates / SAMPLE < 0.45
    share = sum("-dup-" in record["rec_id"] for record in persons(SAMPLE, seed=7, duplicate_share=0.6)) / SAMPLE
    assert 0.55 < share < 0.65
    with pytest.raises(ValueError, match="duplicate_share"):
        list(persons(10, duplicate_share=0.9))


def test_the_number_of_duplicates_is_skewed(sample: list[dict[str, str]]) -> None:
    """dsgen's Zipf: originals with one duplicate are the most common, with five the least."""
    sizes = Counter(len(members) for members in _groups(sample).values() if len(members) > 1)
    assert set(sizes) <= set(range(2, MAX_DUPLICATES + 2))
    assert sizes[2] > sizes[4] > sizes[6] > 0


def test_duplicates_differ_from_their_original_but_stay_close(sample: list[dict[str, str]]) -> None:
    changed: Counter[int] = Counter()
    for entity, members in _groups(sample).items():
        original = members[f"rec-{entity}-org"]
        for rec_id, record in members.items():
            if rec_id.endswith("-org"):
                continue
            differing = _differing(original, record)
            assert 1 <= len(differing) <= 5, (original, record)
            changed[len(differing)] += 1
    total = sum(changed.values())
    assert changed[1] + changed[2] > 0.5 * total  # as in FEBRL3: most duplicates change one or two fields
    assert changed[5] < 0.1 * total


def test_duplicates_carry_typos_missing_values_and_swapped_names(sample: list[dict[str, str]]) -> None:
    groups = _groups(sample)
    typos = missing = swapped = 0
    for entity, members in groups.items():
        original = members[f"rec-{entity}-org"]
        for rec_id, record in members.items():
            if rec_id.endswith("-org"):
                continue
            swapped += (record["given_name"], record["surname"]) == (original["surname"], original["given_name"])
            for name in _differing(original, record):
                missing += bool(original[name]) and not record[name]
                a, b = original[name], record[name]
                typos += bool(a and b) and abs(len(a) - len(b)) <= 1 and a[0] == b[0]
    duplicates = sum(len(members) - 1 for members in groups.values())
    assert typos > 0.5 * duplicates
    assert 0.05 * duplicates < missing < 0.3 * duplicates
    assert 0.01 * duplicates < swapped < 0.1 * duplicates


def test_values_look_like_febrl(sample: list[dict[str, str]]) -> None:
    vocab = vocabulary()
    originals = [record for record in sample if record["rec_id"].endswith("-org")]
    assert {record["given_name"] for record in originals} <= set(vocab.given_names)
    assert {record["surname"] for record in originals} <= set(vocab.surnames)
    assert {record["state"] for record in originals} <= {"nsw", "vic", "qld", "wa", "sa", "tas", "act", "nt", ""}
    assert all(re.fullmatch(r"\d{4}", record["postcode"]) for record in originals)
    assert all(re.fullmatch(r"(19\d\d[01]\d[0-3]\d)?", record["date_of_birth"]) for record in originals)
    assert all(re.fullmatch(r"[1-9]\d{6}", record["soc_sec_id"]) for record in sample)
    assert all(re.fullmatch(r"\d{4}", record["postcode"]) for record in sample)  # slips keep the digit count
    # Names repeat, as real names do, and a few values are missing, as in FEBRL.
    assert Counter(record["surname"] for record in originals).most_common(1)[0][1] > 5
    assert 0.05 < sum(not record["address_2"] for record in originals) / len(originals) < 0.15


def test_originals_have_their_own_social_security_number(sample: list[dict[str, str]]) -> None:
    numbers = Counter(record["soc_sec_id"] for record in sample if record["rec_id"].endswith("-org"))
    assert max(numbers.values()) == 1


def test_keyboard_neighbours() -> None:
    keys = _keyboard_neighbours()
    assert keys["d"] == ("sf", "erxc")
    assert keys["q"] == ("w", "12a")
    assert keys["5"] == ("46", "rt")  # the keys below 5
    assert keys["m"] == ("n", "jk")


def test_every_hub_record_passes_the_contract(sample: list[dict[str, str]]) -> None:
    from mdm.contracts import validate_record

    problems = []
    for record in sample:
        payload = hub_record(record)
        assert payload["source_id"] == record["rec_id"]
        assert payload["kind"] == "person"
        problems.extend((payload, errors) for errors in [validate_record("customer", payload)[2]] if errors)
    assert problems == []


def test_output_files_parse_and_agree() -> None:
    jsonl, flat = io.StringIO(), io.StringIO()
    summary = write(300, seed=3, jsonl=jsonl, flat=flat)
    lines = [json.loads(line) for line in jsonl.getvalue().splitlines()]
    rows = list(csv.DictReader(io.StringIO(flat.getvalue())))
    records = list(persons(300, seed=3))
    assert len(lines) == len(rows) == len(records) == summary.records == 300
    assert list(rows[0]) == list(CSV_COLUMNS)
    for line, row, record in zip(lines, rows, records, strict=True):
        assert line == hub_record(record)
        assert list(row.values()) == csv_row(record)
        assert row["unique_id"] == line["source_id"] == record["rec_id"]
        assert _REC_ID.fullmatch(row["unique_id"]).group(1) == row["entity"]


def test_summary_matches_a_count_of_the_records() -> None:
    summary = Summary()
    records = list(persons(1500, seed=11, summary=summary))
    sizes = Counter(record["entity"] for record in records)
    assert summary.records == len(records) == 1500
    assert summary.entities == summary.originals == len(sizes)
    assert summary.duplicates == 1500 - len(sizes)
    assert summary.true_pairs == sum(n * (n - 1) // 2 for n in sizes.values()) > 0
    assert summary.sizes == Counter(sizes.values())


def test_records_of_one_person_are_spread_out(sample: list[dict[str, Any]]) -> None:
    positions = defaultdict(list)
    for index, record in enumerate(sample):
        positions[record["entity"]].append(index)
    gaps = [places[-1] - places[0] for places in positions.values() if len(places) > 1]
    assert sum(gap > 10 for gap in gaps) > 0.9 * len(gaps)
