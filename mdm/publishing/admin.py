"""Publishing in the admin: targets (test connection, pause, resume, replay), mappings, the exception queue,
delivery runs and pull watermarks. Registered from mdm/admin.py."""

import json
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from mdm.models import (
    EXCEPTION_STATES,
    OPEN_STATES,
    Delivery,
    DeliveryRun,
    DeliveryState,
    FieldMapping,
    PullWatermark,
    Target,
)
from mdm.publishing.pulls import target_pulls
from mdm.publishing.services import (
    PublishingError,
    deliveries_replay,
    field_mapping_publish,
    target_pause,
    target_resume,
    target_test_connection,
)


class TargetForm(forms.ModelForm):
    """Credentials are write-only: the form shows which names are set, never their values."""

    base_url = forms.URLField(max_length=300, assume_scheme="https", help_text="e.g. https://acme.my.salesforce.com")
    new_credentials = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80, "autocomplete": "off"}),
        help_text='JSON, e.g. {"client_id": "…", "client_secret": "…"}. Leave empty to keep the stored ones.',
    )

    class Meta:
        model = Target
        fields = [
            "code",
            "name",
            "kind",
            "system",
            "base_url",
            "auth",
            "options",
            "ca_bundle",
            "entity_types",
            "subscription",
            "hierarchy",
            "is_active",
            "batch_size",
            "max_attempts",
            "pull_enabled",
        ]

    def clean_new_credentials(self) -> dict[str, str] | None:
        raw = self.cleaned_data.get("new_credentials", "").strip()
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from exc
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ValidationError("a JSON object of names to string values")
        return value


@admin.register(Target)
class TargetAdmin(SimpleHistoryAdmin):
    form = TargetForm
    list_display = ["code", "name", "kind", "base_url", "is_active", "state", "due", "exceptions"]
    list_filter = ["kind", "is_active"]
    readonly_fields = ["credential_names", "paused_until", "pause_reason", "consecutive_failures"]
    actions = ["test_connection", "pause_for_an_hour", "resume", "replay_exceptions", "pull_now"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Target]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                due_count=Count("deliveries", filter=Q(deliveries__state__in=OPEN_STATES)),
                exception_count=Count("deliveries", filter=Q(deliveries__state__in=EXCEPTION_STATES)),
            )
        )

    @admin.display(description="due")
    def due(self, obj: Target) -> int:
        return getattr(obj, "due_count", 0)

    @admin.display(description="exceptions")
    def exceptions(self, obj: Target) -> int:
        return getattr(obj, "exception_count", 0)

    @admin.display(description="state")
    def state(self, obj: Target) -> str:
        if obj.paused_until and obj.paused_until > timezone.now():
            return format_html("paused until {} — {}", f"{obj.paused_until:%H:%M:%S}", obj.pause_reason)
        return "running" if obj.is_active else "inactive"

    @admin.display(description="credentials set")
    def credential_names(self, obj: Target) -> str:
        try:
            return ", ".join(sorted(obj.credentials)) or "none"
        except Exception as exc:  # a lost key must show as a message on the page, not a 500
            return f"unreadable: {exc}"

    def save_model(self, request: HttpRequest, obj: Target, form: Any, change: bool) -> None:
        credentials = form.cleaned_data.get("new_credentials")
        if credentials is not None:
            obj.credentials = credentials
        super().save_model(request, obj, form, change)

    @admin.action(description="Test connection")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Target]) -> None:
        for target in queryset:
            problems = target_test_connection(target=target)
            if problems:
                self.message_user(request, f"{target.code}: " + " · ".join(problems), messages.ERROR)
            else:
                self.message_user(request, f"{target.code}: connection, credentials and fields are fine.")

    @admin.action(description="Pause for an hour")
    def pause_for_an_hour(self, request: HttpRequest, queryset: QuerySet[Target]) -> None:
        for target in queryset:
            target_pause(target=target, seconds=3600, reason=f"paused by {request.user}")
        self.message_user(request, f"Paused {queryset.count()} targets for an hour.")

    @admin.action(description="Resume now")
    def resume(self, request: HttpRequest, queryset: QuerySet[Target]) -> None:
        for target in queryset:
            target_resume(target=target)
        self.message_user(request, f"Resumed {queryset.count()} targets.")

    @admin.action(description="Replay rejected and dead-lettered records")
    def replay_exceptions(self, request: HttpRequest, queryset: QuerySet[Target]) -> None:
        total = sum(deliveries_replay(actor=cast(User, request.user), target=target) for target in queryset)
        self.message_user(request, f"Queued {total} records again.")

    @admin.action(description="Pull changes now")
    def pull_now(self, request: HttpRequest, queryset: QuerySet[Target]) -> None:
        for target in queryset:
            for entity_type, outcome in target_pulls(target):
                failed = isinstance(outcome, Exception)
                text = f"{target.code}/{entity_type}: {outcome}" if failed else str(outcome)
                self.message_user(request, text, messages.ERROR if failed else messages.INFO)


class FieldMappingForm(forms.ModelForm):
    class Meta:
        model = FieldMapping
        fields = ["target", "entity_type", "fields", "related", "inbound", "note"]


@admin.register(FieldMapping)
class FieldMappingAdmin(admin.ModelAdmin):
    """Mappings are versioned: saving makes a new version (the old one stays, for the record)."""

    form = FieldMappingForm
    list_display = ["target", "entity_type", "version", "note", "created_by", "created_at"]
    list_filter = ["target", "entity_type"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["target", "entity_type", "version", "created_by", "created_at"] if obj else []

    def save_model(self, request: HttpRequest, obj: FieldMapping, form: Any, change: bool) -> None:
        try:
            saved = field_mapping_publish(
                target=obj.target,
                entity_type=obj.entity_type,
                fields=obj.fields,
                related=obj.related,
                inbound=obj.inbound,
                actor=cast(User, request.user),
                note=obj.note,
            )
        except (ValidationError, PublishingError) as exc:
            self.message_user(request, f"Not saved: {exc}", messages.ERROR)
            return
        obj.pk, obj.version = saved.pk, saved.version
        self.message_user(request, f"Saved as version {saved.version}; its records are queued to republish.")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Every golden record at every target; filtered to rejected or dead, it is the exception queue."""

    list_display = [
        "golden",
        "target",
        "state",
        "delivered_version",
        "delivered_at",
        "target_record_id",
        "attempts",
        "error",
    ]
    list_filter = ["state", "target", "error_kind"]
    list_select_related = ["golden", "target"]
    search_fields = ["=golden__golden_id", "=target_record_id", "error_code"]
    show_full_result_count = False
    actions = ["replay"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    @admin.display(description="last error")
    def error(self, obj: Delivery) -> str:
        if not obj.error_kind:
            return ""
        fields = f" [{', '.join(obj.error_fields)}]" if obj.error_fields else ""
        return f"{obj.error_kind} {obj.error_code}{fields}: {obj.error_message[:160]}"

    @admin.action(description="Replay (send the current version again)")
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        by_target: dict[Any, list[str]] = {}
        for delivery in queryset.select_related("target", "golden"):
            by_target.setdefault(delivery.target, []).append(delivery.golden.golden_id)
        total = sum(
            deliveries_replay(
                actor=cast(User, request.user),
                target=target,
                golden_ids=ids,
                states=[*EXCEPTION_STATES, DeliveryState.SKIPPED],
                force=True,
            )
            for target, ids in by_target.items()
        )
        self.message_user(request, f"Queued {total} records again.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DeliveryRun)
class DeliveryRunAdmin(admin.ModelAdmin):
    list_display = [
        "target",
        "finished_at",
        "records",
        "delivered",
        "unchanged",
        "business",
        "technical",
        "outage",
        "dead",
        "latency_p50",
        "note",
    ]
    list_filter = ["target"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PullWatermark)
class PullWatermarkAdmin(admin.ModelAdmin):
    list_display = ["target", "entity_type", "watermark", "last_run_at", "last_result"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
