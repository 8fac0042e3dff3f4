"""Stewardship's own data: the hub's steward permissions and review-queue assignments."""

from django.conf import settings
from django.db import models

from matching.models import MatchCandidate
from mdm.models.base import tracked_history


class Stewardship(models.Model):
    """No table: the steward permissions the roles (groups, made by a migration) are built from.

    Django attaches permissions to a model; these belong to no one model, so they live here.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("steward_customer", "Can review, merge, unmerge and edit customer records"),
            ("steward_product", "Can review, merge, unmerge and edit product records"),
            ("approve_changes", "Can approve or reject another steward's change request"),
            ("view_unmasked", "Can see tax IDs, emails and phone numbers in full"),
        ]

    def __str__(self) -> str:
        return "stewardship permissions"


class Assignment(models.Model):
    """Who works on an open review candidate (one steward at a time)."""

    candidate = models.OneToOneField(MatchCandidate, on_delete=models.CASCADE, related_name="assignment")
    steward = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField(auto_now=True)
    history = tracked_history()

    class Meta:
        indexes = [models.Index(fields=["steward", "assigned_at"])]

    def __str__(self) -> str:
        return f"{self.candidate_id} → {self.steward}"
