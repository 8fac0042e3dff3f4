"""Accuracy of an entity-resolution result against a ground truth: pairwise and B-cubed precision, recall and F1.

Pure Python (no Django, no third-party packages), so that both the hub's benchmarks and scripts that run in
another virtualenv (``bench/splink_run.py`` in ``.venv-splink``) can import it by path.

Two kinds of result are scored:

* **Clusters** (deduplication): mappings ``record_id -> cluster_label`` for the prediction and for the truth.
  :func:`cluster_scores` gives pairwise and B-cubed figures. Counts come from the contingency table of
  (predicted label, true label), never from enumerating pairs, so a million records take seconds.
* **Pairs** (linkage, or the raw pairwise output of a matcher before clustering): :func:`pair_scores` scores a set
  of predicted pairs against a set of true pairs (e.g. FEBRL4, where each A record links to at most one B record);
  :func:`pair_scores_against_clusters` scores predicted pairs against true cluster labels without building the set
  of true pairs.

The universe is the set of records in the truth. A record in the truth that the prediction does not mention is a
predicted singleton. Predicted records that are absent from the truth are ignored (and counted, so a caller can
notice an id mismatch).

Conventions for empty denominators: precision is 1.0 when nothing was predicted (no claim was wrong), recall is 1.0
when there is nothing to find, and F1 is 0.0 when precision + recall is 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "BCubedScores",
    "ClusterScores",
    "PairScores",
    "b_cubed",
    "cluster_scores",
    "pair_count",
    "pair_scores",
    "pair_scores_against_clusters",
    "pairwise_from_clusters",
]


def pair_count(n: int) -> int:
    """Number of unordered pairs among ``n`` items: n·(n-1)/2."""
    return n * (n - 1) // 2


def _f1(precision: float, recall: float) -> float:
    """Harmonic mean 2·P·R / (P + R); 0.0 when P + R = 0."""
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


@dataclass(frozen=True)
class PairScores:
    """Pairwise confusion counts and the figures derived from them.

    precision = TP / predicted_pairs, recall = TP / true_pairs, F1 = 2·P·R / (P + R), where TP counts the pairs that
    are both predicted and true.
    """

    true_positives: int
    predicted_pairs: int
    true_pairs: int

    @property
    def false_positives(self) -> int:
        return self.predicted_pairs - self.true_positives

    @property
    def false_negatives(self) -> int:
        return self.true_pairs - self.true_positives

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "predicted_pairs": self.predicted_pairs,
            "true_pairs": self.true_pairs,
        }


@dataclass(frozen=True)
class BCubedScores:
    """B-cubed (Bagga & Baldwin 1998) precision, recall and F1: per-record averages.

    For record r with predicted cluster C(r) and true cluster T(r):
    P(r) = |C(r) ∩ T(r)| / |C(r)| and R(r) = |C(r) ∩ T(r)| / |T(r)|; precision and recall are the means over the
    N records, and F1 = 2·P·R / (P + R) of those means.
    """

    precision: float
    recall: float
    records: int

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)

    def as_dict(self) -> dict[str, Any]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "records": self.records}


@dataclass(frozen=True)
class ClusterScores:
    """Pairwise and B-cubed scores of a clustering, plus what the two clusterings look like."""

    pairwise: PairScores
    bcubed: BCubedScores
    records: int
    predicted_clusters: int
    true_clusters: int
    missing_from_prediction: int
    ignored_not_in_truth: int

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["pairwise"] = self.pairwise.as_dict()
        out["bcubed"] = self.bcubed.as_dict()
        return out


class _Singleton:
    """Predicted label of a record the prediction did not mention: equal only to itself."""

    __slots__ = ()


def cluster_scores(predicted: Mapping[Hashable, Hashable], truth: Mapping[Hashable, Hashable]) -> ClusterScores:
    """Score predicted clusters against true clusters, both given as ``record_id -> cluster_label``.

    With n_ij the number of records in predicted cluster i and true cluster j (the contingency table),
    a_i = Σ_j n_ij the predicted cluster sizes, b_j = Σ_i n_ij the true cluster sizes and N = Σ n_ij:

    * pairwise: TP = Σ_ij n_ij·(n_ij-1)/2, predicted pairs = Σ_i a_i·(a_i-1)/2, true pairs = Σ_j b_j·(b_j-1)/2;
      precision = TP / predicted pairs, recall = TP / true pairs.
    * B-cubed: precision = (1/N) Σ_ij n_ij² / a_i, recall = (1/N) Σ_ij n_ij² / b_j (the per-record averages of
      |C(r) ∩ T(r)| / |C(r)| and |C(r) ∩ T(r)| / |T(r)|, grouped by cell).

    Only records in ``truth`` count; one missing from ``predicted`` is a singleton, and predicted records that are
    not in ``truth`` are ignored (their number is reported as ``ignored_not_in_truth``). Cluster labels only need to
    be hashable; predicted and true labels live in separate namespaces.
    """
    cells: Counter[tuple[Hashable, Hashable]] = Counter()
    missing = 0
    for record_id, true_label in truth.items():
        try:
            predicted_label = predicted[record_id]
        except KeyError:
            predicted_label = _Singleton()
            missing += 1
        cells[(predicted_label, true_label)] += 1
    ignored = sum(1 for record_id in predicted if record_id not in truth)

    predicted_sizes: Counter[Hashable] = Counter()
    true_sizes: Counter[Hashable] = Counter()
    for (predicted_label, true_label), n in cells.items():
        predicted_sizes[predicted_label] += n
        true_sizes[true_label] += n

    true_positives = sum(pair_count(n) for n in cells.values())
    predicted_pairs = sum(pair_count(n) for n in predicted_sizes.values())
    true_pairs = sum(pair_count(n) for n in true_sizes.values())

    records = len(truth)
    if records:
        bcubed_precision = sum(n * n / predicted_sizes[p] for (p, _t), n in cells.items()) / records
        bcubed_recall = sum(n * n / true_sizes[t] for (_p, t), n in cells.items()) / records
    else:
        bcubed_precision = bcubed_recall = 1.0

    return ClusterScores(
        pairwise=PairScores(true_positives, predicted_pairs, true_pairs),
        bcubed=BCubedScores(bcubed_precision, bcubed_recall, records),
        records=records,
        predicted_clusters=len(predicted_sizes),
        true_clusters=len(true_sizes),
        missing_from_prediction=missing,
        ignored_not_in_truth=ignored,
    )


def _unordered(pairs: Iterable[tuple[Hashable, Hashable]]) -> set[frozenset[Hashable]]:
    """Distinct unordered pairs, self-pairs dropped."""
    return {frozenset(pair) for pair in pairs if pair[0] != pair[1]}


def pair_scores(
    predicted_pairs: Iterable[tuple[Hashable, Hashable]],
    true_pairs: Iterable[tuple[Hashable, Hashable]],
    *,
    ordered: bool = False,
) -> PairScores:
    """Score a set of predicted pairs against a set of true pairs (linkage tasks, e.g. FEBRL4).

    precision = |predicted ∩ true| / |predicted|, recall = |predicted ∩ true| / |true|, F1 = 2·P·R / (P + R).

    Pairs are unordered by default, so (a, b) and (b, a) are the same pair; duplicates count once and self-pairs are
    dropped. With ``ordered=True`` a pair is (left record, right record) as given, e.g. (A id, B id) when ids of the
    two files may collide. Both sets are held in memory: fine for the millions of pairs a linkage benchmark yields.
    """
    if ordered:
        predicted = {(a, b) for a, b in predicted_pairs if a != b}
        truth = {(a, b) for a, b in true_pairs if a != b}
    else:
        predicted = _unordered(predicted_pairs)
        truth = _unordered(true_pairs)
    return PairScores(len(predicted & truth), len(predicted), len(truth))


def pair_scores_against_clusters(
    predicted_pairs: Iterable[tuple[Hashable, Hashable]],
    truth: Mapping[Hashable, Hashable],
) -> PairScores:
    """Score predicted pairs (e.g. a deduplication matcher's output above a threshold) against true cluster labels.

    A predicted pair (a, b) is a true positive when truth[a] == truth[b]; true pairs = Σ_j b_j·(b_j-1)/2 over the
    true cluster sizes b_j, so the true pairs are never enumerated. Pairs are unordered and counted once; self-pairs
    and pairs with a record that is not in ``truth`` are dropped (outside the universe, as in :func:`cluster_scores`).
    """
    predicted = {pair for pair in _unordered(predicted_pairs) if all(record_id in truth for record_id in pair)}
    true_positives = 0
    for pair in predicted:
        a, b = pair
        true_positives += truth[a] == truth[b]
    true_pairs = sum(pair_count(n) for n in Counter(truth.values()).values())
    return PairScores(true_positives, len(predicted), true_pairs)


def pairwise_from_clusters(predicted: Mapping[Hashable, Hashable], truth: Mapping[Hashable, Hashable]) -> PairScores:
    """The pairwise part of :func:`cluster_scores`."""
    return cluster_scores(predicted, truth).pairwise


def b_cubed(predicted: Mapping[Hashable, Hashable], truth: Mapping[Hashable, Hashable]) -> BCubedScores:
    """The B-cubed part of :func:`cluster_scores`."""
    return cluster_scores(predicted, truth).bcubed
