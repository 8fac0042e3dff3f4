"""FilterSets of the steward's lists (review queue, change requests, merges), shared by the steward pages and the
steward API, and described in the OpenAPI schema from the same definitions (mdm.api.base.filter_parameters)."""

from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from governance.models import ChangeKind, ChangeRequest, ChangeStatus
from matching.models import CandidateStatus, MatchCandidate
from mdm.models import EntityType, GoldenMerge

# The queue's orders: best first (default), or oldest first.
ORDERINGS = {"-probability": ("-probability", "created_at"), "created_at": ("created_at", "-probability")}


class CandidateFilterSet(django_filters.FilterSet):
    """The review queue: open candidates (by default), best first."""

    status = django_filters.ChoiceFilter(
        choices=CandidateStatus.choices, help_text="open (default), merged, rejected, …"
    )
    entity_type = django_filters.ChoiceFilter(choices=EntityType.choices)
    min_probability = django_filters.NumberFilter(
        field_name="probability", lookup_expr="gte", min_value=0, max_value=1, help_text="between 0 and 1"
    )
    max_probability = django_filters.NumberFilter(
        field_name="probability", lookup_expr="lte", min_value=0, max_value=1, help_text="between 0 and 1"
    )
    system = django_filters.CharFilter(method="filter_system", help_text="a source system of either record")
    assigned_to = django_filters.CharFilter(method="filter_assigned_to", help_text="a username, `me` or `none`")
    ordering = django_filters.ChoiceFilter(
        choices=[(name, name) for name in ORDERINGS],
        method="filter_nothing",
        help_text="-probability (default, best first) or created_at (oldest first)",
    )

    class Meta:
        model = MatchCandidate
        fields: list[str] = []

    def filter_nothing(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset  # the ordering is applied in `qs`, after the filters

    def filter_system(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        either = Q(golden__source_records__system__code=value) | Q(candidate__source_records__system__code=value)
        return queryset.filter(either).distinct()

    def filter_assigned_to(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "none":
            return queryset.filter(assignment__isnull=True)
        steward = getattr(self.request, "user", None) if self.request is not None else None
        username = steward.get_username() if value == "me" and steward is not None else value
        return queryset.filter(assignment__steward__username=username)

    @property
    def qs(self) -> QuerySet:
        queryset = super().qs
        data = self.form.cleaned_data
        if not data.get("status"):
            queryset = queryset.filter(status=CandidateStatus.OPEN)
        ordering = ORDERINGS[data.get("ordering") or "-probability"]
        return queryset.select_related("golden", "candidate", "decided_by", "assignment__steward").order_by(
            *ordering, "pk"
        )


class ChangeRequestFilterSet(django_filters.FilterSet):
    """Change requests, newest first."""

    status = django_filters.ChoiceFilter(choices=ChangeStatus.choices)
    kind = django_filters.ChoiceFilter(choices=ChangeKind.choices)
    golden_id = django_filters.CharFilter(field_name="golden__golden_id", help_text="the golden record changed")

    class Meta:
        model = ChangeRequest
        fields: list[str] = []


class MergeFilterSet(django_filters.FilterSet):
    """Merges, newest first."""

    golden_id = django_filters.CharFilter(method="filter_golden_id", help_text="a golden record that took part")

    class Meta:
        model = GoldenMerge
        fields: list[str] = []

    def filter_golden_id(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(survivor__golden_id=value) | Q(merged__golden_id=value))
