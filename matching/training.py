"""Re-estimating the match model from the data in the hub, without labels (and with the stewards' labels).

`train` samples match profiles, estimates u from random pairs of them, collects candidate pairs the
way the matcher finds them (records sharing a blocking key; blocks larger than the entity type's
cap are skipped, as in matching), fits m by EM in sessions (SESSIONS below) and then lambda over all
candidate pairs (matching/scoring.py). Steward
decisions are labels: pairs across a rejected candidate pair are non-matches; pairs of sources a
steward merged are matches. The result is stored as a new MatchModel version, active by default.
"""

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max

from matching.engine import match_context
from matching.features import Features, blocking_keys
from matching.models import CandidateStatus, MatchCandidate, MatchModel, MatchProfile
from matching.scoring import DEFAULT_PARAMETERS, Scorer, estimate, estimate_u

MIN_PAIRS = 200  # fewer candidate pairs than this: a session leaves its comparisons as they were

# Training sessions, after Splink's: a session takes the candidate pairs found through some kinds of
# blocking key; the comparisons behind those keys agree by construction, so they sit it out, and the
# session updates the m of the comparisons it `learns`. Pairs sharing an identifier (tax ID, phone,
# domain; national ID; GTIN, SKU) are nearly all true duplicates, and teach what the names, addresses
# and dates of one entity look like. The identifiers' own m keep their starting values: a session on
# pairs sharing only a name word was tried, and on company data its EM settled on "same name word and
# city" as the match class, learning that duplicates rarely share a phone or tax ID (pairwise F1 fell
# from 0.92 to 0.64 on the company benchmark); Splink's EM shows the same failure on that data.
SESSIONS: dict[str, list[tuple[tuple[str, ...], frozenset[str], frozenset[str]]]] = {
    "organisation": [
        (
            ("tax:", "tel:", "dom:"),
            frozenset({"tax_id", "phone", "domain"}),
            frozenset({"name", "legal_form", "address", "country"}),
        ),
    ],
    "person": [
        (
            ("nid:", "tel:", "eml:"),
            frozenset({"national_id", "phone", "email"}),
            frozenset({"first_name", "last_name", "date_of_birth", "street", "postcode", "city"}),
        ),
    ],
    "product": [
        (("gtin:", "sku:"), frozenset({"gtin", "sku"}), frozenset({"name", "unit", "category", "price"})),
    ],
}


@dataclass
class TrainingReport:
    """What a training run saw and did, per record kind."""

    profiles: int = 0
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"profiles": self.profiles, "kinds": self.kinds}


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
    rejected, merged = set(), set()
    for golden_pk, candidate_pk, status in MatchCandidate.objects.filter(
        entity_type=entity_type, status__in=[CandidateStatus.REJECTED, CandidateStatus.MERGED]
    ).values_list("golden_id", "candidate_id", "status"):
        (rejected if status == CandidateStatus.REJECTED else merged).add(frozenset((golden_pk, candidate_pk)))
    return rejected, merged


def train(
    entity_type: str,
    *,
    actor: AbstractBaseUser | None = None,
    sample_size: int = 200_000,
    random_pairs: int = 200_000,
    max_pairs: int = 1_000_000,
    seed: int = 42,
    activate: bool = False,
    progress: Callable[[str], None] | None = None,
) -> MatchModel:
    """Estimate a new model version for an entity type from the profiles in the hub, store it and return it."""
    say = progress or (lambda message: None)
    rng = random.Random(seed)
    context = match_context(entity_type)
    start = context.scorer.parameters
    profiles = _sample_profiles(entity_type, sample_size, rng)
    say(f"{len(profiles):,} profiles sampled")
    report = TrainingReport(profiles=len(profiles))
    rejected, merged = _labels(entity_type)
    parameters: dict[str, Any] = {}
    kinds = sorted({found["kind"] for _, _, found in profiles} | set(_kinds_of(entity_type)))
    for kind in kinds:
        scorer = Scorer({kind: start.get(kind) or DEFAULT_PARAMETERS[kind]})
        members = [row for row in profiles if row[2].get("kind") == kind]
        u_levels = [
            scorer.levels(members[a][2], members[b][2])
            for a, b in _random_pairs(len(members), random_pairs, rng)
            if members[a][1] != members[b][1]
        ]
        if not u_levels:
            parameters[kind] = start.get(kind) or DEFAULT_PARAMETERS[kind]
            report.kinds[kind] = {"profiles": len(members), "trained": False}
            continue
        u = estimate_u(kind, u_levels)
        fitted = {
            "lambda": scorer.parameters[kind]["lambda"],
            "comparisons": {
                name: {"m": list(spec["m"]), "u": u.get(name) or list(spec["u"])}
                for name, spec in scorer.parameters[kind]["comparisons"].items()
            },
        }
        sessions: list[dict[str, Any]] = []
        for prefixes, blocked, learn in SESSIONS[kind]:
            pairs, _ = _candidate_pairs(entity_type, members, context.max_block_size, max_pairs, rng, prefixes)
            levels, labels = _levels(scorer, members, pairs, rejected, merged)
            entry: dict[str, Any] = {
                "keys": list(prefixes),
                "blocked": sorted(blocked),
                "learns": sorted(learn),
                "pairs": len(levels),
            }
            if len(levels) >= MIN_PAIRS:
                fitted, fit_report = estimate(kind, fitted, levels, labels=labels, blocked=blocked, learn=learn)
                entry.update(fit_report)
            sessions.append(entry)
            say(f"{kind}: session on {', '.join(prefixes)}: {len(levels):,} pairs")
        # Lambda: how often a candidate pair (any shared key) is a match, with every m and u fixed; then, as
        # u was measured on random pairs, restated for random pairs: candidate pairs hold (nearly) all the
        # matches, so lambda(random) = lambda(candidates) x candidate pairs / all pairs.
        every_pair, candidate_total = _candidate_pairs(entity_type, members, context.max_block_size, max_pairs, rng)
        everything, _ = _levels(scorer, members, every_pair, rejected, merged)
        fitted, lambda_report = estimate(kind, fitted, everything, fixed_m=True)
        all_pairs = len(members) * (len(members) - 1) // 2
        candidate_share = candidate_total / all_pairs if all_pairs else 1.0
        lambda_report["lambda_candidates"] = fitted["lambda"]
        lambda_report["candidate_pairs"] = candidate_total
        fitted["lambda"] = min(max(fitted["lambda"] * candidate_share, 1e-12), 0.5)
        parameters[kind] = fitted
        report.kinds[kind] = {
            "profiles": len(members),
            "random_pairs": len(u_levels),
            "trained": any("iterations" in entry for entry in sessions),
            "sessions": sessions,
            "lambda": lambda_report,
        }
    with transaction.atomic():
        version = (
            MatchModel.objects.filter(entity_type=entity_type).aggregate(Max("version"))["version__max"] or 0
        ) + 1
        if activate:
            MatchModel.objects.filter(entity_type=entity_type, is_active=True).update(is_active=False)
        return MatchModel.objects.create(
            entity_type=entity_type,
            version=version,
            parameters=parameters,
            is_active=activate,
            source="trained",
            training_report=report.as_dict(),
            created_by=actor,
        )


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
