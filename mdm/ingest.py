"""The write path: `ingest` is the one way source records enter the hub.

The REST API, file imports and the inbound pulls all call it. Per batch, in one transaction:
validate against the versioned contract, upsert source records by (system, entity type, source_id)
(an older or identical version is a no-op), standardise, link to golden records, recompute the
golden values by survivorship, and write outbox events, all in bulk so history is kept without a
round trip per record.
"""

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from matching.engine import (
    LinkDecision,
    blocking_keys_replace,
    deferred_decisions,
    match_new_records,
    match_profiles_replace,
)
from matching.features import blocking_keys, features
from matching.models import MatchOutcome
from matching.recording import match_decisions_record
from mdm.canonical import payload_hash, standardise
from mdm.context import acting
from mdm.contracts import FieldError, validate_record
from mdm.golden import golden_records_recompute, load_rules
from mdm.golden_ids import new_golden_id
from mdm.hierarchies import hierarchy_links_from_sources
from mdm.history import bulk_create_tracked, bulk_update_tracked
from mdm.models import CrossReference, EntityType, GoldenRecord, GoldenStatus, SourceRecord, System, XrefKind
from mdm.survivorship import SourceView

logger = logging.getLogger(__name__)

CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"
_ATTEMPTS = 4


class IngestError(Exception):
    """The call as a whole is wrong (unknown entity type, batch too large): nothing is written."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class RecordOutcome:
    """What happened to one record of a batch."""

    index: int
    source_id: str | None
    status: str
    golden_id: str | None = None
    errors: list[FieldError] = field(default_factory=list)
    issues: list[dict[str, str]] = field(default_factory=list)
    link: str = ""
    match: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "source_id": self.source_id, "status": self.status}
        if self.golden_id:
            data["golden_id"] = self.golden_id
        if self.errors:
            data["errors"] = [error.as_dict() for error in self.errors]
        if self.issues:
            data["issues"] = self.issues
        if self.link:
            data["link"] = self.link
        if self.match:
            data["match"] = self.match
        return data


@dataclass
class IngestResult:
    """The outcome of every record of one ingest call, in input order."""

    outcomes: list[RecordOutcome]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys((CREATED, UPDATED, UNCHANGED, REJECTED), 0)
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        return counts


@dataclass
class _Prepared:
    """A record that passed its contract, in canonical form."""

    index: int
    source_id: str
    raw: dict[str, Any]
    contract_version: int
    updated_at: Any
    parent_source_id: str
    standardised: dict[str, Any]
    issues: list[dict[str, str]]
    keys: list[str]
    hash: str


def _prepare(entity_type: str, index: int, raw: Any) -> _Prepared | RecordOutcome:
    data, version, errors = validate_record(entity_type, raw)
    source_id = raw.get("source_id") if isinstance(raw, dict) and isinstance(raw.get("source_id"), str) else None
    if data is None:
        return RecordOutcome(index, source_id, REJECTED, errors=errors)
    canonical = standardise(entity_type, data)
    if canonical.errors:
        return RecordOutcome(index, data["source_id"], REJECTED, errors=canonical.errors)
    return _Prepared(
        index=index,
        source_id=data["source_id"],
        raw=raw,
        contract_version=version,
        updated_at=data.get("updated_at"),
        parent_source_id=data.get("parent_source_id") or "",
        standardised=canonical.values,
        issues=canonical.issues,
        keys=canonical.keys,
        hash=payload_hash(raw),
    )


def _waves(prepared: list[_Prepared]) -> list[list[_Prepared]]:
    """Split a batch so no source_id repeats within a wave: a later copy of a record is applied after the earlier."""
    waves: list[list[_Prepared]] = []
    seen_count: dict[str, int] = {}
    for item in prepared:
        wave = seen_count.get(item.source_id, 0)
        seen_count[item.source_id] = wave + 1
        while len(waves) <= wave:
            waves.append([])
        waves[wave].append(item)
    return waves


def _lock_keys(names: list[str]) -> None:
    """Serialise concurrent batches that touch the same source records or strong keys (PostgreSQL only).

    Advisory transaction locks, taken in one sorted pass, make the second of two racing batches wait
    and then see the first one's rows, so a record sent twice at once is stored once and two new
    records sharing a tax ID land on one golden record. SQLite serialises all writers anyway.
    """
    if connection.vendor != "postgresql" or not names:
        return
    ids = sorted(
        {int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True) for name in names}
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k", [ids])


def _link_known_target_records(
    system: System, entity_type: str, fresh: list[_Prepared], decisions: list[LinkDecision]
) -> None:
    """A new source record the system already holds for us (we published it there and it told us its ID, or a
    pull found it there with our golden ID) belongs to that golden record: no matching, no duplicate."""
    known = dict(
        CrossReference.objects.filter(
            system=system,
            entity_type=entity_type,
            kind=XrefKind.TARGET,
            external_id__in=[item.source_id for item in fresh],
            golden__status=GoldenStatus.ACTIVE,
        ).values_list("external_id", "golden_id")
    )
    for item, decision in zip(fresh, decisions, strict=True):
        golden_pk = known.get(item.source_id)
        if golden_pk is not None:
            decision.golden_pk, decision.outcome, decision.probability = golden_pk, MatchOutcome.AUTO_LINKED, 1.0
            decision.reason = f"{system.code} holds this record as the golden record's own (its published copy)"
            decision.review = []


def _apply_wave(
    system: System, entity_type: str, wave: list[_Prepared], rules: dict[str, Any], *, defer_matching: bool = False
) -> list[RecordOutcome]:
    """One wave of a batch (no two records of one key): compare with what is stored, match the new records, store
    them with their golden records, cross-references and match forms, recompute the golden records touched."""
    existing = _stored_versions(system, entity_type, wave)
    fresh, changed, outcomes = _sort_wave(wave, existing)
    matched = deferred_decisions if defer_matching else match_new_records
    context, decisions = matched(entity_type, [item.standardised for item in fresh])
    _link_known_target_records(system, entity_type, fresh, decisions)
    new_goldens = _new_golden_records(entity_type, decisions)
    new_records, created = _new_source_records(system, entity_type, fresh, decisions, new_goldens)
    outcomes += created
    _store_source_records(system, entity_type, new_records, [record for _, record in changed])
    _store_match_forms(entity_type, new_records, changed, decisions)
    match_decisions_record(
        context=context,
        records=new_records,
        decisions=decisions,
        new_goldens={golden.pk: golden for golden in new_goldens.values()},
    )
    _recompute_touched(system, entity_type, new_records, changed, new_goldens, rules)
    refused = hierarchy_links_from_sources(
        system=system, entity_type=entity_type, created=new_records, changed=[record for _, record in changed]
    )
    _note_refused_parents(outcomes, refused)
    return outcomes


def _stored_versions(system: System, entity_type: str, wave: list[_Prepared]) -> dict[str, SourceRecord]:
    """The wave's source records already stored, locked (with advisory locks on their keys, so concurrent batches
    holding the same record or the same match keys wait for each other)."""
    _lock_keys(
        [f"src:{system.pk}:{entity_type}:{item.source_id}" for item in wave]
        + [key for item in wave for key in item.keys]
    )
    return {
        record.source_id: record
        for record in SourceRecord.objects.select_for_update(of=("self",))
        .select_related("golden")
        .filter(system=system, entity_type=entity_type, source_id__in=[item.source_id for item in wave])
        .order_by("pk")
    }


def _sort_wave(
    wave: list[_Prepared], existing: dict[str, SourceRecord]
) -> tuple[list[_Prepared], list[tuple[_Prepared, SourceRecord]], list[RecordOutcome]]:
    """New records, changed records (updated in memory, saved later), and the outcomes of the changed and the
    unchanged (identical, or older than the stored version)."""
    now = timezone.now()
    outcomes: list[RecordOutcome] = []
    fresh: list[_Prepared] = []
    changed: list[tuple[_Prepared, SourceRecord]] = []
    for item in wave:
        record = existing.get(item.source_id)
        if record is None:
            fresh.append(item)
            continue
        stale = item.updated_at and record.source_updated_at and item.updated_at < record.source_updated_at
        if (
            not stale
            and record.payload_hash == item.hash
            and item.updated_at
            and item.updated_at != record.source_updated_at
        ):
            # Same content, newer stamp: remember the stamp, so a delayed older version cannot win later.
            SourceRecord.objects.filter(pk=record.pk).update(source_updated_at=item.updated_at)
        if stale or record.payload_hash == item.hash:
            link = "older than the stored version" if stale else "identical to the stored version"
            outcomes.append(
                RecordOutcome(
                    item.index, item.source_id, UNCHANGED, record.golden.golden_id, issues=record.issues, link=link
                )
            )
            continue
        record.payload, record.standardised, record.payload_hash = item.raw, item.standardised, item.hash
        record.contract_version, record.issues, record.parent_source_id = (
            item.contract_version,
            item.issues,
            item.parent_source_id,
        )
        record.source_updated_at = item.updated_at or record.source_updated_at
        record.updated_at = now
        changed.append((item, record))
        outcomes.append(RecordOutcome(item.index, item.source_id, UPDATED, record.golden.golden_id, issues=item.issues))
    return fresh, changed, outcomes


def _new_golden_records(entity_type: str, decisions: Sequence[LinkDecision]) -> dict[int, GoldenRecord]:
    """A golden record for each group of new records that joins none: by group."""
    new_goldens: dict[int, GoldenRecord] = {}
    for decision in decisions:
        if decision.golden_pk is None and decision.group not in new_goldens:
            new_goldens[decision.group] = GoldenRecord(golden_id=new_golden_id(entity_type), entity_type=entity_type)
    bulk_create_tracked(list(new_goldens.values()), GoldenRecord)
    return new_goldens


def _new_source_records(
    system: System,
    entity_type: str,
    fresh: list[_Prepared],
    decisions: Sequence[LinkDecision],
    new_goldens: dict[int, GoldenRecord],
) -> tuple[list[SourceRecord], list[RecordOutcome]]:
    """The new source records on the golden records their decisions chose (not saved yet), and their outcomes."""
    linked_golden_ids = dict(
        GoldenRecord.objects.filter(pk__in={d.golden_pk for d in decisions if d.golden_pk}).values_list(
            "pk", "golden_id"
        )
    )
    new_records: list[SourceRecord] = []
    outcomes: list[RecordOutcome] = []
    for item, decision in zip(fresh, decisions, strict=True):
        golden_pk = decision.golden_pk or new_goldens[decision.group].pk
        golden_id = linked_golden_ids.get(golden_pk) or new_goldens[decision.group].golden_id
        new_records.append(
            SourceRecord(
                system=system,
                entity_type=entity_type,
                source_id=item.source_id,
                contract_version=item.contract_version,
                source_updated_at=item.updated_at,
                payload=item.raw,
                standardised=item.standardised,
                payload_hash=item.hash,
                issues=item.issues,
                parent_source_id=item.parent_source_id,
                golden_id=golden_pk,
            )
        )
        outcomes.append(
            RecordOutcome(
                item.index,
                item.source_id,
                CREATED,
                golden_id,
                issues=item.issues,
                link=decision.reason,
                match=decision.outcome,
            )
        )
    return new_records, outcomes


def _store_source_records(
    system: System, entity_type: str, new_records: list[SourceRecord], changed: list[SourceRecord]
) -> None:
    """Save the new source records with their cross-references, and the changed ones, with history."""
    bulk_create_tracked(new_records, SourceRecord)
    bulk_update_tracked(
        changed,
        SourceRecord,
        [
            "payload",
            "standardised",
            "payload_hash",
            "contract_version",
            "issues",
            "parent_source_id",
            "source_updated_at",
            "updated_at",
        ],
    )
    bulk_create_tracked(
        [
            CrossReference(
                golden_id=record.golden_id,
                system=system,
                entity_type=entity_type,
                external_id=record.source_id,
                kind=XrefKind.SOURCE,
                source_record=record,
            )
            for record in new_records
        ],
        CrossReference,
    )


def _store_match_forms(
    entity_type: str,
    new_records: list[SourceRecord],
    changed: list[tuple[_Prepared, SourceRecord]],
    decisions: Sequence[LinkDecision],
) -> None:
    """The match forms and blocking keys of the new records (from their decisions) and of the changed ones. A
    changed record stays on its golden record: re-matching an update is `manage.py match`'s job, so a steward's
    merge is never undone by a later edit."""
    touched = new_records + [record for _, record in changed]
    changed_features = [features(entity_type, item.standardised) for item, _ in changed]
    blocking_keys_replace(
        touched,
        [decision.keys for decision in decisions] + [blocking_keys(entity_type, found) for found in changed_features],
        new=len(new_records),
    )
    match_profiles_replace(
        touched, [decision.features for decision in decisions] + changed_features, new=len(new_records)
    )


def _recompute_touched(
    system: System,
    entity_type: str,
    new_records: list[SourceRecord],
    changed: list[tuple[_Prepared, SourceRecord]],
    new_goldens: dict[int, GoldenRecord],
    rules: dict[str, Any],
) -> None:
    """Survivorship for every golden record the wave touched; a golden record made here is built from the records
    in hand instead of being read back."""
    created_goldens = {golden.pk for golden in new_goldens.values()}
    new_golden_sources: dict[int, list[SourceView]] = {pk: [] for pk in created_goldens}
    for record in new_records:
        if record.golden_id in created_goldens:
            updated_at = record.source_updated_at or record.created_at
            view = SourceView(record.pk, system.code, record.source_id, record.standardised, updated_at)
            new_golden_sources[record.golden_id].append(view)
    golden_records_recompute(
        entity_type=entity_type,
        golden_pks={record.golden_id for record in [*new_records, *(record for _, record in changed)]},
        rules=rules,
        new_golden_sources=new_golden_sources,
    )


def _note_refused_parents(outcomes: list[RecordOutcome], refused: Sequence[tuple[SourceRecord, Any]]) -> None:
    """A parent link the hierarchy refused is an issue of the record that named it (the record itself is stored)."""
    by_source_id = {outcome.source_id: outcome for outcome in outcomes}
    for record, errors in refused:
        outcome = by_source_id.get(record.source_id)
        if outcome is not None:
            message = "; ".join(errors.values())
            outcome.issues = [
                *outcome.issues,
                {"field": "parent_source_id", "code": "parent_refused", "message": message},
            ]


def _is_retryable(exc: DatabaseError) -> bool:
    # 40P01 deadlock, 40001 serialization failure; a unique violation means another batch won a race.
    code = getattr(getattr(exc, "__cause__", None), "sqlstate", None)
    return isinstance(exc, IntegrityError) or code in ("40P01", "40001")


def ingest(
    *,
    system: System,
    entity_type: str,
    records: Sequence[Any],
    actor: User,
    reason: str = "",
    defer_matching: bool = False,
) -> IngestResult:
    """Ingest a batch of source records from one system; returns each record's outcome, in order.

    A rejected record (contract or standardisation error) never blocks the valid ones beside it and
    leaves nothing behind. Call-level problems raise IngestError before anything is written.
    `defer_matching` (a first load of a whole system): every new record starts its own golden record,
    with its match profile and blocking keys stored, and `manage.py match` deduplicates them later.
    """
    if entity_type not in EntityType.values:
        raise IngestError("entity_type", f"unknown entity type '{entity_type}'; one of: {', '.join(EntityType.values)}")
    if not system.is_active:
        raise IngestError("system", f"system '{system.code}' is inactive")
    limit = settings.MDM_INGEST_MAX_BATCH
    if len(records) > limit:
        raise IngestError("records", f"a batch holds at most {limit} records; this one has {len(records)}")

    rejected: list[RecordOutcome] = []
    prepared: list[_Prepared] = []
    for index, raw in enumerate(records):
        item = _prepare(entity_type, index, raw)
        if isinstance(item, RecordOutcome):
            rejected.append(item)
        else:
            prepared.append(item)
    applied: list[RecordOutcome] = []
    if prepared:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with acting(actor, reason or f"ingest from {system.code}"), transaction.atomic():
                    rules = load_rules(entity_type)
                    applied = [
                        outcome
                        for wave in _waves(prepared)
                        for outcome in _apply_wave(system, entity_type, wave, rules, defer_matching=defer_matching)
                    ]
                break
            except DatabaseError as exc:
                if attempt == _ATTEMPTS or not _is_retryable(exc):
                    raise
                logger.info(
                    "ingest batch from %s lost a race (%s); retrying, attempt %d", system.code, exc, attempt + 1
                )
    return IngestResult(sorted(rejected + applied, key=lambda outcome: outcome.index))
