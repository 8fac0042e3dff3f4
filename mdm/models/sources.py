"""Source records as the systems hold them, and cross-references between golden IDs and system IDs."""

from django.db import models

from mdm.models.base import MasteredModel
from mdm.models.golden import EntityType, GoldenRecord
from mdm.models.systems import System


class SourceRecord(MasteredModel):
    """One record as a source system holds it; (system, entity type, source_id) is its identity.

    Never edited by hand: only ingest writes it. `payload` is what the system sent; `standardised`
    holds the same record in the hub's canonical form, keyed by golden attribute names.
    """

    # No index of its own: the unique key below leads with system.
    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="source_records", db_index=False)
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    source_id = models.CharField(max_length=255)
    contract_version = models.PositiveSmallIntegerField(default=1)
    source_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="The source's own last-modified time; older arrivals are ignored."
    )
    payload = models.JSONField(help_text="The record exactly as the system sent it.")
    standardised = models.JSONField(help_text="The record in the hub's canonical form.")
    payload_hash = models.CharField(max_length=64)
    issues = models.JSONField(default=list, blank=True, help_text="Values kept but flagged (e.g. an invalid tax ID).")
    parent_source_id = models.CharField(
        max_length=255, blank=True, default="", help_text="The source's own ID of this record's parent, if any."
    )
    golden = models.ForeignKey(GoldenRecord, on_delete=models.PROTECT, related_name="source_records")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "entity_type", "source_id"], name="uniq_source_record_key")
        ]
        # Children awaiting a parent are found by parent_source_id. It leads this index so that the unique
        # key above stays the only index matching a lookup by (system, entity_type, source_id): with
        # stale statistics (a bulk load before autovacuum's next analyze) PostgreSQL otherwise picked this
        # one for that lookup and filtered every row of the system, 85 ms per ingest batch at 100,000 rows.
        indexes = [models.Index(fields=["parent_source_id", "system", "entity_type"], name="sourcerecord_parent_idx")]

    def __str__(self) -> str:
        return f"{self.system.code}/{self.entity_type}/{self.source_id}"


class XrefKind(models.TextChoices):
    SOURCE = "source", "Source (the system sent us this record)"
    TARGET = "target", "Target (we published to the system and it gave us this ID)"


class CrossReference(MasteredModel):
    """A golden ID ↔ (system, ID) pair: how other systems' keys resolve to golden records."""

    golden = models.ForeignKey(GoldenRecord, on_delete=models.PROTECT, related_name="xrefs")
    # No index of its own: the unique key below leads with system.
    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="xrefs", db_index=False)
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    external_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=10, choices=XrefKind.choices, default=XrefKind.SOURCE)
    source_record = models.OneToOneField(
        SourceRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="xref"
    )

    class Meta:
        verbose_name = "cross-reference"
        constraints = [
            models.UniqueConstraint(fields=["system", "entity_type", "external_id", "kind"], name="uniq_xref_key")
        ]

    def __str__(self) -> str:
        return f"{self.system.code}/{self.entity_type}/{self.external_id} → {self.golden.golden_id}"
