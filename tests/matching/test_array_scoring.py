"""The batch run's array form of scoring (matching/profiles.py, Comparison.levels_of, Scorer.weights_of) gives
exactly the levels and weights of the pair-by-pair form, on realistic records of every kind.

Pairs are drawn to be hard: records of one generated entity (typos, swapped dates, missing values, second names and
phones) and records that share a blocking key, besides random pairs.
"""

import random
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from matching.comparisons import COMPARISONS, Pairs
from matching.features import FIELDS, Features, blocking_keys, sku_forms
from matching.profiles import KINDS, ProfileTable
from matching.scoring import DEFAULT_PARAMETERS, Scorer, probabilities, probability

from .helpers import match_form

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from generate_companies import companies
from generate_persons import hub_record, persons

SCORER = Scorer(DEFAULT_PARAMETERS, doubt_weight=2.5)  # the doubt cap as match_context sets one


def _products() -> list[Features]:
    rng = random.Random(7)
    names = ["Steel bolt M8 x 40", "Steel bolt M8 x 50", "Steel bolt M10", "Copper pipe 15mm", "Copper pipe 22 mm"]
    found = []
    for number in range(300):
        name = rng.choice(names)
        # Padded and prefix-less SKUs, a case's GTIN-14 and a wrong check digit, nested categories, two currencies.
        sku, skunum = sku_forms(rng.choice(["", f"SAF{10000 + number % 40}", "SAF10048", "SAF010048", "10048"]))
        found.append(
            {
                "kind": "product",
                "gtin": rng.choice(["", "04006381333931", "04006381333948", "14006381333938", "04006381333932"]),
                "sku": sku,
                "skunum": skunum,
                "name": name.lower() if rng.random() < 0.8 else name.lower().replace("steel", "stel"),
                "uom": rng.choice(["", "EA", "BOX"]),
                "category": rng.choice(["", "fasteners", "plumbing", "hardware fasteners"]),
                "price": rng.choice(["", "1.00", "1.005", "1.08", "2.50", "abc"]),
                "currency": rng.choice(["EUR", "EUR", "USD"]),
            }
        )
    return found


@pytest.fixture(scope="module")
def forms() -> list[Features]:
    found = [match_form(hub_record(record)) for record in persons(1500, seed=3)]
    found += [match_form(item["record"]) for item in companies(1500, seed=5)]
    # Dates that do not parse, and people or companies with two phones, emails or names.
    found[0] = {**found[0], "dob": "1990-02-30"}
    found[1] = {**found[1], "dob": "1990-03-02"}
    found[2] = {**found[2], "phones": ["+4930123456", "+4930999999"], "emails": ["a@x.example", "b@x.example"]}
    return found + _products()


def _pairs(found: list[Features]) -> tuple[np.ndarray, np.ndarray]:
    rng = random.Random(11)
    by_key: dict[str, list[int]] = defaultdict(list)
    for row, item in enumerate(found):
        for key in blocking_keys("product" if item["kind"] == "product" else "customer", item):
            by_key[key].append(row)
    left, right = [], []
    for rows in by_key.values():
        for _ in range(min(len(rows), 6)):
            a, b = rng.choice(rows), rng.choice(rows)
            left.append(a)
            right.append(b)
    for _ in range(3000):
        left.append(rng.randrange(len(found)))
        right.append(rng.randrange(len(found)))
    left += [0, 1, 2]  # the unparsable date against a parsed one, the two-phone person against itself
    right += [1, 0, 2]
    return np.asarray(left), np.asarray(right)


def test_every_comparison_gives_the_scalar_level_and_every_pair_the_scalar_weight(forms: list[Features]) -> None:
    table = ProfileTable(((row, row, item) for row, item in enumerate(forms)), entity_type="customer")
    left, right = _pairs(forms)
    checked = 0
    for code, kind in enumerate(KINDS):
        same = (table.kinds[left] == code) & (table.kinds[right] == code)
        pairs = Pairs(table, left[same], right[same])
        assert len(pairs) > 200, kind
        for comparison in COMPARISONS[kind]:
            levels = comparison.levels_of(pairs)
            expected = [
                comparison.compare(forms[a], forms[b]).level for a, b in zip(pairs.left, pairs.right, strict=True)
            ]
            mismatched = [
                (forms[a], forms[b], got, want)
                for a, b, got, want in zip(pairs.left, pairs.right, levels, expected, strict=True)
                if got != want
            ]
            assert not mismatched, (comparison.name, mismatched[:3])
            checked += len(levels)
        weights = SCORER.weights_of(kind, pairs)
        expected_weights = [SCORER.weight(forms[a], forms[b]) for a, b in zip(pairs.left, pairs.right, strict=True)]
        assert weights.tolist() == expected_weights
        assert probabilities(weights) == pytest.approx([probability(weight) for weight in expected_weights])
    assert checked > 20_000


def test_the_table_gives_back_each_record_as_stored(forms: list[Features]) -> None:
    table = ProfileTable(((row, row, item) for row, item in enumerate(forms)), entity_type="customer")
    for row in (0, 2, 1600, len(forms) - 1):
        assert table.features(row) == {key: value for key, value in forms[row].items()}
    assert all(set(item) - {"kind"} == set(FIELDS[item["kind"]]) for item in forms), "FIELDS lists every attribute"
    held = [(key, row) for row, item in enumerate(forms) for key in blocking_keys("customer", item)]
    table.keys_set([key for key, _ in held], [row for _, row in held])
    assert len(table.key_goldens) == sum(len(blocking_keys("customer", item)) for item in forms), (
        "every record's blocking keys are listed once each"
    )
    assert {table.keys[key] for key in table.key_ids[table.key_goldens == 2]} == set(
        blocking_keys("customer", forms[2])
    )
    table.keys_set(["k:outside"], [10**9])  # a key of a golden record not in the table is left out
    assert not len(table.key_goldens)


def test_a_table_keeps_golden_records_members_together() -> None:
    rows = [(10, 1, {"kind": "person", "first": "ann"}), (10, 5, {"kind": "person", "last": "lee"}), (12, 3, {})]
    table = ProfileTable(rows, entity_type="customer")
    assert table.golden_pks.tolist() == [10, 12]
    assert list(table.members(0)) == [0, 1] and list(table.members(1)) == [2]
    assert table.golden_index([12, 11, 10]).tolist() == [1, -1, 0]
    assert table.features(1)["first"] == "" and table.features(1)["last"] == "lee"
    with pytest.raises(ValueError, match="ordered by golden record"):
        ProfileTable([(12, 1, {}), (10, 2, {})], entity_type="customer")


@pytest.mark.django_db
def test_the_database_reads_the_same_table_as_the_stored_profiles(salesforce) -> None:
    """The whole-table read (on PostgreSQL: attributes and keys extracted by the database, parsed as CSV) gives the
    profiles and blocking keys the stored rows hold; a merged-away golden record's rows are left out."""
    from matching.profiles import _profile_rows, profile_table, stored_keys
    from mdm.ingest import ingest
    from mdm.models import GoldenRecord, GoldenStatus

    records = [hub_record(record) for record in persons(60, seed=9)]
    records += [{**item["record"], "source_id": f"C{n}"} for n, item in enumerate(companies(60, seed=4))]
    records.append({"source_id": "odd", "legal_name": 'Quote "and", comma\nnewline Ltd', "phones": ["030 1234567"]})
    ingest(system=salesforce, entity_type="customer", records=records, actor=salesforce.service_user)
    retired = GoldenRecord.objects.order_by("pk").first()
    GoldenRecord.objects.filter(pk=retired.pk).update(status=GoldenStatus.RETIRED)

    fast = profile_table("customer")
    rows = ProfileTable(_profile_rows("customer", None), entity_type="customer")
    rows.keys_set(*stored_keys("customer", None))
    assert retired.pk not in fast.golden_pks.tolist()
    assert fast.golden_pks.tolist() == rows.golden_pks.tolist() and fast.source_pks.tolist() == rows.source_pks.tolist()
    assert [fast.features(row) for row in range(len(fast))] == [rows.features(row) for row in range(len(rows))]

    def keys(table: ProfileTable) -> list[tuple[int, str]]:
        return sorted(
            (int(table.golden_pks[golden]), table.keys[key])
            for golden, key in zip(table.key_goldens, table.key_ids, strict=True)
        )

    assert keys(fast) == keys(rows) and len(keys(fast)) > 300


def _reference_edge(context, mine: list[Features], theirs: list[Features]) -> tuple[float, bool] | None:
    """The pair-by-pair definition of a golden record's edge to another (as real time scores a candidate): each of
    my newest members against their members with engine.score_target, the best of them, and cluster support."""
    from matching.engine import CLUSTER_SAMPLE, CLUSTER_SUPPORT, Target, identifiers_conflict, score_target

    scored = [
        result
        for found in mine[-CLUSTER_SAMPLE:]
        if (result := score_target(context, found, Target(golden_pk=1), theirs)) is not None
    ]
    if not scored:
        return None
    best = max(scored, key=lambda result: result.weight)
    if best.probability < context.review_threshold:
        return None
    support = sum(result.probability >= context.review_threshold for result in scored) / len(scored)
    conflict = identifiers_conflict(mine, theirs)
    return best.weight, best.supported and support >= CLUSTER_SUPPORT and not conflict


def test_golden_record_edges_are_the_pair_by_pair_cluster_scores(forms: list[Features]) -> None:
    """Golden records of several members (duplicates of one person, a stranger among them, more than the sampled
    ten, companies with conflicting tax IDs): the array form finds the edges, weights and cluster support that
    scoring member by member finds."""
    from matching.batch import golden_pair_edges
    from matching.engine import MatchContext

    context = MatchContext("customer", 0, SCORER, review_threshold=0.5, auto_link_threshold=0.97, max_block_size=200)
    rng = random.Random(5)
    by_entity: dict[str, list[int]] = defaultdict(list)
    people = [record for record in persons(1500, seed=3)]
    for row, record in enumerate(people):
        by_entity[record["entity"]].append(row)
    groups = [rows for rows in by_entity.values() if len(rows) > 1]
    goldens: list[list[int]] = []
    for rows in groups[:150]:
        cut = rng.randrange(1, len(rows))
        goldens += [rows[:cut], rows[cut:]]  # one person split in two golden records: they should match
    goldens.append([row for rows in groups[:3] for row in rows] * 3)  # big, mixed: more than CLUSTER_SAMPLE
    goldens += [[rng.randrange(len(people)) for _ in range(rng.randrange(1, 4))] for _ in range(100)]
    companies_start = 1500
    goldens += [[companies_start + n, companies_start + n + 1] for n in range(0, 200, 2)]
    rows_out = [(number, row, forms[row]) for number, members in enumerate(goldens) for row in members]
    table = ProfileTable(rows_out, entity_type="customer")
    mine = np.asarray([number for number in range(len(goldens)) for _ in range(3)])
    theirs = np.asarray(
        [
            rng.randrange(len(goldens)) if step else min(number ^ 1, len(goldens) - 1)
            for number in range(len(goldens))
            for step in range(3)
        ]
    )
    edges = {(edge.younger, edge.older): edge for edge in golden_pair_edges(context, table, mine, theirs)}
    checked = 0
    for a, b in set(zip(mine.tolist(), theirs.tolist(), strict=True)):
        expected = _reference_edge(context, [forms[row] for row in goldens[a]], [forms[row] for row in goldens[b]])
        got = edges.get((a, b))
        if expected is None:
            assert got is None, (a, b)
            continue
        checked += 1
        assert got is not None and got.weight == pytest.approx(expected[0]) and got.supported == expected[1], (a, b)
    assert checked > 200
    assert {edge.supported for edge in edges.values()} == {True, False}
    # A few pairs at a time (how clustering asks) are scored member pair by member pair: the same edges.
    one_by_one = {
        (edge.younger, edge.older): edge
        for start in range(0, len(mine), 3)
        for edge in golden_pair_edges(context, table, mine[start : start + 3], theirs[start : start + 3])
    }
    assert one_by_one == edges
