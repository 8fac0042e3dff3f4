"""Serializers of the REST API v1: golden records, resolution, ingest envelopes, hierarchies, history."""

from typing import Any, cast

from django.conf import settings
from rest_framework import serializers
from rest_framework.fields import empty

from mdm.api.permissions import sees_unmasked
from mdm.contracts.fields import StrictListField, Text
from mdm.masking import masked_change, masked_record
from mdm.models import Customer, EntityType, HierarchyEdge, Product, SourceRecord
from mdm.selectors import history_diff


def masks_for(context: dict[str, Any]) -> bool:
    """Whether the caller in a serializer's context sees personal and tax data masked (no request: internal use)."""
    request = context.get("request")
    return request is not None and not sees_unmasked(request)


class SourceRecordSummarySerializer(serializers.ModelSerializer):
    """A source record as listed on its golden record."""

    system = serializers.CharField(source="system.code")

    class Meta:
        model = SourceRecord
        fields = ["system", "source_id", "contract_version", "source_updated_at", "created_at", "updated_at", "issues"]


class GoldenIdentityMixin(serializers.Serializer):
    """The identity part every golden entity shares."""

    golden_id = serializers.CharField(source="golden.golden_id")
    version = serializers.IntegerField(source="golden.version")
    record_status = serializers.CharField(source="golden.status")
    created_at = serializers.DateTimeField(source="golden.created_at")
    updated_at = serializers.DateTimeField()


class MaskedForViewersMixin(serializers.Serializer):
    """Tax IDs, national IDs, phones and emails masked for a caller who may not see them in full."""

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        return masked_record(data) if masks_for(self.context) else data


class CustomerSerializer(MaskedForViewersMixin, GoldenIdentityMixin, serializers.ModelSerializer):
    """A golden customer (masked for viewers)."""

    class Meta:
        model = Customer
        fields = [
            "golden_id",
            "version",
            "record_status",
            "kind",
            "legal_name",
            "legal_name_core",
            "legal_form",
            "trade_name",
            "first_name",
            "last_name",
            "date_of_birth",
            "national_id",
            "tax_id",
            "tax_country",
            "tax_ids",
            "legal_address",
            "billing_address",
            "shipping_address",
            "country",
            "city",
            "postcode",
            "phone",
            "phones",
            "email",
            "emails",
            "website",
            "industry",
            "status",
            "payment_terms",
            "quality_flags",
            "created_at",
            "updated_at",
        ]


class ProductSerializer(GoldenIdentityMixin, serializers.ModelSerializer):
    """A golden product."""

    list_price = serializers.DecimalField(max_digits=14, decimal_places=4, coerce_to_string=True, allow_null=True)

    class Meta:
        model = Product
        fields = [
            "golden_id",
            "version",
            "record_status",
            "sku",
            "gtin",
            "name",
            "description",
            "unit_of_measure",
            "category",
            "status",
            "list_price",
            "currency",
            "quality_flags",
            "created_at",
            "updated_at",
        ]


class GoldenDetailMixin(serializers.Serializer):
    """Detail adds the sources and the lineage of every attribute."""

    sources = serializers.SerializerMethodField()
    lineage = serializers.JSONField()

    def get_sources(self, entity: Customer | Product) -> Any:
        records = entity.golden.source_records.all()
        return SourceRecordSummarySerializer(records, many=True).data


class CustomerDetailSerializer(GoldenDetailMixin, CustomerSerializer):
    """A golden customer with its sources and lineage."""

    class Meta(CustomerSerializer.Meta):
        fields = [*CustomerSerializer.Meta.fields, "sources", "lineage"]


class ProductDetailSerializer(GoldenDetailMixin, ProductSerializer):
    """A golden product with its sources and lineage."""

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "sources", "lineage"]


class SourceKeySerializer(serializers.Serializer):
    """A record's identity in its system."""

    system = Text(required=True, allow_blank=False, max_length=40)
    entity_type = serializers.ChoiceField(choices=EntityType.choices)
    source_id = Text(required=True, allow_blank=False, max_length=255)

    def run_validation(self, data: Any = empty) -> Any:
        # A 1,000-key resolve validates 1,000 of these: a well-formed key (three strings, nothing else) is checked
        # directly by the fields' own fast paths; anything else, and every failure, takes DRF's path and its errors.
        if type(data) is dict and len(data) == 3 and data.get("entity_type") in _ENTITY_TYPES:
            system, source_id = data.get("system"), data.get("source_id")
            if type(system) is str and type(source_id) is str:
                try:
                    return {
                        "system": self.fields["system"].run_validation(system),
                        "entity_type": data["entity_type"],
                        "source_id": self.fields["source_id"].run_validation(source_id),
                    }
                except serializers.ValidationError:
                    pass
        return super().run_validation(data)


_ENTITY_TYPES = frozenset(EntityType.values)


class ResolveBatchSerializer(serializers.Serializer):
    """Up to the configured number of keys in one call."""

    keys = StrictListField(child=SourceKeySerializer(), allow_empty=False)

    def __init__(self, *args: Any, max_keys: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        max_keys = max_keys or settings.MDM_RESOLVE_MAX_BATCH
        keys = cast(serializers.ListField, self.fields["keys"])
        keys.max_length = max_keys
        keys.validators.append(_max_items(max_keys))


def _max_items(limit: int) -> Any:
    def check(value: list[Any]) -> None:
        if len(value) > limit:
            raise serializers.ValidationError(f"at most {limit} keys per call; got {len(value)}")

    return check


class ResolutionSerializer(serializers.Serializer):
    """Where a source key points."""

    system = serializers.CharField()
    entity_type = serializers.CharField()
    source_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["active", "merged", "not_found"])
    golden_id = serializers.CharField(allow_null=True)
    merged_into = serializers.CharField(required=False)


class IngestEnvelopeSerializer(serializers.Serializer):
    """Who is sending what: the system and entity type of the records."""

    system = Text(required=True, allow_blank=False, max_length=40)
    entity_type = serializers.ChoiceField(choices=EntityType.choices)


class IngestOneSerializer(IngestEnvelopeSerializer):
    """One source record."""

    record = serializers.JSONField(help_text="The record, per the entity's data contract.")


class IngestBatchSerializer(IngestEnvelopeSerializer):
    """A batch of source records."""

    records = serializers.JSONField(help_text="A JSON array of records, per the entity's data contract.")


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField()
    message = serializers.CharField()


class RecordOutcomeSerializer(serializers.Serializer):
    """What happened to one record."""

    index = serializers.IntegerField()
    source_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "rejected"])
    golden_id = serializers.CharField(required=False)
    errors = FieldErrorSerializer(many=True, required=False)  # type: ignore[assignment]  # a declared field
    issues = serializers.ListField(child=serializers.DictField(), required=False)
    link = serializers.CharField(required=False)


class IngestResultSerializer(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField())
    outcomes = RecordOutcomeSerializer(many=True)


class HierarchyEdgeSerializer(serializers.ModelSerializer):
    """One parent→child edge."""

    hierarchy = serializers.CharField(source="hierarchy.code")
    parent = serializers.CharField(source="parent.golden_id")  # type: ignore[assignment]  # a declared field
    child = serializers.CharField(source="child.golden_id")

    class Meta:
        model = HierarchyEdge
        fields = ["hierarchy", "parent", "child", "valid_from", "valid_to", "origin"]


class HierarchyNodeSerializer(HierarchyEdgeSerializer):
    """An edge seen from a starting record, with its distance from it."""

    depth = serializers.IntegerField()

    class Meta(HierarchyEdgeSerializer.Meta):
        fields = [*HierarchyEdgeSerializer.Meta.fields, "depth"]


class HistoryEntrySerializer(serializers.Serializer):
    """One change of a golden record."""

    history_id = serializers.IntegerField()
    history_date = serializers.DateTimeField()
    history_type = serializers.CharField(source="get_history_type_display")
    user = serializers.SerializerMethodField()
    reason = serializers.CharField(source="history_change_reason", allow_null=True)
    correlation_id = serializers.CharField()
    changes = serializers.SerializerMethodField()

    def get_user(self, row: Any) -> str | None:
        return row.history_user.get_username() if row.history_user else None

    def get_changes(self, row: Any) -> list[dict[str, Any]]:
        changes = history_diff(row)
        if masks_for(self.context):
            for change in changes:
                change["old"] = masked_change(change["field"], change["old"])
                change["new"] = masked_change(change["field"], change["new"])
        return changes


class HierarchyTypeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    entity_type = serializers.CharField()


class SystemSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    is_active = serializers.BooleanField()


class HierarchyRelationSerializer(serializers.Serializer):
    golden_id = serializers.CharField()
    hierarchy = serializers.CharField()
    as_of = serializers.DateField()
    relation = serializers.CharField()
    results = HierarchyNodeSerializer(many=True)


class ResolveBatchResultSerializer(serializers.Serializer):
    results = ResolutionSerializer(many=True)


class HistorySerializer(serializers.Serializer):
    results = HistoryEntrySerializer(many=True)
    truncated = serializers.BooleanField()
