"""Reads of the matcher's records: a golden record's decisions and open candidates."""

from django.db.models import Q, QuerySet

from matching.models import CandidateStatus, MatchCandidate, MatchDecision
from mdm.models import GoldenRecord


def decisions_of(golden: GoldenRecord) -> QuerySet[MatchDecision]:
    """The decisions that placed this golden record's source records, newest first."""
    return (
        MatchDecision.objects.filter(golden=golden)
        .select_related("source_record__system")
        .order_by("-created_at", "-pk")
    )


def open_candidates_of(golden: GoldenRecord) -> QuerySet[MatchCandidate]:
    """Open review pairs this golden record is part of, most likely first."""
    return (
        MatchCandidate.objects.filter(Q(golden=golden) | Q(candidate=golden), status=CandidateStatus.OPEN)
        .select_related("golden", "candidate", "source_record__system")
        .order_by("-probability", "pk")
    )
