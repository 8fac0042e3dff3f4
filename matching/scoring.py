"""Score: Fellegi-Sunter match weights, their estimation by EM, and the explanation of every score.

For each comparison level, m is the probability of that level among true matches and u among
non-matches; its match weight is log2(m / u). A pair's weight is the prior weight
log2(lambda / (1 - lambda)) (lambda: the chance that two candidate records match before looking)
plus the weights of the levels hit; its probability is 2^w / (1 + 2^w). A missing value weighs 0.

Parameters are a plain dict, stored with a version in MatchModel:

    {"organisation": {"lambda": 0.0001, "comparisons": {"name": {"m": [...], "u": [...]}, ...}}, ...}

`DEFAULT_PARAMETERS` are hand-set starting values (what a match and a non-match typically look like);
`estimate` re-estimates them without labels: u from random pairs (which are almost all non-matches,
as Splink does), then m and lambda by expectation maximisation over candidate pairs with u held
fixed. Steward labels, when given, fix those pairs' match probability to 0 or 1 during EM.
EM is written here rather than taken from recordlinkage: its ECM classifier models binary agreement
only, and the levels here are graded (exact / close / far).
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from matching.comparisons import (
    COMPARISONS,
    MISSING,
    PERSON,
    Outcome,
    Pairs,
    comparisons_for,
    distinct_legal_entities,
    distinct_legal_entities_many,
    distinct_persons,
    distinct_persons_many,
    distinct_products,
    distinct_products_many,
)
from matching.features import Features
from matching.frequencies import Frequencies, TermAdjustment

Parameters = dict[str, Any]
_FLOOR = 1e-6
# Two organisations that are two legal entities (comparisons.distinct_legal_entities), or two person records that
# are two people (comparisons.distinct_persons), score at most this weight (probability 0.01): below any review
# threshold, so no name, domain, address or shared switchboard makes them one.
DISTINCT_ENTITY_WEIGHT = -6.63


_FIRST_NAMES_DIFFER = len(next(comparison for comparison in PERSON if comparison.name == "first_name").levels) - 1
_AGREE = 0  # the top level of a comparison: the same date of birth, national ID, a shared email


# A learnt household share (training.household_share) at or above this: persons sharing an address and a surname
# are often different people, so different first names say so (`_first_names_differ`). Below it (data whose
# duplicates often carry another first name, as FEBRL's), different first names are left to their weight.
HOUSEHOLDS = 0.25


def _first_names_differ(levels: Mapping[str, int]) -> str | None:
    """For two person records (their level of each comparison): first names that differ (not a typo, not written
    the other way round) while national IDs do not agree. Where households are common, that is a household member,
    a twin or a namesake far more often than one person under a nickname: "doubt" (a steward decides, whatever else
    agrees) when their dates of birth agree or they share an email, as one person's records would; else "distinct"
    (a family's address, surname and landline make no one person)."""
    if levels["first_name"] != _FIRST_NAMES_DIFFER or levels["national_id"] == _AGREE:
        return None
    return "doubt" if _AGREE in (levels["date_of_birth"], levels["email"]) else "distinct"


@dataclass(frozen=True)
class Cap:
    """The most a pair may weigh whatever its comparisons add up to, and why (shown in its explanation)."""

    weight: float
    label: str
    reason: str


_ANOTHER_FIRST_NAME = "Person (another first name)"


def _kind(lam: float, **comparisons: tuple[list[float], list[float]]) -> dict[str, Any]:
    return {"lambda": lam, "comparisons": {name: {"m": m, "u": u} for name, (m, u) in comparisons.items()}}


DEFAULT_PARAMETERS: Parameters = {
    "organisation": _kind(
        0.01,
        name=([0.62, 0.2, 0.1, 0.07, 0.01], [0.0004, 0.002, 0.02, 0.08, 0.8976]),
        legal_form=([0.9, 0.1], [0.3, 0.7]),
        tax_id=([0.6, 0.25, 0.08, 0.003, 0.067], [0.00001, 0.00002, 0.0002, 0.15, 0.84977]),
        phone=([0.75, 0.25], [0.0002, 0.9998]),
        domain=([0.85, 0.15], [0.001, 0.999]),
        address=([0.6, 0.15, 0.1, 0.15], [0.001, 0.01, 0.05, 0.939]),
        country=([0.98, 0.02], [0.25, 0.75]),
    ),
    "person": _kind(
        0.01,
        first_name=([0.8, 0.1, 0.05, 0.05], [0.006, 0.004, 0.03, 0.96]),
        last_name=([0.8, 0.1, 0.05, 0.05], [0.002, 0.002, 0.02, 0.976]),
        date_of_birth=([0.85, 0.1, 0.05], [0.0004, 0.005, 0.9946]),
        national_id=([0.85, 0.1, 0.05], [0.00001, 0.0001, 0.99989]),
        address=([0.6, 0.12, 0.08, 0.06, 0.14], [0.0001, 0.0002, 0.004, 0.03, 0.9657]),
        phone=([0.75, 0.25], [0.0002, 0.9998]),
        email=([0.8, 0.2], [0.0001, 0.9999]),
    ),
    "product": _kind(
        0.01,
        gtin=([0.9, 0.04, 0.02, 0.04], [0.00001, 0.00002, 0.0001, 0.99987]),
        sku=([0.8, 0.1, 0.1], [0.00005, 0.0005, 0.99945]),
        name=([0.6, 0.25, 0.1, 0.05], [0.001, 0.005, 0.05, 0.944]),
        unit=([0.95, 0.05], [0.5, 0.5]),
        category=([0.6, 0.3, 0.1], [0.1, 0.05, 0.85]),
        price=([0.6, 0.15, 0.15, 0.1], [0.01, 0.01, 0.08, 0.9]),
    ),
}


DEFAULT_PARAMETERS["person"]["households"] = 0.0  # until training has seen the data (training.household_share)


def _current(kind: str, comparisons: dict[str, Any]) -> dict[str, Any]:
    """A stored kind's comparisons as today's definitions read them: one stored before a comparison existed, or
    when it had other levels, takes the built-in starting values for it."""
    levels = {comparison.name: len(comparison.levels) for comparison in COMPARISONS.get(kind, ())}
    current = dict(DEFAULT_PARAMETERS.get(kind, {}).get("comparisons", {}))
    for name, spec in comparisons.items():
        if name in levels and len(spec.get("m") or ()) == levels[name] == len(spec.get("u") or ()):
            current[name] = spec
    return current


@dataclass(frozen=True)
class Contribution:
    """One attribute's part in a score: the level hit, the values compared and the weight it added."""

    attribute: str
    label: str
    level: str
    similarity: float | None
    left: Any
    right: Any
    weight: float
    # How the value's frequency moved the weight (included in `weight`): a common value agreeing weighs less.
    term_frequency: TermAdjustment | None = None

    def as_dict(self) -> dict[str, Any]:
        found = {
            "attribute": self.attribute,
            "label": self.label,
            "level": self.level,
            "similarity": self.similarity,
            "left": self.left,
            "right": self.right,
            "weight": round(self.weight, 3),
        }
        if self.term_frequency is not None:
            found["term_frequency"] = self.term_frequency.as_dict()
        return found


@dataclass(frozen=True)
class Score:
    """A pair's match weight, its probability, and the contributions that make it up."""

    weight: float
    probability: float
    prior_weight: float
    contributions: tuple[Contribution, ...]

    def explanation(self) -> dict[str, Any]:
        return {
            "probability": round(self.probability, 6),
            "match_weight": round(self.weight, 3),
            "prior_weight": round(self.prior_weight, 3),
            "attributes": [contribution.as_dict() for contribution in self.contributions],
        }


def probability(weight: float) -> float:
    """The probability of a match weight (log2 odds), overflow-safe."""
    if weight >= 0:
        return 1.0 / (1.0 + 2.0**-weight)
    odds = 2.0**weight
    return odds / (1.0 + odds)


def probabilities(weights: np.ndarray) -> np.ndarray:
    """`probability` of an array of match weights."""
    return 1.0 / (1.0 + np.exp2(-np.clip(weights, -1000, 1000)))


def weight_of(probability_value: float) -> float:
    """The match weight (log2 odds) of a probability."""
    clipped = min(max(probability_value, 1e-15), 1 - 1e-15)
    return math.log2(clipped / (1 - clipped))


def level_weights(parameters: Parameters, kind: str) -> dict[str, list[float]]:
    """log2(m/u) per level of each comparison of a kind. On a graded comparison (a similarity cut into levels) a
    weaker agreement never weighs more than a stronger one: where estimates say so (a level seen rarely among
    random pairs), it takes the stronger level's weight."""
    graded = {comparison.name: comparison for comparison in COMPARISONS.get(kind, ()) if comparison.graded}
    weights = {}
    for name, spec in parameters[kind]["comparisons"].items():
        levels = [math.log2(max(m, _FLOOR) / max(u, _FLOOR)) for m, u in zip(spec["m"], spec["u"], strict=True)]
        if name in graded:
            for level in range(1, min(graded[name].agreeing_levels, len(levels))):
                levels[level] = min(levels[level], levels[level - 1])
        weights[name] = levels
    return weights


def _floored(adjustment: float, weight: float) -> float:
    """A term-frequency adjustment of a level weighing `weight`: agreeing on a common value is weaker evidence, never
    evidence against (the level's weight is not taken below zero)."""
    return max(adjustment, -max(weight, 0.0))


class Scorer:
    """Scores pairs with one set of parameters; level weights are computed once.

    Some pairs weigh at most a cap whatever their comparisons add up to (`cap`): two legal entities, two people.
    `doubt_weight`, when given (the middle of the entity type's review band: engine.match_context), caps a doubtful
    pair: it goes to a steward, never linked automatically."""

    def __init__(self, parameters: Parameters, *, doubt_weight: float | None = None) -> None:
        self.doubt_weight = doubt_weight
        parameters = {
            kind: {**spec, "comparisons": _current(kind, spec["comparisons"])} for kind, spec in parameters.items()
        }
        self.parameters = parameters
        self.households = float(parameters.get("person", {}).get("households") or 0.0) >= HOUSEHOLDS
        self._weights = {kind: level_weights(parameters, kind) for kind in parameters}
        self._prior = {kind: weight_of(parameters[kind]["lambda"]) for kind in parameters}
        self._weight_arrays = {
            kind: {name: np.asarray(values, dtype=np.float64) for name, values in weights.items()}
            for kind, weights in self._weights.items()
        }

    def cap(self, left: Features, right: Features, levels: Mapping[str, int]) -> Cap | None:
        """The most this pair may weigh given its level of each comparison (`levels`, as scored), or None: two legal
        entities (another country, another valid tax ID), two people (another first name and date of birth, another
        generation) and two products (another item number of one series, another GTIN) weigh DISTINCT_ENTITY_WEIGHT;
        where households are common, persons with another first name are two people or a steward's doubt."""
        kind = left.get("kind")
        if kind == "organisation" and (reason := distinct_legal_entities(left, right, levels)):
            return Cap(DISTINCT_ENTITY_WEIGHT, "Legal entity (another country, or another valid tax ID)", reason)
        if kind == "product" and (reason := distinct_products(left, right, levels)):
            return Cap(DISTINCT_ENTITY_WEIGHT, "Product (another item number or GTIN)", reason)
        if kind != "person":
            return None
        if reason := distinct_persons(left, right, levels):
            return Cap(DISTINCT_ENTITY_WEIGHT, "Person (another first name and date of birth)", reason)
        if self.households and (verdict := _first_names_differ(levels)):
            if verdict == "distinct":
                reason = "different first names, no date of birth, email or national ID shared"
                return Cap(DISTINCT_ENTITY_WEIGHT, _ANOTHER_FIRST_NAME, reason)
            if self.doubt_weight is not None:
                reason = "different first names, the same date of birth or email: a steward decides"
                return Cap(self.doubt_weight, _ANOTHER_FIRST_NAME, reason)
        return None

    def score(self, left: Features, right: Features, frequencies: Frequencies | None = None) -> Score | None:
        """The score of two records, or None when they are of different kinds (a person and an organisation).
        With `frequencies`, exact agreement on a common value weighs less and on a rare one more (frequencies.py)."""
        kind = left.get("kind")
        if kind != right.get("kind") or kind not in self._weights:
            return None
        weights = self._weights[kind]
        prior = self._prior[kind]
        total = prior
        contributions = []
        levels: dict[str, int] = {}
        for comparison in comparisons_for(left):
            outcome: Outcome = comparison.compare(left, right)
            levels[comparison.name] = outcome.level
            adjusted = None
            if outcome.level == MISSING:
                weight, level = 0.0, "missing"
            else:
                weight, level = weights[comparison.name][outcome.level], comparison.levels[outcome.level]
                if frequencies is not None:
                    adjusted = frequencies.adjustment(kind, comparison.name, outcome.level, left, right)
                    if adjusted is not None:
                        adjusted = replace(adjusted, weight=_floored(adjusted.weight, weight))
                        weight += adjusted.weight
            total += weight
            contributions.append(
                Contribution(
                    comparison.name,
                    comparison.label,
                    level,
                    outcome.similarity,
                    outcome.left,
                    outcome.right,
                    weight,
                    adjusted,
                )
            )
        if (cap := self.cap(left, right, levels)) is not None and total > cap.weight:
            contributions.append(Contribution("cap", cap.label, cap.reason, None, None, None, cap.weight - total))
            total = cap.weight
        return Score(total, probability(total), prior, tuple(contributions))

    def weight(self, left: Features, right: Features, frequencies: Frequencies | None = None) -> float | None:
        """The match weight alone (no explanation), for screening many candidates; None across kinds."""
        kind = left.get("kind")
        if kind != right.get("kind") or kind not in self._weights:
            return None
        weights = self._weights[kind]
        total = self._prior[kind]
        levels: dict[str, int] = {}
        for comparison in comparisons_for(left):
            level = levels[comparison.name] = comparison.compare(left, right).level
            if level != MISSING:
                total += weights[comparison.name][level]
                if frequencies is not None and (
                    adjusted := frequencies.adjustment(kind, comparison.name, level, left, right)
                ):
                    total += _floored(adjusted.weight, weights[comparison.name][level])
        if (cap := self.cap(left, right, levels)) is not None:
            return min(total, cap.weight)
        return total

    def weights_of(self, kind: str, pairs: "Pairs", frequencies: Frequencies | None = None) -> np.ndarray:
        """`weight` of many pairs of one kind at once (the batch run): each comparison over arrays."""
        total = np.full(len(pairs), self._prior[kind], dtype=np.float64)
        found: dict[str, np.ndarray] = {}
        for comparison in COMPARISONS[kind]:
            levels = found[comparison.name] = comparison.levels_of(pairs)
            table = self._weight_arrays[kind][comparison.name]
            present = levels != MISSING
            total[present] += table[levels[present]]
            if frequencies is not None:
                adjustments = frequencies.adjustments_of(kind, comparison.name, levels, pairs)
                adjusted = adjustments != 0
                if adjusted.any():
                    base = np.maximum(table[levels[adjusted]], 0.0)
                    total[adjusted] += np.maximum(adjustments[adjusted], -base)
        if kind == "organisation":
            distinct = distinct_legal_entities_many(pairs, found["tax_id"])
            total[distinct] = np.minimum(total[distinct], DISTINCT_ENTITY_WEIGHT)
        elif kind == "product":
            distinct = distinct_products_many(pairs, found["sku"], found["gtin"])
            total[distinct] = np.minimum(total[distinct], DISTINCT_ENTITY_WEIGHT)
        elif kind == "person":
            distinct = distinct_persons_many(pairs, found["first_name"], found["date_of_birth"], found["national_id"])
            if self.households:
                differ = (found["first_name"] == _FIRST_NAMES_DIFFER) & (found["national_id"] != _AGREE)
                doubtful = differ & ((found["date_of_birth"] == _AGREE) | (found["email"] == _AGREE)) & ~distinct
                distinct |= differ & ~doubtful
                if self.doubt_weight is not None:
                    total[doubtful] = np.minimum(total[doubtful], self.doubt_weight)
            total[distinct] = np.minimum(total[distinct], DISTINCT_ENTITY_WEIGHT)
        return total

    def levels(self, left: Features, right: Features) -> list[int]:
        """The level index of each comparison (MISSING as -1), for estimation."""
        return [comparison.compare(left, right).level for comparison in comparisons_for(left)]


# --- Estimation ------------------------------------------------------------------------------------


# Fewer (expected) pairs than this with the attribute present on both sides teach nothing about its levels: the
# comparison keeps the values it had (a data set without phones keeps the built-in phone weights).
MIN_OBSERVED = 5.0
# A level seen in fewer (expected) pairs than this keeps its starting value: the data says nothing about it (a data
# set of one country never shows two countries), and a smoothed zero would give it any weight at all.
MIN_LEVEL = 0.5


def _frequencies(
    levels: np.ndarray, counts: np.ndarray, start: Sequence[float], weights: np.ndarray | None = None
) -> list[float] | None:
    """Each level's share of the (weighted) pairs where both sides have a value; None when too few have. A level
    not seen keeps its `start` value, and the seen ones share what is left."""
    share = weights * counts if weights is not None else counts.astype(float)
    present = levels != MISSING
    observed = share[present].sum()
    if observed < MIN_OBSERVED:
        return None
    totals = np.array([share[present & (levels == level)].sum() for level in range(len(start))], dtype=float)
    seen = totals >= MIN_LEVEL
    kept = float(sum(value for value, known in zip(start, seen, strict=True) if not known))
    frequencies = np.where(seen, totals / totals[seen].sum() * (1.0 - kept), np.asarray(start, dtype=float))
    return [float(value) for value in frequencies]


def estimate_u(
    kind: str, random_levels: Sequence[Sequence[int]], start: dict[str, Any] | None = None
) -> dict[str, list[float]]:
    """u per comparison: level frequencies among random pairs (nearly all of them non-matches); a level never seen
    keeps its starting value (`start`, a kind's parameters; the built-in ones by default)."""
    comparisons = COMPARISONS[kind]
    if not random_levels:
        return {}
    patterns, counts = np.unique(np.asarray(random_levels, dtype=np.int16), axis=0, return_counts=True)
    starts = _current(kind, (start or DEFAULT_PARAMETERS[kind])["comparisons"])
    found = {
        comparison.name: _frequencies(patterns[:, column], counts, starts[comparison.name]["u"])
        for column, comparison in enumerate(comparisons)
    }
    return {name: u for name, u in found.items() if u is not None}


def estimate(
    kind: str,
    start: dict[str, Any],
    candidate_levels: Sequence[Sequence[int]],
    *,
    u: dict[str, list[float]] | None = None,
    labels: Sequence[int | None] | None = None,
    blocked: frozenset[str] = frozenset(),
    learn: frozenset[str] | None = None,
    fixed_m: bool = False,
    iterations: int = 40,
    tolerance: float = 1e-5,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Re-estimate one kind's parameters from the levels of candidate pairs; returns (parameters, report).

    u is taken as given (from `estimate_u`) or kept from `start`; m and lambda are fitted by EM.
    `labels` (1 match, 0 non-match, None unknown) pin a pair's match probability. `blocked` names the
    comparisons the pairs were selected on (they agree by construction): they take no part in the
    E-step and keep their m, as in Splink's training sessions; run sessions blocked on different
    comparisons to estimate every m. `learn`, when given, limits which m are updated (the others still
    take part in the E-step, anchoring it). `fixed_m` estimates lambda alone.
    """
    comparisons = COMPARISONS[kind]
    params = {
        "lambda": start["lambda"],
        "comparisons": {
            c.name: {
                "m": list(start["comparisons"][c.name]["m"]),
                "u": list((u or {}).get(c.name) or start["comparisons"][c.name]["u"]),
            }
            for c in comparisons
        },
    }
    if not candidate_levels:
        return params, {"pairs": 0, "iterations": 0, "converged": False}
    matrix = np.asarray(candidate_levels, dtype=np.int16)
    if labels is not None:
        label_column = np.asarray([-1 if label is None else label for label in labels], dtype=np.int16)[:, None]
        matrix = np.hstack([matrix, label_column])
    patterns, counts = np.unique(matrix, axis=0, return_counts=True)
    pinned = patterns[:, -1] if labels is not None else None
    patterns = patterns[:, : len(comparisons)]
    converged, iteration = False, 0
    updated: set[str] = set()
    for iteration in range(1, iterations + 1):  # noqa: B007 (reported below)
        log_m = np.zeros(len(patterns))
        log_u = np.zeros(len(patterns))
        for column, comparison in enumerate(comparisons):
            if comparison.name in blocked:
                continue
            m = np.log(np.maximum(np.asarray(params["comparisons"][comparison.name]["m"]), _FLOOR))
            u_values = np.log(np.maximum(np.asarray(params["comparisons"][comparison.name]["u"]), _FLOOR))
            levels = patterns[:, column]
            present = levels != MISSING
            log_m[present] += m[levels[present]]
            log_u[present] += u_values[levels[present]]
        lam = min(max(params["lambda"], 1e-9), 1 - 1e-9)
        log_odds = math.log(lam / (1 - lam)) + log_m - log_u
        posterior = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -700, 700)))
        if pinned is not None:
            posterior = np.where(pinned == 1, 1.0, np.where(pinned == 0, 0.0, posterior))
        new_lambda = float((posterior * counts).sum() / counts.sum())
        change = abs(new_lambda - params["lambda"])
        params["lambda"] = new_lambda
        for column, comparison in enumerate(comparisons):
            if comparison.name in blocked or fixed_m or (learn is not None and comparison.name not in learn):
                continue
            old_m = params["comparisons"][comparison.name]["m"]
            new_m = _frequencies(patterns[:, column], counts, old_m, posterior)
            if new_m is None:
                continue
            updated.add(comparison.name)
            change = max(change, max(abs(a - b) for a, b in zip(new_m, old_m, strict=True)))
            params["comparisons"][comparison.name]["m"] = new_m
        if change < tolerance:
            converged = True
            break
    report = {
        "pairs": int(counts.sum()),
        "patterns": len(patterns),
        "iterations": iteration,
        "converged": converged,
        "learnt": sorted(updated),
    }
    return params, report
