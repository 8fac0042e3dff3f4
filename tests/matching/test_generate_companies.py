"""bench/generate_companies.py: deterministic, contract-valid records, unique source IDs, truth counts, hard negatives.

bench/ is not a package, so its directory goes on sys.path. No database: the contract check needs only the settings.
"""

import csv
import io
import itertools
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from generate_companies import FLAT_COLUMNS, Summary, ascii_fold, companies, country_code, flat_row, write

SAMPLE = 2000
_FORM_WORDS = {
    *("gmbh", "mbh", "ag", "kg", "ek", "ug", "haftungsbeschrankt", "haftungsbeschraenkt", "se", "co", "u", "ltd"),
    *("limited", "plc", "llp", "inc", "incorporated", "llc", "corp", "corporation", "sas", "sarl", "sa", "eurl"),
    *("sasu", "bv", "nv", "vof", "bvba", "srl", "sprl", "spa", "snc", "sl", "slu", "ab", "aktiebolag", "hb"),
    *("oy", "oyj", "ky", "eu", "gesmbh", "aktiengesellschaft", "gesellschaft", "mit", "beschrankter", "haftung"),
}


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    return list(companies(SAMPLE, seed=7))


def _names(record: dict[str, Any]) -> list[str]:
    return [record[key] for key in ("legal_name", "trade_name") if record.get(key)]


def _core(name: str) -> str:
    """A name without case, accents, punctuation and legal form: "Müller Logistik G.m.b.H." -> "muller logistik"."""
    words = re.sub(r"[^\w&]+", " ", ascii_fold(name).casefold().replace(".", "")).split()
    return " ".join(word for word in words if word not in _FORM_WORDS)


def _address(record: dict[str, Any]) -> dict[str, str]:
    return next(record[key] for key in ("legal_address", "billing_address", "shipping_address") if record.get(key))


def test_same_seed_same_records(sample: list[dict[str, Any]]) -> None:
    assert list(companies(SAMPLE, seed=7)) == sample
    assert list(companies(SAMPLE, seed=8)) != sample


def test_count_and_shape(sample: list[dict[str, Any]]) -> None:
    assert len(sample) == SAMPLE
    assert list(companies(0)) == []
    assert len(list(companies(1))) == 1
    assert {item["system"] for item in sample} == {"salesforce", "netsuite"}
    assert all(set(item) == {"system", "entity", "record"} for item in sample)
    assert all(re.fullmatch(r"C\d{7}", item["entity"]) for item in sample)
    assert all(item["record"]["kind"] == "organisation" for item in sample)


def test_every_record_passes_the_contract(sample: list[dict[str, Any]]) -> None:
    from mdm.contracts import validate_record

    errors = [(item["record"], validate_record("customer", item["record"])[2]) for item in sample]
    assert [(record, problems) for record, problems in errors if problems] == []


def test_source_ids_are_unique_per_system(sample: list[dict[str, Any]]) -> None:
    keys = Counter((item["system"], item["record"]["source_id"]) for item in sample)
    assert max(keys.values()) == 1
    salesforce = [item["record"]["source_id"] for item in sample if item["system"] == "salesforce"]
    assert all(re.fullmatch(r"001[0-9A-Za-z]{15}", source_id) for source_id in salesforce)


def test_summary_matches_a_brute_force_count() -> None:
    summary = Summary()
    items = list(companies(1500, seed=11, summary=summary))
    pairs = cross = 0
    for left, right in itertools.combinations(items, 2):
        if left["entity"] == right["entity"]:
            pairs += 1
            cross += left["system"] != right["system"]
    sizes = Counter(item["entity"] for item in items)
    assert summary.records == len(items) == 1500
    assert summary.true_pairs == pairs > 0
    assert summary.cross_system_pairs == cross > 0
    assert summary.entities == len(sizes)
    assert summary.duplicated_entities == sum(size > 1 for size in sizes.values())
    assert summary.per_system == dict(Counter(item["system"] for item in items))
    assert 0.35 < summary.duplicated_entities / summary.entities < 0.6  # about 45% of companies have several records
    assert max(sizes.values()) <= 4


def test_records_of_one_company_are_spread_out(sample: list[dict[str, Any]]) -> None:
    positions = defaultdict(list)
    for index, item in enumerate(sample):
        positions[item["entity"]].append(index)
    gaps = [places[-1] - places[0] for places in positions.values() if len(places) > 1]
    assert sum(gap > 10 for gap in gaps) > 0.9 * len(gaps)


def test_hard_negatives_exist(sample: list[dict[str, Any]]) -> None:
    """Different companies with the same name core: in one city, and in different countries."""
    by_core: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    for item in sample:
        address = _address(item["record"])
        place = (country_code(address["country"]), address.get("city", "").casefold())
        for name in _names(item["record"]):
            if len(_core(name)) > 2:
                by_core[_core(name)][item["entity"]] = place
    shared = {core: places for core, places in by_core.items() if len(places) > 1}
    assert len(shared) > 20
    places = [list(entities.values()) for entities in shared.values()]
    assert any(len({country for country, _ in pair}) > 1 for pair in places)  # same brand, another country
    assert any(len(set(pair)) < len(pair) for pair in places)  # same name, same city


def test_non_latin_and_very_short_names(sample: list[dict[str, Any]]) -> None:
    def non_latin(name: str) -> bool:
        return any(char.isalpha() and not unicodedata.name(char, "").startswith("LATIN") for char in name)

    names = [name for item in sample for name in _names(item["record"])]
    assert 0.01 < sum(map(non_latin, names)) / len(names) < 0.06
    assert any(len(name.strip()) <= 2 for name in names)


def test_most_phones_are_valid_numbers(sample: list[dict[str, Any]]) -> None:
    valid = total = 0
    for item in sample:
        region = country_code(_address(item["record"])["country"])
        for phone in item["record"].get("phones", []):
            total += 1
            text = "+" + phone[2:] if phone.startswith("00") else phone
            valid += phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    assert total > 0.5 * SAMPLE
    assert valid / total > 0.95


def test_most_tax_ids_are_valid(sample: list[dict[str, Any]]) -> None:
    from mdm.standardisation.tax_ids import validate_tax_id

    checked = [
        validate_tax_id(tax["value"], country=tax.get("country") or country_code(_address(item["record"])["country"]))
        for item in sample
        for tax in item["record"].get("tax_ids", [])
    ]
    assert len(checked) > 0.25 * SAMPLE
    assert sum(result.valid for result in checked) / len(checked) > 0.95


def test_outputs_carry_the_truth_only_where_asked() -> None:
    out, truth, flat = io.StringIO(), io.StringIO(), io.StringIO()
    summary = write(300, seed=3, out=out, truth=truth, flat=flat)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    truth_rows = list(csv.DictReader(io.StringIO(truth.getvalue())))
    flat_rows = list(csv.DictReader(io.StringIO(flat.getvalue())))
    assert len(lines) == len(truth_rows) == len(flat_rows) == summary.records == 300
    assert all(set(line) == {"system", "record"} for line in lines)
    assert list(truth_rows[0]) == ["system", "source_id", "entity"]
    assert list(flat_rows[0]) == list(FLAT_COLUMNS)
    for line, row, flat_line in zip(lines, truth_rows, flat_rows, strict=True):
        assert (row["system"], row["source_id"]) == (line["system"], line["record"]["source_id"])
        assert flat_line == flat_row(line["system"], line["record"], row["entity"])
        assert flat_line["unique_id"] == f"{row['system']}:{row['source_id']}"
        assert re.fullmatch("[A-Z]{2}", flat_line["country"])
        assert flat_line["name"] in (line["record"].get("legal_name"), line["record"].get("trade_name"))
