"""bench/metrics.py: pairwise and B-cubed scores on hand-computed examples, and a brute-force cross-check.

bench/ is not a package, so its directory goes on sys.path. The module is pure Python: no database needed.
"""

import itertools
import random
import sys
from fractions import Fraction
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from metrics import (
    PairScores,
    b_cubed,
    cluster_scores,
    pair_count,
    pair_scores,
    pair_scores_against_clusters,
    pairwise_from_clusters,
)

# Six records in three true clusters: A = {1, 2, 3}, B = {4, 5}, C = {6}; true pairs = 3 + 1 + 0 = 4.
TRUTH = {1: "A", 2: "A", 3: "A", 4: "B", 5: "B", 6: "C"}


def approx(value: Fraction | int) -> object:
    return pytest.approx(float(value), abs=1e-12)


def test_pair_count() -> None:
    assert [pair_count(n) for n in range(5)] == [0, 0, 1, 3, 6]
    assert pair_count(1_000_000) == 499_999_500_000


def test_perfect_prediction_with_other_labels() -> None:
    scores = cluster_scores({1: 10, 2: 10, 3: 10, 4: 20, 5: 20, 6: 30}, TRUTH)

    assert (scores.pairwise.true_positives, scores.pairwise.predicted_pairs, scores.pairwise.true_pairs) == (4, 4, 4)
    assert (scores.pairwise.precision, scores.pairwise.recall, scores.pairwise.f1) == (1.0, 1.0, 1.0)
    assert (scores.bcubed.precision, scores.bcubed.recall, scores.bcubed.f1) == (1.0, 1.0, 1.0)
    assert (scores.records, scores.predicted_clusters, scores.true_clusters) == (6, 3, 3)


def test_all_merged() -> None:
    scores = cluster_scores(dict.fromkeys(TRUTH, "x"), TRUTH)

    # 15 predicted pairs, 4 of them true: P = 4/15, R = 1, F1 = 2·(4/15)/(19/15) = 8/19.
    assert (scores.pairwise.true_positives, scores.pairwise.predicted_pairs, scores.pairwise.true_pairs) == (4, 15, 4)
    assert scores.pairwise.precision == approx(Fraction(4, 15))
    assert scores.pairwise.recall == 1.0
    assert scores.pairwise.f1 == approx(Fraction(8, 19))
    # B-cubed precision: records of A see 3/6, of B 2/6, of C 1/6 -> (3·3 + 2·2 + 1·1) / 6 / 6 = 14/36 = 7/18.
    assert scores.bcubed.precision == approx(Fraction(7, 18))
    assert scores.bcubed.recall == 1.0
    assert scores.bcubed.f1 == approx(Fraction(14, 25))
    assert scores.predicted_clusters == 1


def test_all_split() -> None:
    scores = cluster_scores({record_id: record_id for record_id in TRUTH}, TRUTH)

    # Nothing predicted: precision is vacuously 1, recall 0, F1 0.
    assert (scores.pairwise.true_positives, scores.pairwise.predicted_pairs) == (0, 0)
    assert (scores.pairwise.precision, scores.pairwise.recall, scores.pairwise.f1) == (1.0, 0.0, 0.0)
    # B-cubed recall: A's records 1/3 each, B's 1/2 each, C's 1 -> (1 + 1 + 1) / 6 = 1/2; F1 = 2·1·½ / 1½ = 2/3.
    assert scores.bcubed.precision == 1.0
    assert scores.bcubed.recall == approx(Fraction(1, 2))
    assert scores.bcubed.f1 == approx(Fraction(2, 3))


def test_one_wrong_merge() -> None:
    # C's record 6 merged into B.
    scores = cluster_scores({1: "p", 2: "p", 3: "p", 4: "q", 5: "q", 6: "q"}, TRUTH)

    # Predicted pairs 3 + 3 = 6, true positives 3 + 1 = 4: P = 2/3, R = 1, F1 = 4/5.
    assert (scores.pairwise.true_positives, scores.pairwise.predicted_pairs, scores.pairwise.true_pairs) == (4, 6, 4)
    assert scores.pairwise.false_positives == 2
    assert scores.pairwise.false_negatives == 0
    assert scores.pairwise.precision == approx(Fraction(2, 3))
    assert scores.pairwise.recall == 1.0
    assert scores.pairwise.f1 == approx(Fraction(4, 5))
    # B-cubed precision: A's records 1 each (3), B's 2/3 each (4/3), 6 gets 1/3 -> (14/3) / 6 = 7/9; F1 = 7/8.
    assert scores.bcubed.precision == approx(Fraction(7, 9))
    assert scores.bcubed.recall == 1.0
    assert scores.bcubed.f1 == approx(Fraction(7, 8))


def test_records_missing_from_prediction_are_singletons_and_extra_ones_are_ignored() -> None:
    # 5 and 6 are not predicted: each is its own cluster, even though 4 and 5 are truly together. 99 is unknown.
    scores = cluster_scores({1: "x", 2: "x", 3: "x", 4: "y", 99: "y"}, TRUTH)

    assert (scores.pairwise.true_positives, scores.pairwise.predicted_pairs, scores.pairwise.true_pairs) == (3, 3, 4)
    assert scores.pairwise.precision == 1.0
    assert scores.pairwise.recall == approx(Fraction(3, 4))
    assert (scores.missing_from_prediction, scores.ignored_not_in_truth) == (2, 1)
    assert scores.predicted_clusters == 4  # x, y (holding 4 only), and the singletons 5 and 6

    # Two missing records never land in one cluster.
    empty = cluster_scores({}, {1: "a", 2: "a"})
    assert (empty.pairwise.predicted_pairs, empty.pairwise.recall, empty.bcubed.recall) == (0, 0.0, 0.5)


def test_empty_truth() -> None:
    scores = cluster_scores({}, {})
    assert (scores.pairwise.precision, scores.pairwise.recall, scores.bcubed.f1, scores.records) == (1.0, 1.0, 1.0, 0)


def test_as_dict_is_plain_data() -> None:
    out = cluster_scores({1: "p", 2: "p", 3: "p", 4: "q", 5: "q", 6: "q"}, TRUTH).as_dict()
    assert out["pairwise"]["precision"] == approx(Fraction(2, 3))
    assert out["pairwise"]["false_positives"] == 2
    assert out["bcubed"]["f1"] == approx(Fraction(7, 8))
    assert out["records"] == 6


def test_shortcuts_return_the_parts() -> None:
    predicted = {1: "p", 2: "p", 3: "p", 4: "q", 5: "q", 6: "q"}
    assert pairwise_from_clusters(predicted, TRUTH) == cluster_scores(predicted, TRUTH).pairwise
    assert b_cubed(predicted, TRUTH) == cluster_scores(predicted, TRUTH).bcubed


def test_pair_scores_unordered_and_ordered() -> None:
    true_pairs = [("a1", "b1"), ("a2", "b2"), ("a3", "b3")]
    predicted = [("a1", "b1"), ("b2", "a2"), ("a3", "b4"), ("a1", "b1"), ("a5", "a5")]

    scores = pair_scores(predicted, true_pairs)
    # Distinct unordered predicted pairs: a1-b1, a2-b2, a3-b4 (the self-pair is dropped); 2 are true.
    assert scores == PairScores(true_positives=2, predicted_pairs=3, true_pairs=3)
    assert (scores.precision, scores.recall, scores.f1) == (approx(Fraction(2, 3)),) * 3

    ordered = pair_scores(predicted, true_pairs, ordered=True)
    # (b2, a2) is not (a2, b2) any more; the duplicate (a1, b1) still counts once and the self-pair is dropped.
    assert ordered == PairScores(true_positives=1, predicted_pairs=3, true_pairs=3)

    assert pair_scores([], true_pairs).as_dict()["recall"] == 0.0
    assert pair_scores([], []).f1 == 1.0


def test_pair_scores_against_clusters() -> None:
    predicted = [(1, 2), (2, 1), (3, 4), (5, 5), (1, 99)]

    scores = pair_scores_against_clusters(predicted, TRUTH)
    # Distinct pairs inside the universe: 1-2 (true) and 3-4 (false); true pairs 4.
    assert scores == PairScores(true_positives=1, predicted_pairs=2, true_pairs=4)
    assert (scores.precision, scores.recall) == (0.5, 0.25)
    assert scores.f1 == approx(Fraction(1, 3))


def _brute_force(predicted: dict[int, int], truth: dict[int, int]) -> tuple[int, int, int, float, float]:
    tp = fp = fn = 0
    for a, b in itertools.combinations(truth, 2):
        same_predicted = predicted[a] == predicted[b]
        same_true = truth[a] == truth[b]
        tp += same_predicted and same_true
        fp += same_predicted and not same_true
        fn += same_true and not same_predicted
    precision = recall = 0.0
    for r in truth:
        predicted_cluster = {x for x in truth if predicted[x] == predicted[r]}
        true_cluster = {x for x in truth if truth[x] == truth[r]}
        overlap = len(predicted_cluster & true_cluster)
        precision += overlap / len(predicted_cluster)
        recall += overlap / len(true_cluster)
    return tp, tp + fp, tp + fn, precision / len(truth), recall / len(truth)


@pytest.mark.parametrize("seed", range(20))
def test_contingency_sums_match_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 40)
    truth = {r: rng.randrange(max(1, n // 3)) for r in range(n)}
    predicted = {r: rng.randrange(max(1, n // 2)) for r in range(n)}

    scores = cluster_scores(predicted, truth)
    tp, predicted_pairs, true_pairs, bcubed_precision, bcubed_recall = _brute_force(predicted, truth)

    assert (scores.pairwise.true_positives, scores.pairwise.predicted_pairs, scores.pairwise.true_pairs) == (
        tp,
        predicted_pairs,
        true_pairs,
    )
    assert scores.bcubed.precision == pytest.approx(bcubed_precision)
    assert scores.bcubed.recall == pytest.approx(bcubed_recall)

    pairs = [(a, b) for a, b in itertools.combinations(truth, 2) if predicted[a] == predicted[b]]
    assert pair_scores_against_clusters(pairs, truth) == PairScores(tp, predicted_pairs, true_pairs)


def test_a_million_records_all_merged_without_enumerating_pairs() -> None:
    n = 1_000_000
    truth = {r: r // 4 for r in range(n)}  # 250,000 true clusters of 4

    scores = cluster_scores(dict.fromkeys(truth, 0), truth)

    assert scores.pairwise.predicted_pairs == pair_count(n)
    assert scores.pairwise.true_pairs == scores.pairwise.true_positives == 250_000 * 6
    assert scores.bcubed.precision == pytest.approx(4 / n)
    assert scores.bcubed.recall == 1.0
