"""What happens to matching's tables when the store merges golden records or undoes a merge.

The store (mdm/merges.py) never imports matching: it sends `golden_records_merged` and `merge_undone`
(mdm/signals.py) inside its transaction, and the receivers here, connected by matching's AppConfig, move match
profiles and blocking keys with their source records and carry review candidates over to the survivor.
"""

from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from matching.models import BlockingKey, CandidateStatus, MatchCandidate, MatchProfile
from mdm.db import reassign
from mdm.history import bulk_create_tracked, bulk_update_tracked
from mdm.signals import golden_records_merged, merge_undone


@receiver(golden_records_merged)
def _on_merge(sender: Any, *, into: dict[int, int], actor: User, **kwargs: Any) -> None:
    """Match profiles and blocking keys follow their source records to the survivor; review pairs follow too."""
    reassign(BlockingKey, "golden", into)
    reassign(MatchProfile, "golden", into)
    candidates_carry(into, actor)


@receiver(merge_undone)
def _on_undo(sender: Any, *, source_pks: list[int], golden_pk: int, **kwargs: Any) -> None:
    derived_follow(source_pks, golden_pk)


def candidates_carry(into: dict[int, int], actor: User) -> None:
    """Review pairs follow a merge: an open pair the merge settles is closed as merged, an open pair with a third
    record is superseded (the batch run proposes the survivor instead), and a pair a steward rejected holds for
    the survivor too (if the merged record is not that record, neither is the cluster that now contains it)."""
    rows = MatchCandidate.objects.filter(
        Q(golden_id__in=list(into)) | Q(candidate_id__in=list(into)),
        status__in=[CandidateStatus.OPEN, CandidateStatus.REJECTED],
    )
    now = timezone.now()
    closed: list[MatchCandidate] = []
    carried: dict[frozenset[int], MatchCandidate] = {}
    for row in rows:
        left, right = into.get(row.golden_id, row.golden_id), into.get(row.candidate_id, row.candidate_id)
        if row.status == CandidateStatus.OPEN:
            row.status = CandidateStatus.MERGED if left == right else CandidateStatus.SUPERSEDED
            row.decided_at, row.decided_by = now, actor
            closed.append(row)
        elif left != right:
            carried.setdefault(
                frozenset((left, right)),
                MatchCandidate(
                    golden_id=left,
                    candidate_id=right,
                    source_record_id=row.source_record_id,
                    entity_type=row.entity_type,
                    probability=row.probability,
                    match_weight=row.match_weight,
                    model_version=row.model_version,
                    explanation=row.explanation,
                    status=CandidateStatus.REJECTED,
                    decided_at=row.decided_at,
                    decided_by_id=row.decided_by_id,
                ),
            )
    bulk_update_tracked(closed, MatchCandidate, ["status", "decided_at", "decided_by"])
    existing = set(
        MatchCandidate.objects.filter(
            golden_id__in={pk for pair in carried for pk in pair}, status=CandidateStatus.REJECTED
        ).values_list("golden_id", "candidate_id")
    )
    bulk_create_tracked(
        [row for pair, row in carried.items() if (row.golden_id, row.candidate_id) not in existing], MatchCandidate
    )


def derived_follow(source_pks: list[int], golden_pk: int) -> None:
    """Match profiles and blocking keys follow their source records to another golden record."""
    BlockingKey.objects.filter(source_record_id__in=source_pks).update(golden_id=golden_pk)
    MatchProfile.objects.filter(source_record_id__in=source_pks).update(golden_id=golden_pk)
