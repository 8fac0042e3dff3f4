"""Hierarchies: typed, effective-dated parent→child edges between golden records."""

from django.core.exceptions import ValidationError
from django.db import models

from mdm.models.base import MasteredModel
from mdm.models.golden import EntityType, GoldenRecord


class HierarchyType(models.Model):
    """A kind of hierarchy (legal ownership, sales hierarchy, product categories) and what it links."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)

    def __str__(self) -> str:
        return self.name


class HierarchyEdge(MasteredModel):
    """Parent → child in one hierarchy, valid from a date until (not including) another.

    Invariants (checked by `clean`, enforced under a lock by the hierarchy service): both ends are of the
    hierarchy's entity type, a child has one parent per hierarchy at any date, and no edge closes a cycle.
    """

    hierarchy = models.ForeignKey(HierarchyType, on_delete=models.PROTECT, related_name="edges")
    parent = models.ForeignKey(GoldenRecord, on_delete=models.PROTECT, related_name="child_edges")
    child = models.ForeignKey(GoldenRecord, on_delete=models.PROTECT, related_name="parent_edges")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Exclusive; empty means open-ended.")
    origin = models.CharField(max_length=60, blank=True, default="", help_text="Which system or steward stated it.")

    class Meta:
        indexes = [
            models.Index(fields=["hierarchy", "child", "valid_from"]),
            models.Index(fields=["hierarchy", "parent", "valid_from"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gt=models.F("valid_from")),
                name="hierarchy_edge_valid_range",
            ),
            models.CheckConstraint(condition=~models.Q(parent=models.F("child")), name="hierarchy_edge_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.parent} → {self.child} ({self.hierarchy.code})"

    def clean(self) -> None:
        from mdm.hierarchies import check_edge

        errors = check_edge(self)
        if errors:
            raise ValidationError(errors)
