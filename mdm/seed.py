"""What a new hub starts with: its systems, hierarchy types and default ownership rules.

Used by the data migration (with historical models) so every environment, tests included, starts
the same way.
"""

from typing import Any

SYSTEMS = [
    {"code": "salesforce", "name": "Salesforce", "kind": "crm"},
    {"code": "netsuite", "name": "NetSuite ERP", "kind": "erp"},
]

HIERARCHY_TYPES = [
    {"code": "customer_legal", "name": "Customer legal ownership", "entity_type": "customer"},
    {"code": "customer_sales", "name": "Customer sales hierarchy", "entity_type": "customer"},
    {"code": "product_category", "name": "Product category tree", "entity_type": "product"},
]

# The ERP owns legal and financial truth; Salesforce owns commercial contact data.
OWNERSHIP_RULES = [
    ("customer", "legal_name", ["netsuite", "salesforce"], "most_recent", "legal truth lives in the ERP"),
    ("customer", "tax_ids", ["netsuite"], "most_recent", "tax IDs are invoiced against in the ERP"),
    ("customer", "legal_address", ["netsuite"], "most_recent", "the registered address is the ERP's"),
    ("customer", "payment_terms", ["netsuite"], "most_recent", "terms are set by finance"),
    ("customer", "trade_name", ["salesforce"], "most_recent", "how sales knows the account"),
    ("customer", "phones", ["salesforce"], "most_recent", "sales keeps contact data current"),
    ("customer", "website", ["salesforce"], "most_recent", ""),
    ("customer", "industry", ["salesforce"], "most_frequent", ""),
    ("customer", "billing_address", ["netsuite", "salesforce"], "most_recent", ""),
    ("customer", "emails", ["salesforce"], "most_recent", ""),
    ("customer", "status", ["netsuite"], "most_recent", "credit holds and blocks are set by finance"),
    ("product", "name", ["netsuite"], "most_recent", "item master data is the ERP's"),
    ("product", "list_price", ["netsuite"], "most_recent", "prices are set by finance"),
    ("product", "unit_of_measure", ["netsuite"], "most_recent", ""),
    ("product", "description", ["salesforce"], "most_complete", "marketing copy is kept in the CRM"),
    ("product", "status", ["netsuite"], "most_recent", "an item is sellable when the ERP says so"),
]


def seed(apps: Any, schema_editor: Any) -> None:
    """Create the systems with their service accounts, the hierarchy types and the default rules."""
    User = apps.get_model("auth", "User")
    System = apps.get_model("mdm", "System")
    HierarchyType = apps.get_model("mdm", "HierarchyType")
    OwnershipRule = apps.get_model("mdm", "OwnershipRule")
    for spec in SYSTEMS:
        user, _ = User.objects.get_or_create(
            username=f"system:{spec['code']}", defaults={"is_active": False, "password": "!"}
        )
        System.objects.get_or_create(code=spec["code"], defaults={**spec, "service_user": user})
    for name in ("matcher", "survivorship", "importer"):
        User.objects.get_or_create(username=f"system:{name}", defaults={"is_active": False, "password": "!"})
    for spec in HIERARCHY_TYPES:
        HierarchyType.objects.get_or_create(code=spec["code"], defaults=spec)
    for entity_type, attribute, systems, fallback, note in OWNERSHIP_RULES:
        OwnershipRule.objects.get_or_create(
            entity_type=entity_type,
            attribute=attribute,
            defaults={"systems": systems, "fallback": fallback, "note": note},
        )
