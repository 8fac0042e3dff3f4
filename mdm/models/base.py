"""What every mastered model shares: timestamps and history with provenance (who, why, correlation ID)."""

from django.db import models
from simple_history.models import HistoricalRecords

from mdm.context import history_user


class HistoryProvenance(models.Model):
    """Extra columns on every history row: the correlation ID of the request or job that made the change."""

    correlation_id = models.CharField(max_length=64, blank=True, default="", db_index=True)

    class Meta:
        abstract = True


# simple-history copies every index of the tracked model onto its history table. History is read by
# object (`id`, or `golden` where that is the key), by golden record (the timeline), by hierarchy
# endpoint, by date, by user and by correlation ID; the other copies only slowed every write (ingest
# writes four history rows per new record), so they are dropped.
UNINDEXED_IN_HISTORY = [
    "created_at",
    "golden_id",
    "entity_type",
    "tax_id",
    "country",
    "sku",
    "gtin",
    "category",
    "system",
    "source_record",
    "code",
    "service_user",
    "prefix",
    "write_system",
    "created_by",
]


def tracked_history(**kwargs: object) -> HistoricalRecords:
    """History for a mastered model, attributed to the explicit actor and stamped with the correlation ID."""
    kwargs.setdefault("no_db_index", UNINDEXED_IN_HISTORY)
    return HistoricalRecords(bases=[HistoryProvenance], get_user=history_user, **kwargs)


class TimestampedModel(models.Model):
    """Created and updated timestamps."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class MasteredModel(TimestampedModel):
    """Base of every model the hub masters: timestamps plus full history with provenance."""

    history = tracked_history(inherit=True)

    class Meta:
        abstract = True
