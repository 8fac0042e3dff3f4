"""Matching's tables: the indexed blocking keys that find candidate golden records in a few lookups."""

from django.db import models

from mdm.models import EntityType, GoldenRecord, SourceRecord


class BlockingKey(models.Model):
    """One key of one source record ("tax:DE:DE136695976"), pointing at the golden record it belongs to.

    Keys are derived data: rebuilt from the standardised source record whenever it changes, so they
    carry no history of their own.
    """

    source_record = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="blocking_keys")
    golden = models.ForeignKey(GoldenRecord, on_delete=models.CASCADE, related_name="blocking_keys")
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    key = models.CharField(max_length=160)

    class Meta:
        indexes = [models.Index(fields=["entity_type", "key"])]

    def __str__(self) -> str:
        return self.key
