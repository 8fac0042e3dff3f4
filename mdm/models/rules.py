"""Ownership rules: which systems are authoritative for an attribute, and how to decide when none is."""

from django.core.exceptions import ValidationError
from django.db import models

from mdm.models.base import MasteredModel
from mdm.models.golden import EntityType


class Fallback(models.TextChoices):
    MOST_RECENT = "most_recent", "Most recent"
    MOST_COMPLETE = "most_complete", "Most complete source record"
    MOST_FREQUENT = "most_frequent", "Most frequent value"


class OwnershipRule(MasteredModel):
    """For one attribute of an entity type: the systems that own it, in priority order, and a fallback."""

    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    attribute = models.CharField(max_length=60)
    systems = models.JSONField(
        default=list, blank=True, help_text="System codes in priority order; the first with a value wins."
    )
    fallback = models.CharField(
        max_length=20,
        choices=Fallback.choices,
        default=Fallback.MOST_RECENT,
        help_text="How to choose among the other sources when no owning system has a value.",
    )
    note = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["entity_type", "attribute"]
        constraints = [models.UniqueConstraint(fields=["entity_type", "attribute"], name="uniq_ownership_rule")]

    def __str__(self) -> str:
        owners = " > ".join(self.systems) or "no owner"
        return f"{self.entity_type}.{self.attribute}: {owners}, then {self.get_fallback_display().lower()}"

    def clean(self) -> None:
        from mdm.models.systems import System
        from mdm.survivorship import SURVIVING_ATTRIBUTES

        errors: dict[str, str] = {}
        allowed = SURVIVING_ATTRIBUTES.get(self.entity_type, ())
        if self.attribute not in allowed:
            errors["attribute"] = (
                f"'{self.attribute}' is not an attribute of {self.entity_type}; one of: {', '.join(allowed)}"
            )
        if not isinstance(self.systems, list) or not all(isinstance(code, str) for code in self.systems):
            errors["systems"] = "must be a list of system codes"
        else:
            if len(set(self.systems)) != len(self.systems):
                errors["systems"] = "a system is listed twice"
            unknown = set(self.systems) - set(
                System.objects.filter(code__in=self.systems).values_list("code", flat=True)
            )
            if unknown:
                errors["systems"] = f"unknown system(s): {', '.join(sorted(unknown))}"
        if errors:
            raise ValidationError(errors)
