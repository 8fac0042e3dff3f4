"""Batch matching: re-match the golden records of a type (all, or those a fresh import touched) in chunks.

Real-time matching places each source record as it arrives. The batch run looks again at golden
records against each other, after a model is retrained, thresholds change, or a large import lands:

- each golden record is compared with the older golden records it shares blocking keys with (so
  every pair is looked at once, by its younger record), member by member, with the same scorer,
  thresholds and no-chaining rule as real time;
- above auto-link (and matching the other cluster, and only one such candidate): merged into the
  older record, which keeps its golden ID (`mdm.merges.golden_records_merge`);
- between review and auto-link, or above auto-link but not clear-cut: a MatchCandidate for a steward;
- a pair a steward rejected is never proposed again; an open pair is not proposed twice.

Work is split into chunks of golden-record primary keys, which processes share (`manage.py match
--workers N`); a merge locks both records, so two workers never merge through each other.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Q

from matching.engine import (
    CLUSTER_SUPPORT,
    CandidateScore,
    MatchContext,
    Target,
    golden_profiles,
    keyed_goldens,
    score_target,
    shortlist,
)
from matching.features import Features, blocking_keys
from matching.models import CandidateStatus, MatchCandidate, MatchProfile
from mdm.context import acting
from mdm.history import bulk_create_tracked
from mdm.merges import MergeError, golden_records_merge
from mdm.models import GoldenRecord, GoldenStatus
from mdm.services import system_actor


@dataclass
class BatchStats:
    """What one chunk (or a whole run) did."""

    goldens: int = 0
    compared_pairs: int = 0
    merged: int = 0
    proposed: int = 0
    skipped_rejected: int = 0
    merge_refused: int = 0
    messages: list[str] = field(default_factory=list)

    def add(self, other: "BatchStats") -> None:
        for name in ("goldens", "compared_pairs", "merged", "proposed", "skipped_rejected", "merge_refused"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.messages.extend(other.messages[:20])


def _cluster_score(
    context: MatchContext, mine: list[Features], theirs: list[Features], target: Target
) -> tuple[CandidateScore | None, bool]:
    """The best member-to-cluster score of one golden record against another, and whether the clusters
    match as clusters (most of my members reach review against theirs, and theirs against mine)."""
    scored = [result for found in mine[-10:] if (result := score_target(context, found, target, theirs))]
    if not scored:
        return None, False
    scored.sort(key=lambda result: -result.weight)
    best = scored[0]
    mine_support = sum(result.probability >= context.review_threshold for result in scored) / len(scored)
    return best, best.supported and mine_support >= CLUSTER_SUPPORT


def _decided_or_open_pairs(golden_pks: Sequence[int]) -> set[frozenset[int]]:
    """Pairs a steward rejected, and pairs already waiting for one: neither is proposed again."""
    rows = MatchCandidate.objects.filter(
        Q(golden_id__in=golden_pks) | Q(candidate_id__in=golden_pks),
        status__in=[CandidateStatus.REJECTED, CandidateStatus.OPEN],
    ).values_list("golden_id", "candidate_id")
    return {frozenset(row) for row in rows}


def match_chunk(context: MatchContext, golden_pks: Sequence[int], *, apply: bool = True) -> BatchStats:
    """Re-match these golden records against older ones; merge or propose as decided (unless apply is False)."""
    stats = BatchStats()
    entity_type = context.entity_type
    members = golden_profiles(entity_type, golden_pks)
    stats.goldens = len(members)
    keys_of = {
        pk: sorted({key for found in found_list for key in blocking_keys(entity_type, found)})
        for pk, found_list in members.items()
    }
    keyed = keyed_goldens(entity_type, {key for keys in keys_of.values() for key in keys}, context.max_block_size)
    # Each pair is looked at once, by its younger golden record.
    shortlists = {pk: shortlist(keys, keyed, accept=lambda other, pk=pk: other < pk) for pk, keys in keys_of.items()}
    others = golden_profiles(entity_type, {other for listed in shortlists.values() for other in listed})
    known = _decided_or_open_pairs(list(members))
    actor = system_actor("matcher")
    for pk in sorted(members):
        auto: list[tuple[int, CandidateScore]] = []
        unclear: list[tuple[int, CandidateScore]] = []
        for other in shortlists[pk]:
            if frozenset((pk, other)) in known:
                stats.skipped_rejected += 1
                continue
            theirs = others.get(other) or []
            best, supported = _cluster_score(context, members[pk], theirs, Target(golden_pk=other))
            stats.compared_pairs += 1
            if best is None or best.probability < context.review_threshold:
                continue
            if best.probability >= context.auto_link_threshold and supported:
                auto.append((other, best))
            else:
                unclear.append((other, best))
        if len(auto) == 1 and not apply:
            stats.merged += 1  # a dry run counts what it would do
            continue
        if len(auto) == 1:
            other, best = auto[0]
            try:
                golden_records_merge(
                    survivor=GoldenRecord(pk=other),
                    merged=GoldenRecord(pk=pk),
                    actor=actor,
                    reason=f"batch match: probability {best.probability:.4f}",
                    probability=best.probability,
                    explanation=best.best.explanation(),
                )
                stats.merged += 1
                continue
            except MergeError as exc:
                stats.merge_refused += 1
                stats.messages.append(str(exc))
                unclear.append(auto.pop())
        unclear.extend(auto if len(auto) > 1 else [])
        if unclear and apply:
            stats.proposed += _propose(context, pk, unclear)
        elif unclear:
            stats.proposed += min(len(unclear), 5)
    return stats


def _propose(context: MatchContext, golden_pk: int, candidates: list[tuple[int, CandidateScore]]) -> int:
    """Queue review pairs for one golden record (against still-active older records only)."""
    active = set(
        GoldenRecord.objects.filter(
            pk__in=[golden_pk, *(other for other, _ in candidates)], status=GoldenStatus.ACTIVE
        ).values_list("pk", flat=True)
    )
    if golden_pk not in active:
        return 0
    source = (
        MatchProfile.objects.filter(golden_id=golden_pk)
        .order_by("-source_record_id")
        .values_list("source_record_id", flat=True)
        .first()
    )
    rows = [
        MatchCandidate(
            golden_id=golden_pk,
            candidate_id=other,
            source_record_id=source,
            entity_type=context.entity_type,
            probability=best.probability,
            match_weight=best.weight,
            model_version=context.model_version,
            explanation=best.best.explanation(),
        )
        for other, best in sorted(candidates, key=lambda item: -item[1].weight)[:5]
        if other in active
    ]
    with acting(system_actor("matcher"), "batch match: possible duplicate"):
        bulk_create_tracked(rows, MatchCandidate)
    return len(rows)


def golden_pk_chunks(
    entity_type: str, *, chunk_size: int, touched_since=None, system: str | None = None
) -> list[list[int]]:
    """The active golden records to re-match, in chunks of primary keys (all, or those an import touched)."""
    queryset = GoldenRecord.objects.filter(entity_type=entity_type, status=GoldenStatus.ACTIVE)
    if touched_since is not None or system:
        sources = Q()
        if touched_since is not None:
            sources &= Q(source_records__updated_at__gte=touched_since)
        if system:
            sources &= Q(source_records__system__code=system)
        queryset = queryset.filter(sources).distinct()
    pks = list(queryset.order_by("pk").values_list("pk", flat=True))
    return [pks[start : start + chunk_size] for start in range(0, len(pks), chunk_size)]
