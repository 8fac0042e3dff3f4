"""Undoing a merge restores exactly what moved: sources, cross-references, edges, values, and the retired ID."""

import contextlib
import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.models import BlockingKey, MatchProfile
from mdm.hierarchies import hierarchy_edge_save
from mdm.ingest import ingest
from mdm.merges import MergeError, golden_merge_undo, golden_records_merge
from mdm.models import (
    CrossReference,
    Customer,
    GoldenMerge,
    GoldenRecord,
    GoldenStatus,
    HierarchyEdge,
    HierarchyType,
    OutboxEvent,
    SourceRecord,
    System,
)
from tests.records import customer

pytestmark = pytest.mark.django_db

NAMES = ["Alpha Trading GmbH", "Beta Logistics AG", "Gamma Foods SE", "Delta Steel KG", "Epsilon Print OHG"]


def load(system: System, count: int = 5) -> list[GoldenRecord]:
    records = [customer(f"S-{n}", legal_name=NAMES[n], tax_ids=[]) for n in range(count)]
    ingest(system=system, entity_type="customer", records=records, actor=system.service_user, defer_matching=True)
    return list(GoldenRecord.objects.order_by("pk"))


def snapshot() -> dict[str, Any]:
    """Everything a merge may touch, as plain data (versions and timestamps left out: they move on)."""
    return {
        "goldens": sorted(GoldenRecord.objects.values_list("pk", "status", "merged_into_id")),
        "sources": sorted(SourceRecord.objects.values_list("pk", "golden_id")),
        "xrefs": sorted(CrossReference.objects.values_list("pk", "golden_id")),
        "profiles": sorted(MatchProfile.objects.values_list("source_record_id", "golden_id")),
        "keys": sorted(BlockingKey.objects.values_list("pk", "golden_id")),
        "edges": sorted(HierarchyEdge.objects.values_list("pk", "parent_id", "child_id")),
        "values": sorted(
            (row.pk, row.legal_name, tuple(row.phones), tuple(sorted(row.lineage))) for row in Customer.objects.all()
        ),
    }


def test_undo_restores_the_retired_record_exactly(salesforce: System, steward: Any) -> None:
    survivor, merged, *_ = load(salesforce)
    before = snapshot()
    merge = golden_records_merge(survivor=survivor, merged=merged, actor=steward, reason="looked alike")
    assert snapshot() != before
    restored = golden_merge_undo(merge=merge, actor=steward, reason="different companies")
    assert restored.golden_id == merged.golden_id and restored.status == GoldenStatus.ACTIVE
    assert snapshot() == before
    merge.refresh_from_db()
    assert merge.undone_by == steward and merge.undo_reason == "different companies"
    assert OutboxEvent.objects.filter(golden=merged, event_type="unmerged").exists()


def test_undo_twice_or_under_a_later_merge_is_refused(salesforce: System, steward: Any) -> None:
    a, b, c, *_ = load(salesforce)
    first = golden_records_merge(survivor=b, merged=c, actor=steward, reason="one")
    golden_records_merge(survivor=a, merged=b, actor=steward, reason="two")
    with pytest.raises(MergeError, match="undo that merge first"):
        golden_merge_undo(merge=first, actor=steward, reason="no")
    later = GoldenMerge.objects.get(merged=b)
    golden_merge_undo(merge=later, actor=steward, reason="undo two")
    with pytest.raises(MergeError, match="already undone"):
        golden_merge_undo(merge=later, actor=steward, reason="again")


def test_a_stewards_merge_moves_hierarchy_edges_and_the_undo_moves_them_back(salesforce: System, steward: Any) -> None:
    parent, survivor, merged, child, _ = load(salesforce)
    legal = HierarchyType.objects.get(code="customer_legal")
    day = datetime.date(2024, 1, 1)
    hierarchy_edge_save(edge=HierarchyEdge(hierarchy=legal, parent=parent, child=merged, valid_from=day), actor=steward)
    hierarchy_edge_save(edge=HierarchyEdge(hierarchy=legal, parent=merged, child=child, valid_from=day), actor=steward)
    before = snapshot()
    with pytest.raises(MergeError, match="hierarchy edges"):
        golden_records_merge(survivor=survivor, merged=merged, actor=steward, reason="no edges moved")

    def parent_events() -> int:  # the child's targets learn each change of its parent
        events = OutboxEvent.objects.filter(golden=child).values_list("changed_fields", flat=True)
        return sum("parent:customer_legal" in fields for fields in events)

    events_before = parent_events()
    merge = golden_records_merge(survivor=survivor, merged=merged, actor=steward, reason="same", move_edges=True)
    assert set(HierarchyEdge.objects.values_list("parent_id", "child_id")) == {
        (parent.pk, survivor.pk),
        (survivor.pk, child.pk),
    }
    assert parent_events() == events_before + 1
    golden_merge_undo(merge=merge, actor=steward, reason="not the same")
    assert snapshot() == before
    assert parent_events() == events_before + 2


def test_a_merge_that_would_give_a_record_two_parents_is_refused(salesforce: System, steward: Any) -> None:
    parent, other_parent, survivor, merged, _ = load(salesforce)
    legal = HierarchyType.objects.get(code="customer_legal")
    day = datetime.date(2024, 1, 1)
    hierarchy_edge_save(edge=HierarchyEdge(hierarchy=legal, parent=parent, child=merged, valid_from=day), actor=steward)
    hierarchy_edge_save(
        edge=HierarchyEdge(hierarchy=legal, parent=other_parent, child=survivor, valid_from=day), actor=steward
    )
    before = snapshot()
    with pytest.raises(MergeError, match="already has parent"):
        golden_records_merge(survivor=survivor, merged=merged, actor=steward, reason="x", move_edges=True)
    assert snapshot() == before


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.booleans(), st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=8))
def test_any_sequence_of_merges_and_undos_undone_in_reverse_restores_everything(
    salesforce: System, steward: Any, steps: list[tuple[bool, int, int]]
) -> None:
    from django.db import transaction

    sid = transaction.savepoint()
    try:
        goldens = load(salesforce)
        before = snapshot()
        for merge_step, left, right in steps:
            if merge_step:
                with contextlib.suppress(MergeError):  # refused merges change nothing (itself, retired)
                    golden_records_merge(survivor=goldens[left], merged=goldens[right], actor=steward, reason="p")
                continue
            latest = GoldenMerge.objects.filter(undone_at__isnull=True).order_by("-pk").first()
            if latest is not None:
                golden_merge_undo(merge=latest, actor=steward, reason="p")
        for merge in GoldenMerge.objects.filter(undone_at__isnull=True).order_by("-pk"):
            golden_merge_undo(merge=merge, actor=steward, reason="all back")
        assert snapshot() == before
    finally:
        transaction.savepoint_rollback(sid)
