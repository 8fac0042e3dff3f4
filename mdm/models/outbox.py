"""The outbox: golden-record changes to publish, written in the same transaction as the change."""

from django.db import models

from mdm.models.golden import GoldenRecord


class OutboxEventType(models.TextChoices):
    UPSERTED = "upserted", "Golden record created or changed"
    MERGED = "merged", "Golden record merged into another"
    UNMERGED = "unmerged", "Golden record restored by an unmerge"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DISPATCHED = "dispatched", "Handed to the targets' deliveries"
    DELIVERED = "delivered", "Delivered"
    SUPERSEDED = "superseded", "Superseded by a newer version"


class OutboxEvent(models.Model):
    """ "Golden record X reached version N": the publisher delivers it to every subscribed target."""

    golden = models.ForeignKey(GoldenRecord, on_delete=models.PROTECT, related_name="outbox_events")
    golden_version = models.PositiveIntegerField()
    event_type = models.CharField(max_length=20, choices=OutboxEventType.choices, default=OutboxEventType.UPSERTED)
    changed_fields = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=12, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    correlation_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"]), models.Index(fields=["golden", "golden_version"])]

    def __str__(self) -> str:
        return f"{self.golden} v{self.golden_version} {self.event_type}"
