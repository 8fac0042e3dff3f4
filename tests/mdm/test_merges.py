"""The store's merge primitive: the survivor keeps its golden ID, the merged-away ID resolves to it."""

from typing import Any

import pytest

from mdm.ingest import ingest
from mdm.merges import MergeError, MergeRequest, golden_records_merge, golden_records_merge_many
from mdm.models import (
    CrossReference,
    Customer,
    GoldenMerge,
    GoldenRecord,
    GoldenStatus,
    OutboxEvent,
    SourceRecord,
    System,
)
from mdm.selectors import SourceKey, resolve_keys
from tests.records import customer

pytestmark = pytest.mark.django_db


def two_goldens(salesforce: System, netsuite: System) -> tuple[GoldenRecord, GoldenRecord]:
    ingest(system=netsuite, entity_type="customer", records=[customer("C-1")], actor=netsuite.service_user)
    ingest(
        system=salesforce,
        entity_type="customer",
        records=[customer("001", legal_name="Northwind Trading Company", tax_ids=[])],
        actor=salesforce.service_user,
    )
    older, younger = GoldenRecord.objects.order_by("pk")
    return older, younger


def test_merge_moves_sources_and_xrefs_and_retires_the_merged_record(
    salesforce: Any, netsuite: Any, steward: Any
) -> None:
    survivor, merged = two_goldens(salesforce, netsuite)
    merge = golden_records_merge(survivor=survivor, merged=merged, actor=steward, reason="same company")
    merged.refresh_from_db()
    assert merged.status == GoldenStatus.RETIRED and merged.merged_into_id == survivor.pk
    assert set(SourceRecord.objects.values_list("golden_id", flat=True)) == {survivor.pk}
    assert set(CrossReference.objects.values_list("golden_id", flat=True)) == {survivor.pk}
    assert merge.source_record_ids == [SourceRecord.objects.get(source_id="001").pk]
    resolution = resolve_keys([SourceKey("salesforce", "customer", "001")])[0]
    assert resolution.golden_id == survivor.golden_id
    events = OutboxEvent.objects.filter(golden=merged).values_list("event_type", flat=True)
    assert "merged" in events
    lineage = Customer.objects.get(golden=survivor).lineage
    assert {entry.get("system") for entry in lineage.values()} >= {"salesforce", "netsuite"}
    history = SourceRecord.history.filter(source_id="001").first()
    assert history.history_user == steward and history.history_change_reason == "same company"


@pytest.mark.parametrize("case", ["itself", "retired", "edges"])
def test_impossible_merges_are_refused_and_change_nothing(
    salesforce: Any, netsuite: Any, steward: Any, case: str
) -> None:
    survivor, merged = two_goldens(salesforce, netsuite)
    if case == "itself":
        merged = survivor
    elif case == "retired":
        golden_records_merge(survivor=survivor, merged=merged, actor=steward, reason="first")
    else:
        ingest(
            system=salesforce,
            entity_type="customer",
            records=[customer("001", legal_name="Northwind Trading Company", tax_ids=[], parent_source_id="P")],
            actor=salesforce.service_user,
        )
        ingest(
            system=salesforce,
            entity_type="customer",
            records=[customer("P", legal_name="Zenith Holding AG", tax_ids=[])],
            actor=salesforce.service_user,
        )
    merges_before = GoldenMerge.objects.count()
    with pytest.raises(MergeError):
        golden_records_merge(survivor=survivor, merged=merged, actor=steward, reason="again")
    assert GoldenMerge.objects.count() == merges_before


def test_many_merges_in_one_call_and_the_impossible_ones_refused(salesforce: Any, steward: Any) -> None:
    names = ["Alpha Trading GmbH", "Beta Logistics AG", "Gamma Foods SE", "Delta Steel KG", "Epsilon Print OHG"]
    ingest(
        system=salesforce,
        entity_type="customer",
        records=[customer(f"00{n}", legal_name=name, tax_ids=[]) for n, name in enumerate(names)],
        actor=salesforce.service_user,
        defer_matching=True,
    )
    a, b, c, d, e = GoldenRecord.objects.order_by("pk")
    outcome = golden_records_merge_many(
        [
            MergeRequest(a.pk, b.pk, "b is a"),
            MergeRequest(a.pk, c.pk, "c is a"),
            MergeRequest(b.pk, d.pk, "into a record retired just now"),
            MergeRequest(e.pk, a.pk, "a record that received others"),
            MergeRequest(d.pk, d.pk, "itself"),
        ],
        actor=steward,
    )
    assert [(m.survivor_id, m.merged_id) for m in outcome.merges] == [(a.pk, b.pk), (a.pk, c.pk)]
    assert [why for _, why in outcome.refused] == [
        f"{b.golden_id} is retired (merged into another record)",
        f"{a.golden_id} received other records in this run; merge it on its own",
        "a golden record cannot be merged into itself",
    ]
    assert SourceRecord.objects.filter(golden=a).count() == 3
    assert GoldenRecord.objects.filter(status=GoldenStatus.ACTIVE).count() == 3
    assert set(OutboxEvent.objects.filter(event_type="merged").values_list("golden_id", flat=True)) == {b.pk, c.pk}
    assert [m.reason for m in GoldenMerge.objects.order_by("pk")] == ["b is a", "c is a"]
    assert all(len(m.source_record_ids) == 1 and len(m.xref_ids) == 1 for m in GoldenMerge.objects.all())
    a.refresh_from_db()
    assert a.version > 1  # the survivor's new sources are an event for targets, even when its values held


def test_review_pairs_follow_a_merge(salesforce: Any, steward: Any) -> None:
    from matching.models import CandidateStatus, MatchCandidate

    names = ["Alpha Trading GmbH", "Beta Logistics AG", "Gamma Foods SE", "Delta Steel KG"]
    ingest(
        system=salesforce,
        entity_type="customer",
        records=[customer(f"00{n}", legal_name=name, tax_ids=[]) for n, name in enumerate(names)],
        actor=salesforce.service_user,
        defer_matching=True,
    )
    a, b, c, d = GoldenRecord.objects.order_by("pk")
    source = SourceRecord.objects.first()

    def pair(left: GoldenRecord, right: GoldenRecord, status: str) -> MatchCandidate:
        return MatchCandidate.objects.create(
            golden=left,
            candidate=right,
            source_record=source,
            entity_type="customer",
            probability=0.9,
            match_weight=3.0,
            model_version=0,
            status=status,
            decided_by=steward if status == "rejected" else None,
        )

    settled, other, rejected = pair(b, a, "open"), pair(b, c, "open"), pair(d, b, "rejected")
    golden_records_merge(survivor=a, merged=b, actor=steward, reason="same company")
    statuses = {row.pk: row.status for row in MatchCandidate.objects.all()}
    assert statuses[settled.pk] == CandidateStatus.MERGED and statuses[other.pk] == CandidateStatus.SUPERSEDED
    assert statuses[rejected.pk] == CandidateStatus.REJECTED
    carried = MatchCandidate.objects.get(golden=d, candidate=a)  # d is not b, so d is not the cluster b joined
    assert carried.status == CandidateStatus.REJECTED and carried.decided_by == steward
