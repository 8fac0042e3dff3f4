"""The matcher in the admin: thresholds to edit, models to activate, decisions and candidates to read."""

import json
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from matching.models import MatchCandidate, MatchDecision, MatchModel, MatchSettings
from mdm.admin import ReadOnlyAdmin


def explanation_table(explanation: dict[str, Any]) -> str:
    """An explanation as a table: attribute, level, the two values compared, and the weight it added."""
    if not explanation:
        return "—"
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td style='text-align:right'>{}</td></tr>",
        (
            (row["label"], row["level"], row["left"] or "—", row["right"] or "—", f"{row['weight']:+.2f}")
            for row in explanation.get("attributes", [])
        ),
    )
    return format_html(
        "<table><tr><th>Attribute</th><th>Level</th><th>This record</th><th>Candidate</th><th>Weight</th></tr>"
        "{}<tr><td colspan=4>Prior</td><td style='text-align:right'>{}</td></tr>"
        "<tr><th colspan=4>Match weight (probability {})</th><th style='text-align:right'>{}</th></tr>"
        "</table>",
        rows,
        f"{explanation.get('prior_weight', 0.0):+.2f}",
        f"{explanation.get('probability', 0.0):.4f}",
        f"{explanation.get('match_weight', 0.0):+.2f}",
    )


@admin.register(MatchSettings)
class MatchSettingsAdmin(SimpleHistoryAdmin):
    list_display = ["entity_type", "review_threshold", "auto_link_threshold", "auto_link_margin", "max_block_size"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MatchModel)
class MatchModelAdmin(admin.ModelAdmin):
    list_display = ["entity_type", "version", "is_active", "source", "created_at", "created_by"]
    list_filter = ["entity_type", "is_active", "source"]
    readonly_fields = ["entity_type", "version", "source", "created_at", "created_by", "parameters_shown", "report"]
    exclude = ["parameters", "training_report", "is_active"]
    actions = ["activate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # models come from `manage.py train_matcher`

    @admin.display(description="Parameters")
    def parameters_shown(self, obj: MatchModel) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.parameters, indent=2))

    @admin.display(description="Training report")
    def report(self, obj: MatchModel) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.training_report, indent=2))

    @admin.action(description="Use this version for new decisions")
    def activate(self, request: HttpRequest, queryset: QuerySet[MatchModel]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one model version.", messages.ERROR)
            return
        model = queryset.get()
        with transaction.atomic():
            MatchModel.objects.filter(entity_type=model.entity_type, is_active=True).update(is_active=False)
            MatchModel.objects.filter(pk=model.pk).update(is_active=True)
        self.message_user(request, f"{model} is now used for new {model.entity_type} decisions.")


@admin.register(MatchDecision)
class MatchDecisionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "entity_type", "outcome", "probability", "golden", "source_record", "model_version"]
    list_filter = ["entity_type", "outcome", "model_version"]
    search_fields = ["=golden__golden_id", "=source_record__source_id", "=correlation_id"]
    list_select_related = ["golden", "source_record__system"]
    readonly_fields = ["explanation_shown"]
    exclude = ["explanation"]

    @admin.display(description="Explanation")
    def explanation_shown(self, obj: MatchDecision) -> str:
        return explanation_table(obj.explanation)


@admin.register(MatchCandidate)
class MatchCandidateAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "entity_type", "probability", "golden", "candidate", "status"]
    list_filter = ["entity_type", "status"]
    search_fields = ["=golden__golden_id", "=candidate__golden_id"]
    list_select_related = ["golden", "candidate"]
    readonly_fields = ["explanation_shown"]
    exclude = ["explanation"]

    @admin.display(description="Explanation")
    def explanation_shown(self, obj: MatchCandidate) -> str:
        return explanation_table(obj.explanation)
