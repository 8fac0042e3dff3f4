"""Steward overrides: a golden attribute's value set by a person, winning survivorship until cleared."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from mdm.models.base import MasteredModel
from mdm.models.golden import GoldenRecord


class GoldenOverride(MasteredModel):
    """One attribute of one golden record, set by a steward (directly, or by an approved change request)."""

    golden = models.ForeignKey(GoldenRecord, on_delete=models.CASCADE, related_name="overrides")
    attribute = models.CharField(max_length=60)
    value = models.JSONField(null=True, blank=True, help_text="The standardised value the golden record shows.")
    reason = models.CharField(max_length=255)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    cleared_at = models.DateTimeField(null=True, blank=True, help_text="Set when survivorship decides again.")

    class Meta:
        verbose_name = "steward override"
        constraints = [
            models.UniqueConstraint(
                fields=["golden", "attribute"], condition=Q(cleared_at__isnull=True), name="one_live_override"
            )
        ]

    def __str__(self) -> str:
        return f"{self.golden_id}.{self.attribute}"
