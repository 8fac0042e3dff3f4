"""Reads for stewards: the review queue, filtered and ordered as the queue page and the API ask."""

from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from matching.models import CandidateStatus, MatchCandidate
from mdm.models import EntityType

ORDERINGS = {"-probability": ("-probability", "created_at"), "created_at": ("created_at", "-probability")}


def _probability(params: Mapping[str, str], name: str) -> float | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}: '{raw}' is not a number") from None
    if not 0 <= value <= 1:
        raise ValueError(f"{name}: must be between 0 and 1")
    return value


def candidate_queue(params: Mapping[str, str], *, steward: AbstractBaseUser) -> QuerySet[MatchCandidate]:
    """Review candidates by the queue's filters; raises ValueError("field: message") on a bad filter."""
    status = params.get("status") or CandidateStatus.OPEN
    if status not in CandidateStatus.values:
        raise ValueError(f"status: one of {', '.join(CandidateStatus.values)}")
    queryset = MatchCandidate.objects.filter(status=status)
    if entity_type := params.get("entity_type"):
        if entity_type not in EntityType.values:
            raise ValueError(f"entity_type: one of {', '.join(EntityType.values)}")
        queryset = queryset.filter(entity_type=entity_type)
    if (low := _probability(params, "min_probability")) is not None:
        queryset = queryset.filter(probability__gte=low)
    if (high := _probability(params, "max_probability")) is not None:
        queryset = queryset.filter(probability__lte=high)
    if system := params.get("system"):
        queryset = queryset.filter(
            Q(golden__source_records__system__code=system) | Q(candidate__source_records__system__code=system)
        ).distinct()
    if assigned := params.get("assigned_to"):
        if assigned == "none":
            queryset = queryset.filter(assignment__isnull=True)
        else:
            username = steward.get_username() if assigned == "me" else assigned
            queryset = queryset.filter(assignment__steward__username=username)
    ordering = params.get("ordering") or "-probability"
    if ordering not in ORDERINGS:
        raise ValueError(f"ordering: one of {', '.join(ORDERINGS)}")
    return queryset.select_related("golden", "candidate", "decided_by", "assignment__steward").order_by(
        *ORDERINGS[ordering], "pk"
    )
