"""Golden records: the hub's mastered customers and products, each under an immutable golden ID."""

from typing import Any

from django.db import models

from mdm.golden_ids import new_golden_id
from mdm.models.base import MasteredModel


class EntityType(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    PRODUCT = "product", "Product"


class GoldenStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired (merged into another)"


class GoldenRecord(MasteredModel):
    """The identity of one mastered entity: its golden ID, type, lifecycle and version.

    The attributes live in the entity's own table (Customer, Product), one-to-one with this row, so
    cross-references, hierarchies, lineage and the outbox all point at one place whatever the type.
    """

    golden_id = models.CharField(max_length=20, unique=True, editable=False)
    entity_type = models.CharField(max_length=20, choices=EntityType.choices, db_index=True)
    status = models.CharField(max_length=10, choices=GoldenStatus.choices, default=GoldenStatus.ACTIVE)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
        help_text="For a retired record: the survivor its golden ID now resolves to.",
    )
    version = models.PositiveIntegerField(default=1, help_text="Bumped on every change of the golden values.")

    class Meta:
        indexes = [models.Index(fields=["entity_type", "status"])]

    def __str__(self) -> str:
        return self.golden_id

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.golden_id:
            self.golden_id = new_golden_id(self.entity_type)
        super().save(*args, **kwargs)

    @property
    def entity(self) -> "Customer | Product":
        """The attribute row of this golden record."""
        return self.customer if self.entity_type == EntityType.CUSTOMER else self.product


class CustomerKind(models.TextChoices):
    ORGANISATION = "organisation", "Organisation"
    PERSON = "person", "Person"


class CustomerStatus(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    BLOCKED = "blocked", "Blocked"


class GoldenAttributes(MasteredModel):
    """Columns shared by every golden entity table: the link to its identity and the lineage of each value."""

    golden = models.OneToOneField(GoldenRecord, primary_key=True, on_delete=models.PROTECT, related_name="+")
    lineage = models.JSONField(
        default=dict,
        blank=True,
        help_text="For each attribute: the source record (or steward override) and rule that supplied it.",
    )
    quality_flags = models.JSONField(default=list, blank=True, help_text="Problems found in the surviving values.")

    class Meta:
        abstract = True


class Customer(GoldenAttributes):
    """A golden customer: an organisation or a person, with the surviving value of every attribute."""

    golden = models.OneToOneField(GoldenRecord, primary_key=True, on_delete=models.PROTECT, related_name="customer")
    kind = models.CharField(max_length=15, choices=CustomerKind.choices, default=CustomerKind.ORGANISATION)
    legal_name = models.CharField(max_length=255, blank=True, default="")
    legal_name_core = models.CharField(
        max_length=255, blank=True, default="", help_text="Legal name without its legal form."
    )
    legal_form = models.CharField(max_length=40, blank=True, default="", help_text="Canonical legal-form suffix.")
    trade_name = models.CharField(max_length=255, blank=True, default="")
    first_name = models.CharField(max_length=120, blank=True, default="", help_text="Persons only.")
    last_name = models.CharField(max_length=120, blank=True, default="", help_text="Persons only.")
    date_of_birth = models.DateField(null=True, blank=True)
    national_id = models.CharField(max_length=64, blank=True, default="")
    tax_ids = models.JSONField(default=list, blank=True, help_text="[{value, country, scheme, valid, error}]")
    tax_id = models.CharField(max_length=64, blank=True, default="", db_index=True, help_text="The primary tax ID.")
    tax_country = models.CharField(max_length=2, blank=True, default="")
    legal_address = models.JSONField(default=dict, blank=True)
    billing_address = models.JSONField(default=dict, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    country = models.CharField(max_length=2, blank=True, default="", db_index=True)
    city = models.CharField(max_length=120, blank=True, default="")
    postcode = models.CharField(max_length=20, blank=True, default="")
    phones = models.JSONField(default=list, blank=True)
    phone = models.CharField(max_length=20, blank=True, default="", help_text="The primary phone, E.164.")
    emails = models.JSONField(default=list, blank=True)
    email = models.CharField(max_length=254, blank=True, default="")
    website = models.CharField(max_length=255, blank=True, default="", help_text="Website domain.")
    industry = models.CharField(max_length=120, blank=True, default="")
    status = models.CharField(max_length=10, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE)
    payment_terms = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["legal_name_core"]), models.Index(fields=["status"])]

    def __str__(self) -> str:
        return self.legal_name or self.trade_name or str(self.pk)


class ProductStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    DISCONTINUED = "discontinued", "Discontinued"


class Product(GoldenAttributes):
    """A golden product: an item as sold and invoiced, with the surviving value of every attribute."""

    golden = models.OneToOneField(GoldenRecord, primary_key=True, on_delete=models.PROTECT, related_name="product")
    sku = models.CharField(max_length=64, blank=True, default="", db_index=True)
    gtin = models.CharField(max_length=14, blank=True, default="", db_index=True)
    name = models.CharField(max_length=255, blank=True, default="")
    description = models.TextField(blank=True, default="")
    unit_of_measure = models.CharField(max_length=10, blank=True, default="")
    category = models.CharField(max_length=120, blank=True, default="", db_index=True)
    status = models.CharField(max_length=15, choices=ProductStatus.choices, default=ProductStatus.ACTIVE)
    list_price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")

    def __str__(self) -> str:
        return self.name or self.sku or str(self.pk)
