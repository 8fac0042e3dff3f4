"""The steward UI over the store: golden records with sources, lineage and history; rules; keys; hierarchies."""

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from mdm.hierarchies import hierarchy_edge_save
from mdm.models import (
    ApiKey,
    CrossReference,
    Customer,
    HierarchyEdge,
    HierarchyType,
    OutboxEvent,
    OwnershipRule,
    Product,
    SourceRecord,
    System,
)
from mdm.publishing import admin as publishing_admin  # noqa: F401 (registers targets, deliveries, runs)
from mdm.services import api_key_create, ownership_rule_save

admin.site.site_header = "MDM hub"
admin.site.site_title = "MDM hub"
admin.site.index_title = "Golden records and stewardship"


class ReadOnlyAdmin(SimpleHistoryAdmin):
    """Records only the hub's services write: visible and searchable, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _sources_table(entity: Customer | Product) -> str:
    records = entity.golden.source_records.select_related("system").order_by("system__code", "source_id")
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                record.system.code,
                record.source_id,
                record.source_updated_at or "—",
                record.updated_at,
                ", ".join(issue["message"] for issue in record.issues) or "—",
            )
            for record in records
        ),
    )
    return format_html(
        "<table><thead><tr><th>System</th><th>Source ID</th><th>Source updated</th><th>Received</th>"
        "<th>Issues</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


def _lineage_table(entity: Customer | Product) -> str:
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                name,
                entry.get("rule", ""),
                f"{entry.get('system', '')}/{entry.get('source_id', '')}"
                if entry.get("system")
                else "steward override",
                entry.get("source_updated_at", ""),
            )
            for name, entry in sorted(entity.lineage.items())
        ),
    )
    return format_html(
        "<table><thead><tr><th>Attribute</th><th>Rule</th><th>Supplied by</th><th>Source updated</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        rows,
    )


class GoldenEntityAdmin(ReadOnlyAdmin):
    """A golden entity's page: identity, values, sources, lineage, and (via History) every change."""

    list_select_related = ["golden"]
    show_full_result_count = False

    @admin.display(description="Golden ID", ordering="golden__golden_id")
    def golden_id(self, obj: Customer | Product) -> str:
        return obj.golden.golden_id

    @admin.display(description="Version")
    def version(self, obj: Customer | Product) -> int:
        return obj.golden.version

    @admin.display(description="Record status")
    def record_status(self, obj: Customer | Product) -> str:
        return obj.golden.get_status_display()

    @admin.display(description="Source records")
    def sources(self, obj: Customer | Product) -> str:
        return _sources_table(obj)

    @admin.display(description="Lineage")
    def lineage_table(self, obj: Customer | Product) -> str:
        return _lineage_table(obj)


@admin.register(Customer)
class CustomerAdmin(GoldenEntityAdmin):
    list_display = ["golden_id", "legal_name", "trade_name", "kind", "country", "tax_id", "status", "updated_at"]
    list_filter = ["kind", "status", "country", "golden__status"]
    search_fields = ["=golden__golden_id", "legal_name", "trade_name", "=tax_id", "=email", "=website"]
    readonly_fields = ["golden_id", "version", "record_status", "sources", "lineage_table"]
    fieldsets = [
        ("Identity", {"fields": ["golden_id", "version", "record_status", "kind", "status"]}),
        ("Names", {"fields": ["legal_name", "legal_name_core", "legal_form", "trade_name", "first_name", "last_name"]}),
        ("Person", {"fields": ["date_of_birth", "national_id"], "classes": ["collapse"]}),
        ("Tax", {"fields": ["tax_id", "tax_country", "tax_ids"]}),
        ("Addresses", {"fields": ["legal_address", "billing_address", "shipping_address"]}),
        ("Contact", {"fields": ["phones", "emails", "website", "industry", "payment_terms"]}),
        ("Quality", {"fields": ["quality_flags"]}),
        ("Sources", {"fields": ["sources"]}),
        ("Lineage", {"fields": ["lineage_table"]}),
    ]


@admin.register(Product)
class ProductAdmin(GoldenEntityAdmin):
    list_display = ["golden_id", "name", "sku", "gtin", "category", "status", "list_price", "currency", "updated_at"]
    list_filter = ["status", "category", "currency", "golden__status"]
    search_fields = ["=golden__golden_id", "name", "=sku", "=gtin"]
    readonly_fields = ["golden_id", "version", "record_status", "sources", "lineage_table"]
    fieldsets = [
        ("Identity", {"fields": ["golden_id", "version", "record_status", "status"]}),
        ("Product", {"fields": ["sku", "gtin", "name", "description", "unit_of_measure", "category"]}),
        ("Price", {"fields": ["list_price", "currency"]}),
        ("Quality", {"fields": ["quality_flags"]}),
        ("Sources", {"fields": ["sources"]}),
        ("Lineage", {"fields": ["lineage_table"]}),
    ]


@admin.register(SourceRecord)
class SourceRecordAdmin(ReadOnlyAdmin):
    list_display = ["source_id", "system", "entity_type", "golden", "source_updated_at", "updated_at"]
    list_filter = ["system", "entity_type"]
    list_select_related = ["system", "golden"]
    search_fields = ["=source_id", "=golden__golden_id"]
    show_full_result_count = False


@admin.register(CrossReference)
class CrossReferenceAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "system", "entity_type", "kind", "golden"]
    list_filter = ["system", "entity_type", "kind"]
    list_select_related = ["system", "golden"]
    search_fields = ["=external_id", "=golden__golden_id"]
    show_full_result_count = False


@admin.register(HierarchyType)
class HierarchyTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "entity_type"]


@admin.register(HierarchyEdge)
class HierarchyEdgeAdmin(SimpleHistoryAdmin):
    list_display = ["hierarchy", "parent", "child", "valid_from", "valid_to", "origin"]
    list_filter = ["hierarchy", "origin"]
    list_select_related = ["hierarchy", "parent", "child"]
    search_fields = ["=parent__golden_id", "=child__golden_id"]
    raw_id_fields = ["parent", "child"]

    def save_model(self, request: HttpRequest, obj: HierarchyEdge, form: Any, change: bool) -> None:
        hierarchy_edge_save(edge=obj, actor=cast(User, request.user), reason="edited in the admin")


@admin.register(OwnershipRule)
class OwnershipRuleAdmin(SimpleHistoryAdmin):
    list_display = ["entity_type", "attribute", "owners", "fallback", "updated_at"]
    list_filter = ["entity_type", "fallback"]

    @admin.display(description="Owning systems (priority order)")
    def owners(self, obj: OwnershipRule) -> str:
        return " > ".join(obj.systems) or "—"

    def save_model(self, request: HttpRequest, obj: OwnershipRule, form: Any, change: bool) -> None:
        plan = ownership_rule_save(rule=obj, actor=cast(User, request.user), reason="changed in the admin")
        if plan.inline:
            self.message_user(
                request, f"Recomputed {plan.affected} golden {plan.entity_type} records; {plan.changed} changed."
            )
        else:
            self.message_user(
                request,
                f"{plan.affected} golden {plan.entity_type} records will be recomputed in the background.",
                messages.INFO,
            )


@admin.register(System)
class SystemAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "kind", "is_active"]
    readonly_fields = ["service_user"]


@admin.register(ApiKey)
class ApiKeyAdmin(SimpleHistoryAdmin):
    list_display = ["name", "prefix", "scope_label", "rate", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["can_read", "write_system"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at"]
    fields = [
        "name",
        "can_read",
        "write_system",
        "rate",
        "expires_at",
        "revoked_at",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
    ]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, secret = api_key_create(
            name=obj.name,
            created_by=cast(User, request.user),
            can_read=obj.can_read,
            write_system=obj.write_system,
            rate=obj.rate,
            expires_at=obj.expires_at,
        )
        obj.pk = key.pk
        self.message_user(request, f"API key created. Copy it now; it is not shown again: {secret}", messages.WARNING)

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        from django.utils import timezone

        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
        self.message_user(request, f"Revoked {len(keys)} keys.")


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ["golden", "golden_version", "event_type", "status", "created_at", "correlation_id"]
    list_filter = ["status", "event_type"]
    list_select_related = ["golden"]
    search_fields = ["=golden__golden_id", "=correlation_id"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
