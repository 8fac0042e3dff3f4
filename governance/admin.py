"""Admin registrations of stewardship's data: the approval policy is edited here; the rest is read here and
changed only through the steward pages and API (governance/services.py)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from governance.models import ApprovalPolicy, Assignment, ChangeRequest
from mdm.models import GoldenOverride


class ReadOnly(SimpleHistoryAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(SimpleHistoryAdmin):
    list_display = ["entity_type", "edits", "manual_merges", "hierarchy_edits", "ownership_rules"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one per entity type, made by a migration

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnly):
    list_display = ["pk", "kind", "entity_type", "golden", "status", "needs_approval", "requested_by", "requested_at"]
    list_filter = ["kind", "entity_type", "status", "needs_approval"]
    list_select_related = ["golden", "requested_by"]
    search_fields = ["golden__golden_id", "attribute", "reason"]
    date_hierarchy = "requested_at"


@admin.register(GoldenOverride)
class GoldenOverrideAdmin(ReadOnly):
    list_display = ["golden", "attribute", "value", "set_by", "created_at", "cleared_at"]
    list_select_related = ["golden", "set_by"]
    search_fields = ["golden__golden_id", "attribute"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnly):
    list_display = ["candidate", "steward", "assigned_by", "assigned_at"]
    list_select_related = ["candidate", "steward", "assigned_by"]
