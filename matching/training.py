"""Re-estimating the match model from the data in the hub, without labels (and with the stewards' labels).

`train` samples match profiles, estimates u from random pairs of them, collects candidate pairs the
way the matcher finds them (records sharing a blocking key; blocks larger than the entity type's
cap are skipped, as in matching), and fits m and lambda by EM (matching/scoring.py). Steward
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

MIN_PAIRS = 200  # fewer candidate pairs than this: the kind keeps its starting parameters


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
    activate: bool = True,
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
        pairs = _candidate_pairs(entity_type, members, context.max_block_size, max_pairs, rng)
        levels, labels = [], []
        for a, b in pairs:
            (_, golden_a, left), (_, golden_b, right) = members[a], members[b]
            levels.append(scorer.levels(left, right))
            pair = frozenset((golden_a, golden_b))
            labels.append(0 if pair in rejected else 1 if pair in merged else None)
        say(f"{kind}: {len(members):,} profiles, {len(u_levels):,} random pairs, {len(levels):,} candidate pairs")
        if len(levels) < MIN_PAIRS or not u_levels:
            parameters[kind] = start.get(kind) or DEFAULT_PARAMETERS[kind]
            report.kinds[kind] = {"profiles": len(members), "pairs": len(levels), "trained": False}
            continue
        u = estimate_u(kind, u_levels)
        fitted, fit_report = estimate(kind, parameters.get(kind) or scorer.parameters[kind], levels, u=u, labels=labels)
        parameters[kind] = fitted
        report.kinds[kind] = {
            "profiles": len(members),
            "random_pairs": len(u_levels),
            "labelled_pairs": sum(label is not None for label in labels),
            "trained": True,
            **fit_report,
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


def _candidate_pairs(
    entity_type: str, members: list[tuple[int, int, Features]], cap: int, limit: int, rng: random.Random
) -> list[tuple[int, int]]:
    """Pairs of profiles sharing a blocking key (blocks above the cap skipped), each once; sampled down to limit."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, (_, _, found) in enumerate(members):
        for key in blocking_keys(entity_type, found):
            blocks[key].append(index)
    pairs: set[tuple[int, int]] = set()
    for indices in blocks.values():
        if len(indices) < 2 or len(indices) > cap:
            continue
        for i, a in enumerate(indices):
            for b in indices[i + 1 :]:
                pairs.add((a, b) if a < b else (b, a))
    ordered = sorted(pairs)
    if len(ordered) > limit:
        ordered = rng.sample(ordered, limit)
    return ordered
