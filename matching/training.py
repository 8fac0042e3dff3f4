"""Learning the match model from the data in the hub, without labels (and with the stewards' labels).

`match_model_train` samples match profiles, estimates u from random pairs of them (almost all non-matches),
fits m by expectation maximisation in sessions (SESSIONS below: each session takes the pairs sharing some kinds of
blocking key and learns the comparisons those keys do not bias, as Splink's training does), then lambda over all
candidate pairs (matching/scoring.py). Steward decisions are labels: pairs across a rejected candidate pair are
non-matches; pairs of sources a steward merged are matches. The result is stored as a new MatchModel version with
its training report and a sanity check (`sanity_failures`); it is activated only if it passes.

The hand-set DEFAULT_PARAMETERS are only where this starts. It runs on an entity type's first load and after it
grows by a quarter (`match_model_train_if_due`, called by `manage.py import_records` and by a weekly Celery beat
task), and on demand (`manage.py train_matcher`).
"""

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from matching.comparisons import COMPARISONS, MISSING
from matching.engine import match_context
from matching.features import Features, blocking_keys
from matching.frequencies import frequencies_rebuild
from matching.models import CandidateStatus, MatchCandidate, MatchModel, MatchProfile
from matching.scoring import DEFAULT_PARAMETERS, Scorer, estimate, estimate_u, level_weights

MIN_PAIRS = 200  # fewer candidate pairs than this: a session leaves its comparisons as they were
MIN_PROFILES = 100  # an entity type with fewer records than this is not trained: there is nothing to learn from
MIN_KIND_PROFILES = 50  # a record kind (persons among customers) with fewer keeps its starting values
# A model is due again once the entity type has grown by this share since the active model was trained.
RETRAIN_GROWTH = 0.25
# A first load matched as it arrives learns its model once this many records are in (import_records).
FIRST_LOAD_RECORDS = 2000


@dataclass(frozen=True)
class Session:
    """One EM session, after Splink's: the candidate pairs found through some kinds of blocking key. The comparisons
    behind those keys agree by construction, so they sit it out (`blocked`); the session estimates the m of the
    comparisons it `learns`. A comparison learnt in several sessions takes the mean of their estimates."""

    keys: tuple[str, ...]
    blocked: frozenset[str]
    learns: frozenset[str]


# Pairs sharing an identifier (tax ID, phone, domain; national ID; GTIN, SKU) are nearly all true duplicates and
# teach what the names, addresses and dates of one entity look like. Pairs sharing a name's first letters and a
# postcode (organisations) or a date of birth (persons) teach the identifiers. Products have no second session:
# pairs sharing a name word and a unit are mostly variants of one product line, which EM would take for the match
# class and so learn that duplicates rarely share a SKU; the identifiers keep their starting m.
SESSIONS: dict[str, list[Session]] = {
    "organisation": [
        Session(
            ("tax:", "txn:", "tel:", "dom:"),
            frozenset({"tax_id", "phone", "domain"}),
            frozenset({"name", "legal_form", "address", "country"}),
        ),
        Session(
            ("npc:",),
            frozenset({"name", "address"}),
            frozenset({"tax_id", "phone", "domain", "legal_form", "country"}),
        ),
    ],
    "person": [
        Session(
            ("nid:", "tel:", "eml:"),
            frozenset({"national_id", "phone", "email"}),
            frozenset({"first_name", "last_name", "date_of_birth", "address"}),
        ),
        Session(
            ("dob:",),
            frozenset({"date_of_birth"}),
            frozenset({"first_name", "last_name", "national_id", "address", "phone", "email"}),
        ),
    ],
    "product": [
        Session(
            ("gtin:", "gti:", "sku:", "skn:"),
            frozenset({"gtin", "sku"}),
            frozenset({"name", "unit", "category", "price"}),
        ),
    ],
}

# Comparisons whose top level is a stable identifier agreeing: a trained model must weigh it as strong evidence.
IDENTIFIERS = {"organisation": ("tax_id",), "person": ("national_id",), "product": ("gtin", "sku")}
STRONG_AGREEMENT = 5.0  # bits: an identifier agreeing makes a match at least 32 times likelier


class TrainingRefused(Exception):
    """Training cannot start: the entity type holds too few records to learn anything from."""


@dataclass
class TrainingReport:
    """What a training run saw and did, per record kind, and whether the result passed its sanity check."""

    profiles: int = 0
    population: int = 0
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)
    sanity: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "profiles": self.profiles,
            "population": self.population,
            "kinds": self.kinds,
            "sanity": {"passed": not self.sanity, "failures": self.sanity},
        }


def _sample_profiles(entity_type: str, limit: int, rng: random.Random) -> list[tuple[int, int, Features]]:
    """(source record pk, golden pk, features) of up to `limit` profiles, a uniform sample (reservoir)."""
    sample: list[tuple[int, int, Features]] = []
    rows = MatchProfile.objects.filter(entity_type=entity_type).values_list("source_record_id", "golden_id", "features")
    for seen, row in enumerate(rows.iterator(chunk_size=5000)):
        if len(sample) < limit:
            sample.append(row)
        else:
            slot = rng.randrange(seen + 1)
            if slot < limit:
                sample[slot] = row
    return sample


def _labels(entity_type: str) -> tuple[set[frozenset[int]], set[frozenset[int]]]:
    """Golden-record pairs stewards said are not a match, and golden records they merged (as pairs)."""
    rejected: set[frozenset[int]] = set()
    merged: set[frozenset[int]] = set()
    for golden_pk, candidate_pk, status in MatchCandidate.objects.filter(
        entity_type=entity_type, status__in=[CandidateStatus.REJECTED, CandidateStatus.MERGED]
    ).values_list("golden_id", "candidate_id", "status"):
        (rejected if status == CandidateStatus.REJECTED else merged).add(frozenset((golden_pk, candidate_pk)))
    return rejected, merged


def sanity_failures(parameters: dict[str, Any]) -> list[str]:
    """Why a set of parameters must not decide anything, or [] when it may: for every comparison, its top level
    weighs for a match and its differing levels weigh against (graded levels are kept in order by the scorer:
    scoring.level_weights); an agreeing stable identifier weighs at least STRONG_AGREEMENT bits; lambda is a
    probability below one half."""
    failures: list[str] = []
    for kind, spec in parameters.items():
        weights = level_weights(parameters, kind)
        lam = spec.get("lambda", 0)
        if not 0 < lam < 0.5:
            failures.append(f"{kind}: lambda {lam} is not between 0 and 0.5")
        for comparison in COMPARISONS.get(kind, ()):
            levels = weights.get(comparison.name)
            if levels is None:
                continue
            agreeing = comparison.agreeing_levels
            # The top level weighs for a match; of kinds of agreement (not graded), the strongest one does.
            top = 0 if comparison.graded else max(range(agreeing), key=lambda level: levels[level])
            if levels[top] <= 0:
                failures.append(
                    f"{kind}.{comparison.name}: '{comparison.levels[top]}' weighs {levels[top]:.2f}, not > 0"
                )
            for level in range(agreeing, len(levels)):
                if levels[level] >= 0:
                    failures.append(
                        f"{kind}.{comparison.name}: '{comparison.levels[level]}' weighs {levels[level]:.2f}, not < 0"
                    )
        for name in IDENTIFIERS.get(kind, ()):
            if name in weights and weights[name][0] < STRONG_AGREEMENT:
                failures.append(f"{kind}.{name}: agreeing weighs {weights[name][0]:.2f} bits, under {STRONG_AGREEMENT}")
    return failures


MIN_HOUSEHOLD_PAIRS = 20  # fewer same-address, same-surname pairs than this: the household share is not learnt


def household_share(
    entity_type: str, members: list[tuple[int, int, Features]], scorer: Scorer, rng: random.Random
) -> tuple[float | None, int]:
    """How often two person records with one surname at one address (a shared `pad:` key), both with a date of
    birth, have another first name and another date of birth: two people of one household. High in customer data
    with households, near zero where duplicates are the only records sharing an address. (share or None when too
    few such pairs, pairs seen)."""
    names = [comparison.name for comparison in COMPARISONS["person"]]
    first, last, born, home = (names.index(name) for name in ("first_name", "last_name", "date_of_birth", "address"))
    pairs, _ = _candidate_pairs(entity_type, members, 10_000, 200_000, rng, ("pad:",))
    eligible = differ = 0
    for a, b in pairs:
        levels = scorer.levels(members[a][2], members[b][2])
        if levels[last] != 0 or levels[home] not in (0, 1) or MISSING in (levels[born], levels[first]):
            continue
        eligible += 1
        differ += levels[first] == len(COMPARISONS["person"][first].levels) - 1 and levels[born] == 2
    return (differ / eligible if eligible >= MIN_HOUSEHOLD_PAIRS else None), eligible


def _fit_kind(
    kind: str,
    entity_type: str,
    members: list[tuple[int, int, Features]],
    start: dict[str, Any],
    *,
    cap: int,
    random_pairs: int,
    max_pairs: int,
    rng: random.Random,
    labels: tuple[set[frozenset[int]], set[frozenset[int]]],
    say: Callable[[str], None],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One record kind's parameters (u from random pairs, m by EM sessions, lambda) and what was done."""
    scorer = Scorer({kind: start})
    u_levels = [
        scorer.levels(members[a][2], members[b][2])
        for a, b in _random_pairs(len(members), random_pairs, rng)
        if members[a][1] != members[b][1]
    ]
    if len(members) < MIN_KIND_PROFILES or not u_levels:
        return start, {"profiles": len(members), "trained": False, "why": f"fewer than {MIN_KIND_PROFILES} records"}
    u = estimate_u(kind, u_levels, scorer.parameters[kind])
    fitted = {
        "lambda": scorer.parameters[kind]["lambda"],
        "comparisons": {
            name: {"m": list(spec["m"]), "u": u.get(name) or list(spec["u"])}
            for name, spec in scorer.parameters[kind]["comparisons"].items()
        },
    }
    learnt: dict[str, list[list[float]]] = defaultdict(list)
    sessions: list[dict[str, Any]] = []
    for session in SESSIONS[kind]:
        pairs, _ = _candidate_pairs(entity_type, members, cap, max_pairs, rng, session.keys)
        levels, pinned = _levels(scorer, members, pairs, *labels)
        entry: dict[str, Any] = {
            "keys": list(session.keys),
            "blocked": sorted(session.blocked),
            "learns": sorted(session.learns),
            "pairs": len(levels),
        }
        if len(levels) >= MIN_PAIRS:
            estimated, fit_report = estimate(
                kind, fitted, levels, labels=pinned, blocked=session.blocked, learn=session.learns
            )
            for name in fit_report["learnt"]:
                learnt[name].append(estimated["comparisons"][name]["m"])
            entry.update(fit_report)
        sessions.append(entry)
        say(f"{kind}: session on {', '.join(session.keys)}: {len(levels):,} pairs")
    for name, estimates in learnt.items():
        fitted["comparisons"][name]["m"] = [float(value) for value in np.mean(estimates, axis=0)]
    # Lambda: how often a candidate pair (any shared key) is a match, with every m and u fixed; then, as u was
    # measured on random pairs, restated for random pairs: candidate pairs hold (nearly) all the matches, so
    # lambda(random) = lambda(candidates) x candidate pairs / all pairs.
    every_pair, candidate_total = _candidate_pairs(entity_type, members, cap, max_pairs, rng)
    everything, _ = _levels(scorer, members, every_pair, *labels)
    fitted, lambda_report = estimate(kind, fitted, everything, fixed_m=True)
    all_pairs = len(members) * (len(members) - 1) // 2
    candidate_share = candidate_total / all_pairs if all_pairs else 1.0
    lambda_report["lambda_candidates"] = fitted["lambda"]
    lambda_report["candidate_pairs"] = candidate_total
    fitted["lambda"] = min(max(fitted["lambda"] * candidate_share, 1e-12), 0.5)
    households: dict[str, Any] = {}
    if kind == "person":
        share, seen = household_share(entity_type, members, scorer, rng)
        fitted["households"] = share if share is not None else start.get("households", 0.0)
        households = {"households": {"share": share, "pairs": seen}}
    return fitted, {
        **households,
        "profiles": len(members),
        "random_pairs": len(u_levels),
        "trained": bool(learnt),
        "sessions": sessions,
        "lambda": lambda_report,
    }


def match_model_train(
    *,
    entity_type: str,
    actor: User | None = None,
    sample_size: int = 200_000,
    random_pairs: int = 200_000,
    max_pairs: int = 1_000_000,
    seed: int = 42,
    activate: bool = False,
    progress: Callable[[str], None] | None = None,
) -> MatchModel:
    """Estimate a new model version for an entity type from its records in the hub, without labels (and with the
    stewards' decisions as labels), store it with its training report and return it. With `activate`, it
    decides from now on, but only if it passes `sanity_failures`; one that fails is stored and reported, not used.
    Refuses (TrainingRefused) an entity type with fewer than MIN_PROFILES records."""
    say = progress or (lambda message: None)
    population = MatchProfile.objects.filter(entity_type=entity_type).count()
    if population < MIN_PROFILES:
        raise TrainingRefused(
            f"the {entity_type} records hold {population:,} match profiles; training needs at least {MIN_PROFILES:,}"
        )
    rng = random.Random(seed)
    counted = frequencies_rebuild(entity_type)
    say(f"term frequencies recounted: {counted:,} values")
    context = match_context(entity_type)
    start = context.scorer.parameters
    profiles = _sample_profiles(entity_type, sample_size, rng)
    say(f"{len(profiles):,} of {population:,} profiles sampled")
    report = TrainingReport(profiles=len(profiles), population=population)
    labels = _labels(entity_type)
    parameters: dict[str, Any] = {}
    for kind in _kinds_of(entity_type):
        members = [row for row in profiles if row[2].get("kind") == kind]
        parameters[kind], report.kinds[kind] = _fit_kind(
            kind,
            entity_type,
            members,
            start.get(kind) or DEFAULT_PARAMETERS[kind],
            cap=context.max_block_size,
            random_pairs=random_pairs,
            max_pairs=max_pairs,
            rng=rng,
            labels=labels,
            say=say,
        )
    report.sanity = sanity_failures(parameters)
    usable = activate and not report.sanity
    with transaction.atomic():
        version = (
            MatchModel.objects.filter(entity_type=entity_type).aggregate(Max("version"))["version__max"] or 0
        ) + 1
        if usable:
            MatchModel.objects.filter(entity_type=entity_type, is_active=True).update(is_active=False)
        return MatchModel.objects.create(
            entity_type=entity_type,
            version=version,
            parameters=parameters,
            is_active=usable,
            source="trained",
            training_report=report.as_dict(),
            created_by=actor,
        )


def match_model_train_if_first(*, entity_type: str, actor: User | None = None) -> MatchModel | None:
    """During a first load matched as it arrives: learn the entity type's first model once FIRST_LOAD_RECORDS are
    in, so the rest is matched with parameters of its own data. None when it has a learnt model, or too few."""
    if MatchModel.objects.filter(entity_type=entity_type, source="trained").exists():
        return None
    if MatchProfile.objects.filter(entity_type=entity_type).count() < FIRST_LOAD_RECORDS:
        return None
    return match_model_train(entity_type=entity_type, actor=actor, activate=True)


def match_model_train_if_due(*, entity_type: str, actor: User | None = None) -> MatchModel | None:
    """Train and activate (if sane) a new model when one is due: the entity type has enough records and no trained
    model yet (its first load), or it has grown by RETRAIN_GROWTH since the newest trained model. None when not due."""
    population = MatchProfile.objects.filter(entity_type=entity_type).count()
    if population < MIN_PROFILES:
        return None
    newest = MatchModel.objects.filter(entity_type=entity_type, source="trained").order_by("-version").first()
    if newest is not None:
        trained_on = int((newest.training_report or {}).get("population") or 0)
        if population < trained_on * (1 + RETRAIN_GROWTH):
            return None
    return match_model_train(entity_type=entity_type, actor=actor, activate=True)


def training_summary(model: MatchModel) -> str:
    """One line on a trained version: what it learnt from and whether it decides, or why not."""
    report = model.training_report or {}
    sanity = report.get("sanity") or {}
    learnt = f"{model} learnt from {report.get('population', 0):,} records"
    if model.is_active:
        return f"{learnt}: active"
    failures = sanity.get("failures") or []
    if failures:
        return f"{learnt}: stored, not active; its sanity check failed: " + "; ".join(failures)
    return f"{learnt}: stored, not active"


def _kinds_of(entity_type: str) -> list[str]:
    return ["product"] if entity_type == "product" else ["organisation", "person"]


def _random_pairs(size: int, count: int, rng: random.Random) -> list[tuple[int, int]]:
    if size < 2:
        return []
    pairs = []
    for _ in range(count):
        a, b = rng.randrange(size), rng.randrange(size - 1)
        pairs.append((a, b + (b >= a)))
    return pairs


def _levels(
    scorer: Scorer,
    members: list[tuple[int, int, Features]],
    pairs: list[tuple[int, int]],
    rejected: set[frozenset[int]],
    merged: set[frozenset[int]],
) -> tuple[list[list[int]], list[int | None]]:
    levels, labels = [], []
    for a, b in pairs:
        (_, golden_a, left), (_, golden_b, right) = members[a], members[b]
        levels.append(scorer.levels(left, right))
        pair = frozenset((golden_a, golden_b))
        labels.append(0 if pair in rejected else 1 if pair in merged else None)
    return levels, labels


def _candidate_pairs(
    entity_type: str,
    members: list[tuple[int, int, Features]],
    cap: int,
    limit: int,
    rng: random.Random,
    prefixes: tuple[str, ...] = (),
) -> tuple[list[tuple[int, int]], int]:
    """Pairs of profiles sharing a blocking key (of these kinds; blocks above the cap skipped), each once,
    sampled down to limit; and how many there were before sampling."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, (_, _, found) in enumerate(members):
        for key in blocking_keys(entity_type, found):
            if not prefixes or key.startswith(prefixes):
                blocks[key].append(index)
    pairs: set[tuple[int, int]] = set()
    for indices in blocks.values():
        if len(indices) < 2 or len(indices) > cap:
            continue
        for i, a in enumerate(indices):
            for b in indices[i + 1 :]:
                pairs.add((a, b) if a < b else (b, a))
    ordered = sorted(pairs)
    total = len(ordered)
    if total > limit:
        ordered = rng.sample(ordered, limit)
    return ordered, total
