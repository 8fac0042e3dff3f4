"""The audit trail, read from the history every tracked model keeps (simple-history, with actor, reason
and correlation ID): a golden record's timeline, and an export of every change in a date range.

Nothing here writes: the trail is made by the write paths themselves (bulk paths copy history rows in
the database, single saves through simple-history), so there is no second log to fall out of step.
"""

import csv
import dataclasses
import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, TextIO, cast

from django.db.models import Model

from governance.models import ApprovalPolicy, Assignment, ChangeRequest
from matching.models import MatchCandidate, MatchSettings
from mdm.masking import masked_change
from mdm.models import (
    CrossReference,
    Customer,
    GoldenOverride,
    GoldenRecord,
    HierarchyEdge,
    OwnershipRule,
    Product,
    SourceRecord,
    System,
)

# What the trail covers: golden records and their attributes, sources, cross-references, hierarchies,
# rules, candidates, steward overrides, change requests, policies and settings.
AUDITED: list[type[Model]] = [
    GoldenRecord,
    Customer,
    Product,
    SourceRecord,
    CrossReference,
    HierarchyEdge,
    OwnershipRule,
    GoldenOverride,
    MatchCandidate,
    MatchSettings,
    ChangeRequest,
    ApprovalPolicy,
    Assignment,
    System,
]
KINDS = {"+": "created", "~": "changed", "-": "deleted"}
SIDES = ("before", "after")
SKIPPED = {"updated_at", "created_at", "lineage", "payload", "standardised", "payload_hash"}
TIMELINE_ROWS = 500  # per model, on a golden record's timeline
COLUMNS = ["when", "what", "object", "golden_record", "change", "who", "why", "correlation_id", "changes"]


@dataclass
class AuditEntry:
    when: datetime.datetime
    what: str
    object_id: Any
    golden_id: int | None
    change: str
    who: str
    why: str
    correlation_id: str
    changes: list[dict[str, Any]]

    def masked(self) -> "AuditEntry":
        """The entry as a viewer sees it: tax IDs, national IDs, phones and emails (and flags quoting them) masked.

        Only changed fields carry values here (overrides and change requests are created, never edited in place).
        """
        changes = [
            {**change, **{side: masked_change(change["field"], change[side]) for side in SIDES}}
            for change in self.changes
        ]
        return dataclasses.replace(self, changes=changes)

    def row(self) -> list[Any]:
        described = "; ".join(f"{c['field']}: {c['before']!r} → {c['after']!r}" for c in self.changes)
        return [
            self.when.isoformat(),
            self.what,
            self.object_id,
            self.golden_id or "",
            self.change,
            self.who,
            self.why,
            self.correlation_id,
            described,
        ]


def _golden_of(row: Any) -> int | None:
    for name in ("golden_id", "child_id"):
        if hasattr(row, name):
            return getattr(row, name)
    return row.id if row.instance_type is GoldenRecord else None


def _entries(model: type[Model], rows: Any) -> Iterator[AuditEntry]:
    previous: dict[Any, Any] = {}
    pk_name = model._meta.pk.attname
    for row in rows:
        key = getattr(row, pk_name)
        changes: list[dict[str, Any]] = []
        before = previous.get(key)
        if before is None and row.history_type == "~":
            before = row.prev_record
        if before is not None:
            delta = row.diff_against(before, excluded_fields=[f for f in SKIPPED if hasattr(row, f)])
            changes = [{"field": c.field, "before": c.old, "after": c.new} for c in delta.changes]
        if len(previous) > 200_000:
            previous.clear()  # bounded memory on a large export; a miss costs one query (prev_record)
        previous[key] = row
        yield AuditEntry(
            when=row.history_date,
            what=str(model._meta.verbose_name),
            object_id=key,
            golden_id=_golden_of(row),
            change=KINDS.get(row.history_type, row.history_type),
            who=row.history_user.get_username() if row.history_user_id else "",
            why=row.history_change_reason or "",
            correlation_id=getattr(row, "correlation_id", "") or "",
            changes=changes,
        )


def masked_diff(changes: Any) -> Any:
    """A change request's diff ({attribute: {"before", "after"}}) as a viewer sees it."""
    if not isinstance(changes, dict):
        return changes
    return {
        name: {side: masked_change(name, diff.get(side)) for side in SIDES} if isinstance(diff, dict) else diff
        for name, diff in changes.items()
    }


def audit_trail(start: datetime.datetime, end: datetime.datetime) -> Iterator[AuditEntry]:
    """Every recorded change from `start` (inclusive) to `end` (exclusive), model by model, oldest first."""
    for model in AUDITED:
        rows = (
            cast(Any, model)
            .history.filter(history_date__gte=start, history_date__lt=end)
            .select_related("history_user")
            .order_by("history_date", "history_id")
        )
        yield from _entries(model, rows.iterator(chunk_size=2000))


def golden_timeline(golden: GoldenRecord) -> list[AuditEntry]:
    """One golden record's story, newest first: its identity, attributes, sources, links, overrides, requests."""
    related = [
        (GoldenRecord, {"id": golden.pk}),
        (Customer if golden.entity_type == "customer" else Product, {"golden_id": golden.pk}),
        (SourceRecord, {"golden_id": golden.pk}),
        (CrossReference, {"golden_id": golden.pk}),
        (GoldenOverride, {"golden_id": golden.pk}),
        (ChangeRequest, {"golden_id": golden.pk}),
        (MatchCandidate, {"golden_id": golden.pk}),
        (HierarchyEdge, {"child_id": golden.pk}),
    ]
    entries: list[AuditEntry] = []
    for model, where in related:
        # The newest rows of each model (the page shows newest first), read back oldest first for the diffs.
        rows = model.history.filter(**where).select_related("history_user").order_by("-history_date", "-history_id")
        entries.extend(_entries(model, reversed(rows[:TIMELINE_ROWS])))
    return sorted(entries, key=lambda entry: entry.when, reverse=True)


class _Echo:
    """A file-like object whose write returns the line, so that CSV can be produced line by line."""

    def write(self, value: str) -> str:
        return value


def csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """The trail as CSV lines, the header first (one change per line, fields changed with before → after)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for entry in entries:
        yield writer.writerow(entry.row())


def write_csv(entries: Iterable[AuditEntry], stream: IO[str] | TextIO | Any) -> int:
    """The trail as CSV into a file; returns the count of changes written."""
    count = -1  # the header is not a change
    for line in csv_lines(entries):
        stream.write(line)
        count += 1
    return count


def parse_range(start: str, end: str) -> tuple[datetime.datetime, datetime.datetime]:
    """A date range from two ISO dates (the end day included); ValueError("field: message") when wrong."""
    from django.utils import timezone

    days = []
    for name, raw in (("from", start), ("to", end)):
        try:
            days.append(datetime.date.fromisoformat(raw))
        except (TypeError, ValueError):
            raise ValueError(f"{name}: '{raw}' is not a date as YYYY-MM-DD") from None
    if days[1] < days[0]:
        raise ValueError("to: must not be before from")
    tz = timezone.get_current_timezone()
    first = datetime.datetime.combine(days[0], datetime.time.min, tzinfo=tz)
    after_last = datetime.datetime.combine(days[1] + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return first, after_last
