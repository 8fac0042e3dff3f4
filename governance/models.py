"""Stewardship's own data: steward permissions, review-queue assignments, approval policy, change requests."""

from django.conf import settings
from django.db import models

from matching.models import MatchCandidate
from mdm.models import EntityType, GoldenRecord, HierarchyEdge, HierarchyType
from mdm.models.base import tracked_history


class Stewardship(models.Model):
    """No table: the steward permissions the roles (groups, made by a migration) are built from.

    Django attaches permissions to a model; these belong to no one model, so they live here.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("steward_customer", "Can review, merge, unmerge and edit customer records"),
            ("steward_product", "Can review, merge, unmerge and edit product records"),
            ("approve_changes", "Can approve or reject another steward's change request"),
            ("view_unmasked", "Can see tax IDs, emails and phone numbers in full"),
        ]

    def __str__(self) -> str:
        return "stewardship permissions"


class Assignment(models.Model):
    """Who works on an open review candidate (one steward at a time)."""

    candidate = models.OneToOneField(MatchCandidate, on_delete=models.CASCADE, related_name="assignment")
    steward = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField(auto_now=True)
    history = tracked_history()

    class Meta:
        indexes = [models.Index(fields=["steward", "assigned_at"])]

    def __str__(self) -> str:
        return f"{self.candidate_id} → {self.steward}"


class EditApproval(models.TextChoices):
    NEVER = "never", "Never: stewards apply edits directly"
    ERP_OWNED = "erp_owned", "When an ERP owns the attribute"
    ALWAYS = "always", "Always"


class MergeApproval(models.TextChoices):
    NEVER = "never", "Never: stewards merge directly"
    BOTH_ERP = "both_erp", "When both golden records have ERP sources"
    ALWAYS = "always", "Always"


class HierarchyApproval(models.TextChoices):
    NEVER = "never", "Never: stewards add and end hierarchy edges directly"
    ALWAYS = "always", "Always"


class RuleApproval(models.TextChoices):
    NEVER = "never", "Never: stewards change ownership rules directly"
    ALWAYS = "always", "Always"


class ApprovalPolicy(models.Model):
    """Which steward actions need a second person (four eyes), per entity type; editable in the admin."""

    entity_type = models.CharField(max_length=20, choices=EntityType.choices, unique=True)
    edits = models.CharField(max_length=12, choices=EditApproval.choices, default=EditApproval.ERP_OWNED)
    manual_merges = models.CharField(max_length=12, choices=MergeApproval.choices, default=MergeApproval.BOTH_ERP)
    hierarchy_edits = models.CharField(
        max_length=12,
        choices=HierarchyApproval.choices,
        default=HierarchyApproval.NEVER,
        help_text="Adding or ending a parent→child edge in a hierarchy of this entity type.",
    )
    ownership_rules = models.CharField(
        max_length=12,
        choices=RuleApproval.choices,
        default=RuleApproval.ALWAYS,
        help_text="A new order of owning systems or fallback for an attribute: every golden record is recomputed.",
    )
    history = tracked_history()

    class Meta:
        verbose_name_plural = "approval policies"

    def __str__(self) -> str:
        return f"approval policy for {self.entity_type}"


class ChangeStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Rejected"
    STALE = "stale", "Stale: the record changed; propose again"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ChangeKind(models.TextChoices):
    EDIT = "edit", "Edit of golden attributes"
    MERGE = "merge", "Merge of two golden records"
    HIERARCHY = "hierarchy", "Hierarchy edge added or ended"
    OWNERSHIP_RULE = "ownership_rule", "Ownership rule changed"


class ChangeRequest(models.Model):
    """A steward's proposed edit of golden attributes, merge, hierarchy edge or ownership rule, with its diff,
    its downstream impact, and who decided it.

    A merge request names the record to retire (`golden`) and the survivor (`survivor`); a hierarchy request
    the child (`golden`), its parent, the hierarchy and, when it ends one, the edge; an ownership-rule request
    the entity type and attribute of the rule (no one golden record).
    """

    kind = models.CharField(max_length=16, choices=ChangeKind.choices, default=ChangeKind.EDIT)
    entity_type = models.CharField(max_length=20, choices=EntityType.choices, help_text="The domain it belongs to.")
    golden = models.ForeignKey(
        GoldenRecord, null=True, blank=True, on_delete=models.CASCADE, related_name="change_requests"
    )
    survivor = models.ForeignKey(
        GoldenRecord, null=True, blank=True, on_delete=models.CASCADE, related_name="merge_requests"
    )
    survivor_version = models.PositiveIntegerField(null=True, blank=True)
    hierarchy = models.ForeignKey(HierarchyType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    parent = models.ForeignKey(
        GoldenRecord, null=True, blank=True, on_delete=models.CASCADE, related_name="parent_requests"
    )
    edge = models.ForeignKey(
        HierarchyEdge,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The edge to end; once applied, also the edge added.",
    )
    attribute = models.CharField(max_length=60, blank=True, default="", help_text="The ownership rule's attribute.")
    base_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="Edits and merges: the golden record's version the diff was made against."
    )
    changes = models.JSONField(
        help_text="{name: {'before': …, 'after': …}}: standardised attribute values, the edge, or the rule's systems "
        "and fallback."
    )
    impact = models.JSONField(default=dict, blank=True, help_text="Which targets would receive which fields.")
    reason = models.CharField(max_length=255)
    status = models.CharField(max_length=12, choices=ChangeStatus.choices, default=ChangeStatus.PENDING)
    needs_approval = models.BooleanField(default=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.CharField(max_length=255, blank=True, default="", help_text="The approver's comment.")
    history = tracked_history()

    class Meta:
        indexes = [models.Index(fields=["status", "requested_at"])]

    def __str__(self) -> str:
        return f"change request {self.pk}: {self.get_kind_display().lower()}"
