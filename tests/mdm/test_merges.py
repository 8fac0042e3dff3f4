"""The store's merge primitive: the survivor keeps its golden ID, the merged-away ID resolves to it."""

from typing import Any

import pytest

from mdm.ingest import ingest
from mdm.merges import MergeError, golden_records_merge
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
