"""Merges of golden records: what moved from the merged-away record to its survivor, so it can be undone."""

from django.conf import settings
from django.db import models

from mdm.models.golden import GoldenRecord


class GoldenMerge(models.Model):
    """One merge: `merged` was retired into `survivor`, taking these source records and cross-references.

    The row is the record an unmerge reverses: exactly these source records and cross-references go
    back, and the retired golden ID comes back to life.
    """

    survivor = models.ForeignKey(GoldenRecord, on_delete=models.PROTECT, related_name="merges_survived")
    merged = models.ForeignKey(GoldenRecord, on_delete=models.PROTECT, related_name="merges_retired")
    source_record_ids = models.JSONField(default=list, help_text="Source records moved to the survivor.")
    xref_ids = models.JSONField(default=list, help_text="Cross-references moved to the survivor.")
    probability = models.FloatField(null=True, blank=True, help_text="The match probability, for automatic merges.")
    explanation = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=255, blank=True, default="")
    correlation_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    moved_edges = models.JSONField(
        default=list,
        blank=True,
        help_text="Hierarchy edges re-pointed to the survivor: [{edge, end}], end parent/child.",
    )
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undo_reason = models.CharField(max_length=255, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"
