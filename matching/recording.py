"""Keeping the matcher's word: every decision stored with its explanation, and review pairs queued.

Called by ingest in the same transaction as the source records it describes, so a decision never
points at a record that was rolled back, and a record never lacks its decision.
"""

from collections.abc import Mapping, Sequence

from matching.engine import CandidateScore, LinkDecision, MatchContext
from matching.models import MatchCandidate, MatchDecision, MatchOutcome
from mdm.context import current_correlation_id
from mdm.history import bulk_create_tracked
from mdm.models import GoldenRecord, SourceRecord


def match_decisions_record(
    *,
    context: MatchContext,
    records: Sequence[SourceRecord],
    decisions: Sequence[LinkDecision],
    new_goldens: Mapping[int, GoldenRecord],
) -> None:
    """Store one MatchDecision per new source record, and a MatchCandidate per likely duplicate sent to review.

    `new_goldens` are the golden records created for this batch by pk; a candidate made earlier in the
    batch is named by its batch group, which the decisions map to those golden records.
    """
    group_golden = {decision.group: record.golden_id for record, decision in zip(records, decisions, strict=True)}
    existing = {
        candidate.target.golden_pk
        for decision in decisions
        for candidate in decision.candidates
        if candidate.target.golden_pk is not None
    }
    golden_ids = dict(GoldenRecord.objects.filter(pk__in=existing).values_list("pk", "golden_id"))
    golden_ids.update({pk: golden.golden_id for pk, golden in new_goldens.items()})

    def golden_of(candidate: CandidateScore) -> int:
        target = candidate.target
        if target.golden_pk is not None:
            return target.golden_pk
        return group_golden[target.group if target.group is not None else -1]

    correlation_id = current_correlation_id()
    rows: list[MatchDecision] = []
    queued: dict[tuple[int, int], MatchCandidate] = {}
    for record, decision in zip(records, decisions, strict=True):
        rows.append(
            MatchDecision(
                source_record=record,
                golden_id=record.golden_id,
                entity_type=context.entity_type,
                outcome=decision.outcome,
                probability=decision.probability,
                model_version=context.model_version,
                reason=decision.reason[:255],
                explanation=decision.explanation,
                candidates=[
                    {**candidate.summary(), "golden_id": golden_ids.get(golden_of(candidate))}
                    for candidate in decision.candidates
                ],
                correlation_id=correlation_id,
            )
        )
        if decision.outcome != MatchOutcome.REVIEW:
            continue
        for candidate in decision.review:
            pair = (record.golden_id, golden_of(candidate))
            if pair[0] == pair[1] or pair in queued:
                continue
            queued[pair] = MatchCandidate(
                golden_id=pair[0],
                candidate_id=pair[1],
                source_record=record,
                entity_type=context.entity_type,
                probability=candidate.probability,
                match_weight=candidate.weight,
                model_version=context.model_version,
                explanation=candidate.best.explanation(),
            )
    MatchDecision.objects.bulk_create(rows, batch_size=1000)
    bulk_create_tracked(list(queued.values()), MatchCandidate)
