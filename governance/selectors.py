"""Reads for stewards: the review queue (filtered and ordered as the queue page and the API ask), the dashboard."""

import datetime
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, F, FloatField, Min, QuerySet, Value
from django.db.models.functions import Floor, Least, TruncDate
from django.utils import timezone

from governance.filters import CandidateFilterSet, ChangeRequestFilterSet
from governance.models import ChangeRequest, ChangeStatus
from matching.models import CandidateStatus, MatchCandidate, MatchDecision
from mdm.filters import filtered
from mdm.models import OutboxEvent, OutboxStatus
from mdm.publishing.selectors import backlog


def candidate_queue(params: Mapping[str, str], *, steward: User) -> QuerySet[MatchCandidate]:
    """Review candidates by the queue's filters (governance.filters.CandidateFilterSet); raises
    ValueError("field: message") on a bad filter."""
    request = SimpleNamespace(user=steward)
    return filtered(CandidateFilterSet, params, MatchCandidate.objects.all(), request=request)


def change_requests(params: Mapping[str, str]) -> QuerySet[ChangeRequest]:
    """Change requests, newest first, by `status`, `kind` and `golden_id`; raises ValueError("field: message")."""
    queryset = ChangeRequest.objects.select_related(
        "golden", "survivor", "hierarchy", "parent", "requested_by", "decided_by"
    ).order_by("-pk")
    return filtered(ChangeRequestFilterSet, params, queryset)


def _publishing_bars(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per target: records due, rejected and dead, with bar widths for the dashboard's chart (300 px at most)."""
    top = max([max(row["due"], row["rejected"], row["dead"]) for row in rows] + [1])
    return [
        {
            **row,
            "oldest_minutes": int(row["oldest_seconds"] // 60),
            "bars": [
                {"label": label, "count": row[key], "width": max(int(300 * row[key] / top), 1 if row[key] else 0)}
                for key, label in (("due", "waiting"), ("rejected", "rejected"), ("dead", "dead letters"))
            ],
        }
        for row in rows
    ]


def dashboard_figures(*, days: int = 14, sla_days: int = 3, entity_type: str | None = None) -> dict[str, Any]:
    """The steward dashboard's figures: open work by type and age against the SLA, the matcher's outcomes per
    day, the score histogram of recent decisions, the outbox backlog and publish exceptions per target; the
    steward work and the matcher's figures for one entity type when given."""
    now = timezone.now()
    of_type = {"entity_type": entity_type} if entity_type else {}
    ages = [
        ("under 1 day", 0, 1),
        (f"1-{sla_days} days", 1, sla_days),
        (f"over {sla_days} days (SLA missed)", sla_days, None),
    ]

    def by_age(queryset: QuerySet, field: str) -> list[dict[str, object]]:
        rows = []
        for label, low, high in ages:
            window = queryset.filter(**{f"{field}__lte": now - datetime.timedelta(days=low)})
            if high is not None:
                window = window.filter(**{f"{field}__gt": now - datetime.timedelta(days=high)})
            rows.append({"label": label, "count": window.count(), "late": high is None})
        return rows

    since = now - datetime.timedelta(days=days)
    outcomes = (
        MatchDecision.objects.filter(created_at__gte=since, **of_type)
        .annotate(day=TruncDate("created_at"))
        .values("day", "outcome")
        .annotate(n=Count("pk"))
        .order_by("day")
    )
    per_day: dict[object, dict[str, int]] = {}
    for row in outcomes:
        per_day.setdefault(row["day"], {})[row["outcome"]] = row["n"]
    histogram = [0] * 10
    bands = (
        MatchDecision.objects.filter(created_at__gte=since, probability__isnull=False, **of_type)
        .annotate(band=Least(Floor(F("probability") * 10), Value(9.0, output_field=FloatField())))
        .values("band")
        .annotate(n=Count("pk"))
    )
    for row in bands:  # counted in the database: at most ten rows come back, whatever the traffic
        histogram[int(row["band"])] += row["n"]
    pending = OutboxEvent.objects.filter(status=OutboxStatus.PENDING)
    oldest = pending.aggregate(oldest=Min("created_at"))["oldest"]
    return {
        "candidates": by_age(MatchCandidate.objects.filter(status=CandidateStatus.OPEN, **of_type), "created_at"),
        "changes": by_age(ChangeRequest.objects.filter(status=ChangeStatus.PENDING, **of_type), "requested_at"),
        "days": [{"day": day, **counts} for day, counts in sorted(per_day.items())],
        "histogram": [
            {"band": f"{n / 10:.1f}-{(n + 1) / 10:.1f}", "count": count} for n, count in enumerate(histogram)
        ],
        "outbox_pending": pending.count(),
        "publishing": _publishing_bars(backlog()["targets"]),
        "outbox_oldest_minutes": int((now - oldest).total_seconds() // 60) if oldest else None,
        "sla_days": sla_days,
    }
