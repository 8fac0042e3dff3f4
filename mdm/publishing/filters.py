"""The deliveries list's filters (the exception queue is `?state=rejected&state=dead`), for the API and its schema."""

import django_filters

from mdm.models import Delivery, DeliveryState


class DeliveryFilterSet(django_filters.FilterSet):
    """Deliveries by state, target, kind of error and golden record."""

    state = django_filters.MultipleChoiceFilter(
        choices=DeliveryState.choices, help_text="one or more; rejected and dead: the exception queue"
    )
    target = django_filters.CharFilter(field_name="target__code", help_text="the target's code")
    error_kind = django_filters.CharFilter(help_text="business, technical or outage")
    golden_id = django_filters.CharFilter(field_name="golden__golden_id")

    class Meta:
        model = Delivery
        fields: list[str] = []
