"""Hierarchy services and selectors: effective-dated parent→child edges between golden records.

Writes lock the child's golden record, so two writers never give one child two parents at once;
`check_edge` holds the invariants (types match, no overlapping parent, no cycle) for the admin and
for every service.
"""

import datetime
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from mdm.models import GoldenRecord, HierarchyEdge, HierarchyType, SourceRecord, System, SystemKind

# The hierarchy a system's "parent" field describes, by what the system is.
SOURCE_HIERARCHY = {
    ("customer", SystemKind.ERP): "customer_legal",
    ("customer", SystemKind.CRM): "customer_sales",
    ("customer", SystemKind.OTHER): "customer_sales",
    ("product", SystemKind.ERP): "product_category",
    ("product", SystemKind.CRM): "product_category",
    ("product", SystemKind.OTHER): "product_category",
}
MAX_DEPTH = 100


def _overlapping(start: datetime.date, end: datetime.date | None) -> Q:
    """Edges whose validity overlaps [start, end)."""
    condition = Q(valid_to__isnull=True) | Q(valid_to__gt=start)
    if end is not None:
        condition &= Q(valid_from__lt=end)
    return condition


def valid_on(day: datetime.date) -> Q:
    """Edges in force on a day."""
    return Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gt=day))


def check_edge(edge: HierarchyEdge) -> dict[str, str]:
    """The invariant violations of a proposed edge, by field (empty when it may be saved)."""
    errors: dict[str, str] = {}
    hierarchy = edge.hierarchy
    if edge.parent_id and edge.parent.entity_type != hierarchy.entity_type:
        errors["parent"] = (
            f"a {hierarchy.name} links {hierarchy.entity_type} records; this is a {edge.parent.entity_type}"
        )
    if edge.child_id and edge.child.entity_type != hierarchy.entity_type:
        errors["child"] = (
            f"a {hierarchy.name} links {hierarchy.entity_type} records; this is a {edge.child.entity_type}"
        )
    if edge.parent_id and edge.parent_id == edge.child_id:
        errors["parent"] = "a record cannot be its own parent"
    if edge.valid_to is not None and edge.valid_to <= edge.valid_from:
        errors["valid_to"] = "must be after valid_from"
    if errors:
        return errors
    for golden, name in ((edge.parent, "parent"), (edge.child, "child")):
        if golden.status != "active":
            errors[name] = f"{golden.golden_id} is retired"
    overlapping = (
        HierarchyEdge.objects.filter(hierarchy=hierarchy, child_id=edge.child_id)
        .filter(_overlapping(edge.valid_from, edge.valid_to))
        .exclude(pk=edge.pk)
        .select_related("parent")
        .first()
    )
    if overlapping is not None:
        until = overlapping.valid_to.isoformat() if overlapping.valid_to else "open-ended"
        errors["child"] = (
            f"{edge.child.golden_id} already has parent {overlapping.parent.golden_id} in {hierarchy.name} "
            f"from {overlapping.valid_from.isoformat()} until {until}"
        )
    elif _would_cycle(edge):
        errors["parent"] = (
            f"{edge.child.golden_id} is already an ancestor of {edge.parent.golden_id}: this edge would close a cycle"
        )
    return errors


def _would_cycle(edge: HierarchyEdge) -> bool:
    """Whether the child is an ancestor of the parent at any time the edge would be in force (conservative)."""
    frontier = {edge.parent_id}
    seen: set[int] = set()
    for _ in range(MAX_DEPTH):
        if edge.child_id in frontier:
            return True
        seen |= frontier
        frontier = (
            set(
                HierarchyEdge.objects.filter(hierarchy=edge.hierarchy, child_id__in=frontier)
                .filter(_overlapping(edge.valid_from, edge.valid_to))
                .exclude(pk=edge.pk)
                .values_list("parent_id", flat=True)
            )
            - seen
        )
        if not frontier:
            return False
    return True


def hierarchy_edge_set(
    *,
    hierarchy: HierarchyType,
    parent: GoldenRecord,
    child: GoldenRecord,
    origin: str,
    day: datetime.date | None = None,
) -> HierarchyEdge | dict[str, str]:
    """Make `parent` the child's parent from `day` on, ending its current parent edge; errors by field if refused."""
    from mdm.golden import golden_record_touch

    day = day or timezone.localdate()
    GoldenRecord.objects.select_for_update().filter(pk=child.pk).first()
    current = HierarchyEdge.objects.filter(hierarchy=hierarchy, child=child).filter(valid_on(day)).first()
    if current is not None and current.parent_id == parent.pk:
        return current
    later = HierarchyEdge.objects.filter(hierarchy=hierarchy, child=child, valid_from__gt=day).exists()
    if later:
        return {"child": f"{child.golden_id} has a parent edge starting after {day.isoformat()}; end it first"}
    edge = HierarchyEdge(hierarchy=hierarchy, parent=parent, child=child, valid_from=day, origin=origin)
    try:
        with transaction.atomic():
            if current is not None:
                _end_edge(current, day)
            errors = check_edge(edge)
            if errors:
                raise _Refused(errors)
            edge.save()
    except _Refused as refused:
        return refused.errors
    golden_record_touch(golden=child, changed_fields=[f"parent:{hierarchy.code}"])
    return edge


class _Refused(Exception):
    """Undo a tentative change of parent that broke an invariant."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def _end_edge(edge: HierarchyEdge, day: datetime.date) -> None:
    if edge.valid_from >= day:
        edge.delete()  # it never took effect; history keeps the deletion
    else:
        edge.valid_to = day
        edge.save(update_fields=["valid_to", "updated_at"])


def hierarchy_edge_save(*, edge: HierarchyEdge, actor: Any, reason: str = "") -> HierarchyEdge:
    """Create or change an edge by hand (admin, stewards): checked under a lock on the child, then published.

    Raises ValidationError with the broken invariants by field; nothing is saved then.
    """
    from mdm.context import acting
    from mdm.golden import golden_record_touch

    with acting(actor, reason or "hierarchy edited"), transaction.atomic():
        GoldenRecord.objects.select_for_update().filter(pk=edge.child_id).first()
        previous_child_id = (
            HierarchyEdge.objects.filter(pk=edge.pk).values_list("child_id", flat=True).first() if edge.pk else None
        )
        errors = check_edge(edge)
        if errors:
            raise ValidationError(errors)
        edge.save()
        changed = [f"parent:{edge.hierarchy.code}"]
        golden_record_touch(golden=GoldenRecord.objects.get(pk=edge.child_id), changed_fields=changed)
        if previous_child_id and previous_child_id != edge.child_id:
            golden_record_touch(golden=GoldenRecord.objects.get(pk=previous_child_id), changed_fields=changed)
    return edge


def hierarchy_edge_end(*, edge: HierarchyEdge, day: datetime.date | None = None) -> None:
    """End an edge on `day` (today by default): from then on the child has no parent in that hierarchy."""
    from mdm.golden import golden_record_touch

    _end_edge(edge, day or timezone.localdate())
    golden_record_touch(golden=edge.child, changed_fields=[f"parent:{edge.hierarchy.code}"])


def hierarchy_links_from_sources(
    *, system: System, entity_type: str, created: Sequence[SourceRecord], changed: Sequence[SourceRecord]
) -> list[tuple[SourceRecord, dict[str, str]]]:
    """Turn sources' `parent_source_id` into edges, for new and changed records and for children awaiting a parent.

    A parent not yet sent leaves the child waiting (the edge appears when the parent arrives). A parent
    link that would break an invariant is refused and reported; the records themselves stay ingested.
    """
    code = SOURCE_HIERARCHY[(entity_type, SystemKind(system.kind))]
    hierarchy = HierarchyType.objects.filter(code=code).first()
    if hierarchy is None:
        return []
    children = [record for record in (*created, *changed) if record.parent_source_id]
    waiting = list(
        SourceRecord.objects.filter(
            system=system, entity_type=entity_type, parent_source_id__in=[record.source_id for record in created]
        ).exclude(pk__in=[record.pk for record in children])
    )
    pairs = children + waiting
    parent_ids = {record.parent_source_id for record in pairs}
    parents = dict(
        SourceRecord.objects.filter(system=system, entity_type=entity_type, source_id__in=parent_ids).values_list(
            "source_id", "golden_id"
        )
    )
    refused = []
    goldens = GoldenRecord.objects.in_bulk({record.golden_id for record in pairs} | set(parents.values()))
    for record in pairs:
        parent_pk = parents.get(record.parent_source_id)
        if parent_pk is None or parent_pk == record.golden_id:
            continue
        result = hierarchy_edge_set(
            hierarchy=hierarchy, parent=goldens[parent_pk], child=goldens[record.golden_id], origin=system.code
        )
        if isinstance(result, dict):
            refused.append((record, result))
    for record in changed:
        if not record.parent_source_id:
            current = (
                HierarchyEdge.objects.filter(hierarchy=hierarchy, child_id=record.golden_id, origin=system.code)
                .filter(valid_on(timezone.localdate()))
                .first()
            )
            if current is not None:
                hierarchy_edge_end(edge=current)
    return refused


# --- Selectors -----------------------------------------------------------------------------------------


def edges_on(hierarchy: HierarchyType, day: datetime.date) -> QuerySet[HierarchyEdge]:
    """All edges of a hierarchy in force on a day."""
    return HierarchyEdge.objects.filter(hierarchy=hierarchy).filter(valid_on(day))


def parent_of(golden: GoldenRecord, hierarchy: HierarchyType, day: datetime.date) -> HierarchyEdge | None:
    """The edge to the record's parent on a day, if it has one."""
    return edges_on(hierarchy, day).filter(child=golden).select_related("parent").first()


def children_of(golden: GoldenRecord, hierarchy: HierarchyType, day: datetime.date) -> QuerySet[HierarchyEdge]:
    """Edges to the record's direct children on a day."""
    return edges_on(hierarchy, day).filter(parent=golden).select_related("child").order_by("child__golden_id")


def ancestors_of(golden: GoldenRecord, hierarchy: HierarchyType, day: datetime.date) -> list[HierarchyEdge]:
    """Edges from the record up to its root on a day, nearest first."""
    chain: list[HierarchyEdge] = []
    seen = {golden.pk}
    current = golden
    for _ in range(MAX_DEPTH):
        edge = parent_of(current, hierarchy, day)
        if edge is None or edge.parent_id in seen:
            break
        chain.append(edge)
        seen.add(edge.parent_id)
        current = edge.parent
    return chain


def descendants_of(
    golden: GoldenRecord, hierarchy: HierarchyType, day: datetime.date, *, limit: int = 10_000
) -> list[tuple[HierarchyEdge, int]]:
    """Edges to every descendant on a day with their depth, breadth first, one query per level."""
    result: list[tuple[HierarchyEdge, int]] = []
    frontier = [golden.pk]
    seen = {golden.pk}
    depth = 0
    while frontier and depth < MAX_DEPTH and len(result) < limit:
        depth += 1
        level = list(
            edges_on(hierarchy, day)
            .filter(parent_id__in=frontier)
            .select_related("parent", "child")
            .order_by("child__golden_id")
        )
        frontier = []
        for edge in level:
            if edge.child_id not in seen:
                seen.add(edge.child_id)
                frontier.append(edge.child_id)
                result.append((edge, depth))
    return result[:limit]
