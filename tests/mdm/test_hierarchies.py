"""Hierarchy invariants: matching types, one parent at a time, no cycles; edits are versioned and published."""

import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from mdm.hierarchies import ancestors_of, hierarchy_edge_save, parent_of
from mdm.ingest import ingest
from mdm.models import GoldenRecord, HierarchyEdge, HierarchyType, OutboxEvent, System
from tests.records import customer, product

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def goldens(netsuite: System) -> list[GoldenRecord]:
    names = ["Alpha AG", "Beta GmbH", "Gamma Ltd", "Delta SA"]
    result = ingest(
        system=netsuite,
        entity_type="customer",
        records=[customer(f"G{index}", tax_ids=[], legal_name=name) for index, name in enumerate(names)],
        actor=netsuite.service_user,
    )
    return [GoldenRecord.objects.get(golden_id=outcome.golden_id) for outcome in result.outcomes]


@pytest.fixture
def legal() -> HierarchyType:
    return HierarchyType.objects.get(code="customer_legal")


def edge(
    legal: HierarchyType, parent: GoldenRecord, child: GoldenRecord, start: D, end: D | None = None
) -> HierarchyEdge:
    return HierarchyEdge(hierarchy=legal, parent=parent, child=child, valid_from=start, valid_to=end)


def test_edges_are_effective_dated(legal: HierarchyType, goldens: list[GoldenRecord], steward: Any) -> None:
    a, b, c, _ = goldens
    hierarchy_edge_save(edge=edge(legal, a, c, D(2024, 1, 1), D(2025, 1, 1)), actor=steward)
    hierarchy_edge_save(edge=edge(legal, b, c, D(2025, 1, 1)), actor=steward)
    assert parent_of(c, legal, D(2024, 6, 1)).parent == a
    assert parent_of(c, legal, D(2025, 6, 1)).parent == b
    assert parent_of(c, legal, D(2023, 6, 1)) is None


def test_a_second_parent_at_the_same_time_is_refused(
    legal: HierarchyType, goldens: list[GoldenRecord], steward: Any
) -> None:
    a, b, c, _ = goldens
    hierarchy_edge_save(edge=edge(legal, a, c, D(2024, 1, 1)), actor=steward)
    with pytest.raises(ValidationError) as error:
        hierarchy_edge_save(edge=edge(legal, b, c, D(2025, 1, 1)), actor=steward)
    assert "already has parent" in error.value.message_dict["child"][0]


def test_a_cycle_is_refused(legal: HierarchyType, goldens: list[GoldenRecord], steward: Any) -> None:
    a, b, c, _ = goldens
    hierarchy_edge_save(edge=edge(legal, a, b, D(2024, 1, 1)), actor=steward)
    hierarchy_edge_save(edge=edge(legal, b, c, D(2024, 1, 1)), actor=steward)
    with pytest.raises(ValidationError) as error:
        hierarchy_edge_save(edge=edge(legal, c, a, D(2024, 6, 1)), actor=steward)
    assert "cycle" in error.value.message_dict["parent"][0]
    assert [item.parent for item in ancestors_of(c, legal, D(2024, 6, 1))] == [b, a]


def test_a_cycle_in_a_different_period_is_allowed(
    legal: HierarchyType, goldens: list[GoldenRecord], steward: Any
) -> None:
    a, b, _, _ = goldens
    hierarchy_edge_save(edge=edge(legal, a, b, D(2024, 1, 1), D(2025, 1, 1)), actor=steward)
    hierarchy_edge_save(edge=edge(legal, b, a, D(2025, 1, 1)), actor=steward)
    assert HierarchyEdge.objects.count() == 2


def test_types_must_match(legal: HierarchyType, goldens: list[GoldenRecord], netsuite: System, steward: Any) -> None:
    item = ingest(system=netsuite, entity_type="product", records=[product()], actor=netsuite.service_user).outcomes[0]
    with pytest.raises(ValidationError) as error:
        hierarchy_edge_save(
            edge=edge(legal, goldens[0], GoldenRecord.objects.get(golden_id=item.golden_id), D(2024, 1, 1)),
            actor=steward,
        )
    assert "child" in error.value.message_dict


def test_an_edit_versions_and_publishes_the_child(
    legal: HierarchyType, goldens: list[GoldenRecord], steward: Any
) -> None:
    a, _, c, _ = goldens
    hierarchy_edge_save(edge=edge(legal, a, c, D(2024, 1, 1)), actor=steward, reason="acquisition closed")
    c.refresh_from_db()
    assert c.version == 2
    assert OutboxEvent.objects.filter(golden=c).latest("id").changed_fields == ["parent:customer_legal"]
    assert HierarchyEdge.history.latest().history_change_reason == "acquisition closed"
    assert HierarchyEdge.history.latest().history_user == steward
