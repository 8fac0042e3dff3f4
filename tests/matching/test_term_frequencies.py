"""Term-frequency adjustment (matching/frequencies.py): a value many records carry agreeing weighs less than a rare
one, the counts follow what ingest stores, and explanations show the adjustment."""

import math
from typing import Any

import numpy as np
import pytest

from matching.comparisons import Pairs
from matching.frequencies import (
    MAX_BONUS,
    MAX_PENALTY,
    Frequencies,
    frequencies_all,
    frequencies_from,
    frequencies_rebuild,
    terms_of,
)
from matching.models import MatchDecision, TermFrequency
from matching.profiles import ProfileTable
from matching.scoring import DEFAULT_PARAMETERS, Scorer
from mdm.ingest import ingest
from mdm.models import System
from tests.matching.helpers import match_form, org

SCORER = Scorer(DEFAULT_PARAMETERS, doubt_weight=2.5)


def _person(source_id: str, first: str, last: str, city: str) -> dict[str, Any]:
    return match_form(
        {
            "source_id": source_id,
            "kind": "person",
            "first_name": first,
            "last_name": last,
            "billing_address": {"line1": f"{source_id} High Street", "city": city, "country": "GB"},
        }
    )


def test_a_common_surname_agreeing_weighs_less_than_a_rare_one() -> None:
    smiths = [_person(f"S{n}", f"Name{n}", "Smith", f"Town{n}") for n in range(30)]
    rare = [_person("R1", "Ann", "Quaritch", "Leeds"), _person("R2", "Ann", "Quaritch", "York")]
    pairs = [_person(f"P{n}{side}", "Bob", f"Surname{n}", "Hull") for n in range(20) for side in "ab"]
    frequencies = frequencies_from(smiths + rare + pairs)
    common = SCORER.score(smiths[0], smiths[1], frequencies)
    rarer = SCORER.score(*rare, frequencies)
    plain = SCORER.score(*rare)
    last = {row.attribute: row for row in common.contributions}["last_name"]
    assert last.term_frequency.records == 30 and last.term_frequency.weight < -2
    rare_last = {row.attribute: row for row in rarer.contributions}["last_name"]
    assert rare_last.term_frequency.records == 2 and rare_last.term_frequency.weight > 0
    assert rare_last.weight == pytest.approx(
        {row.attribute: row for row in plain.contributions}["last_name"].weight + rare_last.term_frequency.weight
    )
    explained = {row["attribute"]: row for row in common.explanation()["attributes"]}
    assert explained["last_name"]["term_frequency"]["value"] == "smith"
    assert explained["last_name"]["term_frequency"]["records"] == 30
    assert "term_frequency" not in explained["date_of_birth"]


def test_the_typical_count_is_the_geometric_mean_over_records_whose_value_is_shared() -> None:
    records = [_person(f"A{n}", "X", "Alpha", "C") for n in range(2)] + [
        _person(f"B{n}", "Y", "Beta", "C") for n in range(8)
    ]
    records.append(_person("U", "Z", "Unique", "C"))  # a value nobody else carries is no agreement
    frequencies = frequencies_from(records)
    assert frequencies.typical[("person", "last")] == pytest.approx(math.exp((2 * math.log(2) + 8 * math.log(8)) / 10))
    assert frequencies.count("person", "last", "unknown") == 2, "a value agreed on is carried by the two compared"


def test_an_adjustment_is_bounded() -> None:
    frequencies = Frequencies(counts={("person", "last"): {"smith": 10**6}}, typical={("person", "last"): 1000.0})
    left, right = _person("1", "A", "Smith", "X"), _person("2", "A", "Smith", "Y")
    assert frequencies.adjustment("person", "last_name", 0, left, right).weight == MAX_PENALTY
    rare = Frequencies(counts={}, typical={("person", "last"): 1000.0})
    assert rare.adjustment("person", "last_name", 0, left, right).weight == MAX_BONUS
    assert rare.adjustment("person", "last_name", 1, left, right) is None, "only the exact level is adjusted"


def test_the_array_form_gives_the_scalar_weights_with_frequencies() -> None:
    records = [
        _person(f"S{n}", ["Ann", "Bob", "Cy"][n % 3], ["Smith", "Jones", "Quaritch"][n % 7 // 3], "Hull")
        for n in range(60)
    ]
    records += [
        match_form(
            org(
                f"O{n}",
                legal_name=["Acme", "Borealis", "Acme"][n % 3],
                website=f"https://{['acme', 'b', 'c'][n % 3]}.com",
                billing_address={"city": "Leeds", "country": "GB"},
            )
        )
        for n in range(30)
    ]
    records.append(match_form(org("two", legal_name="Acme", trade_name="Borealis", website="https://acme.com")))
    frequencies = frequencies_from(records)
    table = ProfileTable(((row, row, item) for row, item in enumerate(records)), entity_type="customer")
    rng = np.random.default_rng(3)
    left, right = rng.integers(0, len(records), 3000), rng.integers(0, len(records), 3000)
    left = np.append(left, [len(records) - 1, len(records) - 1])
    right = np.append(right, [60, 61])
    for code, kind in enumerate(("organisation", "person")):
        kinds = np.asarray([0 if item["kind"] == "organisation" else 1 for item in records])
        same = (kinds[left] == code) & (kinds[right] == code)
        pairs = Pairs(table, left[same], right[same])
        weights = SCORER.weights_of(kind, pairs, frequencies)
        expected = [
            SCORER.weight(records[a], records[b], frequencies) for a, b in zip(pairs.left, pairs.right, strict=True)
        ]
        assert weights.tolist() == expected
        assert weights.tolist() != SCORER.weights_of(kind, pairs).tolist(), "the frequencies moved some weights"


@pytest.mark.django_db
def test_ingest_counts_term_values_and_an_update_moves_them(salesforce: System) -> None:
    def send(*records: dict[str, Any]) -> None:
        ingest(system=salesforce, entity_type="customer", records=list(records), actor=salesforce.service_user)

    send(
        org(
            "S-1",
            legal_name="Northwind Traders Ltd",
            website="https://northwind.example",
            billing_address={"city": "Leeds", "country": "GB"},
        ),
        org("S-2", legal_name="Northwind Traders", billing_address={"city": "York", "country": "GB"}),
    )
    counts = {(row.kind, row.term, row.value): row.count for row in TermFrequency.objects.all()}
    assert counts[("organisation", "name", "northwind traders")] == 2
    assert ("organisation", "city", "leeds") not in counts and counts[
        ("organisation", "domain", "northwind.example")
    ] == 1
    send(org("S-2", legal_name="Contoso", billing_address={"city": "York", "country": "GB"}))
    counts = {(row.kind, row.term, row.value): row.count for row in TermFrequency.objects.all()}
    assert counts[("organisation", "name", "northwind traders")] == 1
    assert counts[("organisation", "name", "contoso")] == 1

    TermFrequency.objects.update(count=99)  # drift
    frequencies_rebuild("customer")
    recounted = {(row.kind, row.term, row.value): row.count for row in TermFrequency.objects.all()}
    assert recounted == {key: value for key, value in counts.items() if value}
    assert frequencies_all("customer").counts == {}, "no value is shared by two records any more"


@pytest.mark.django_db
def test_a_name_many_companies_carry_agreeing_is_weighed_down_in_real_time(salesforce: System) -> None:
    """Twelve different companies called Northwind Traders in twelve towns: a thirteenth record of that name in a
    town of its own is weighed down by the name's frequency, and the decision's explanation says so."""
    towns = ["Leeds", "York", "Hull", "Bath", "Ely", "Wells", "Ripon", "Truro", "Derby", "Exeter", "Lincoln", "Perth"]
    ingest(
        system=salesforce,
        entity_type="customer",
        records=[
            org(f"S-{n}", legal_name="Northwind Traders", billing_address={"city": town, "country": "GB"})
            for n, town in enumerate(towns)
        ],
        actor=salesforce.service_user,
    )
    ingest(
        system=salesforce,
        entity_type="customer",
        records=[org("S-new", legal_name="Northwind Traders", billing_address={"city": "Leeds", "country": "GB"})],
        actor=salesforce.service_user,
    )
    explanation = MatchDecision.objects.get(source_record__source_id="S-new").explanation
    name = next(row for row in explanation["attributes"] if row["attribute"] == "name")
    assert name["term_frequency"]["records"] == 13 and name["term_frequency"]["weight"] < -2
    assert terms_of(match_form(org("x", legal_name="Northwind Traders"))) == {
        ("organisation", "name", "northwind traders")
    }
