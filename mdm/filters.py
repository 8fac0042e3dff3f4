"""FilterSets for golden records, shared by the API lists (and the admin's filters), and `filtered`, which runs any
FilterSet the same way for the API and the pages."""

from collections.abc import Mapping
from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from mdm.models import Customer, CustomerKind, CustomerStatus, GoldenStatus, Product, ProductStatus


class GoldenFilterMixin(django_filters.FilterSet):
    """Filters every golden entity has."""

    record_status = django_filters.ChoiceFilter(
        field_name="golden__status", choices=GoldenStatus.choices, help_text="active (default) or retired"
    )
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="lt")
    source_system = django_filters.CharFilter(
        method="filter_source_system", help_text="has a source record from this system"
    )
    flagged = django_filters.BooleanFilter(method="filter_flagged", help_text="has quality flags")

    def filter_source_system(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(golden__source_records__system__code=value).distinct()

    def filter_flagged(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.exclude(quality_flags=[]) if value else queryset.filter(quality_flags=[])

    @property
    def qs(self) -> QuerySet:
        queryset = super().qs
        if not self.form.cleaned_data.get("record_status"):
            queryset = queryset.filter(golden__status=GoldenStatus.ACTIVE)
        return queryset


class CustomerFilterSet(GoldenFilterMixin):
    """Filters and search for golden customers."""

    kind = django_filters.ChoiceFilter(choices=CustomerKind.choices)
    status = django_filters.ChoiceFilter(choices=CustomerStatus.choices)
    country = django_filters.CharFilter(lookup_expr="iexact")
    industry = django_filters.CharFilter(lookup_expr="iexact")
    tax_id = django_filters.CharFilter(method="filter_tax_id")
    search = django_filters.CharFilter(
        method="filter_search", help_text="name, golden ID, tax ID, email, phone or website"
    )

    class Meta:
        model = Customer
        fields = ["kind", "status", "country", "industry"]

    def filter_tax_id(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(tax_id="".join(value.upper().split()))

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(
            Q(legal_name__icontains=value)
            | Q(trade_name__icontains=value)
            | Q(golden__golden_id=value.upper())
            | Q(tax_id=value.upper().replace(" ", ""))
            | Q(email=value.lower())
            | Q(phone=value.replace(" ", ""))
            | Q(website=value.lower())
        )


class ProductFilterSet(GoldenFilterMixin):
    """Filters and search for golden products."""

    status = django_filters.ChoiceFilter(choices=ProductStatus.choices)
    category = django_filters.CharFilter(lookup_expr="iexact")
    sku = django_filters.CharFilter(lookup_expr="iexact")
    gtin = django_filters.CharFilter(method="filter_gtin")
    currency = django_filters.CharFilter(lookup_expr="iexact")
    search = django_filters.CharFilter(method="filter_search", help_text="name, golden ID, SKU or GTIN")

    class Meta:
        model = Product
        fields = ["status", "category", "sku", "currency"]

    def filter_gtin(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(gtin=value.strip().zfill(14))

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(
            Q(name__icontains=value)
            | Q(golden__golden_id=value.upper())
            | Q(sku__iexact=value)
            | Q(gtin=value.zfill(14))
        )


def filtered(
    filterset: type[django_filters.FilterSet], params: Mapping[str, Any], queryset: QuerySet, **kwargs: Any
) -> Any:
    """The queryset through a FilterSet; raises ValueError("field: message") on the first bad filter, in the words the
    API has always used ("one of …", "'x' is not a number", "must be between 0 and 1")."""
    found = filterset(data=params, queryset=queryset, **kwargs)
    if not found.is_valid():
        field, errors = next(iter(found.form.errors.as_data().items()))
        error = errors[0]
        form_field = found.form.fields[field]
        if error.code == "invalid_choice":
            message = f"one of {', '.join(str(value) for value, _ in form_field.choices if value)}"
        elif error.code == "invalid":
            message = f"'{params.get(field)}' is not a number"
        elif error.code in ("min_value", "max_value"):
            message = f"must be between {form_field.min_value} and {form_field.max_value}"
        else:
            message = " ".join(error.messages)
        raise ValueError(f"{field}: {message}")
    return found.qs
