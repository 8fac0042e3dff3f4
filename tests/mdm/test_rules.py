"""Ownership rules: editable, validated, and a change recomputes the golden records it governs."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from mdm.ingest import ingest
from mdm.models import Customer, GoldenRecord, OutboxEvent, OwnershipRule, System
from mdm.services import ownership_rule_save
from tests.records import customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(salesforce: System, netsuite: System) -> Customer:
    """One golden customer built from a Salesforce and an ERP record that disagree on the legal name."""
    ingest(
        system=salesforce,
        entity_type="customer",
        records=[customer("001", legal_name="Northwind (CRM)")],
        actor=salesforce.service_user,
    )
    ingest(
        system=netsuite,
        entity_type="customer",
        records=[customer("C1", legal_name="Northwind Traders GmbH")],
        actor=netsuite.service_user,
    )
    return Customer.objects.get()


def test_default_rules_are_seeded() -> None:
    rule = OwnershipRule.objects.get(entity_type="customer", attribute="legal_name")
    assert rule.systems[0] == "netsuite"
    assert OwnershipRule.objects.get(entity_type="customer", attribute="phones").systems == ["salesforce"]


def test_changing_a_rule_recomputes_affected_golden_records(linked: Customer, steward: Any) -> None:
    assert linked.legal_name == "Northwind Traders GmbH"
    rule = OwnershipRule.objects.get(entity_type="customer", attribute="legal_name")
    rule.systems = ["salesforce", "netsuite"]
    plan = ownership_rule_save(rule=rule, actor=steward, reason="CRM is now authoritative for names")
    assert plan.inline and plan.changed == 1
    linked.refresh_from_db()
    assert linked.legal_name == "Northwind (CRM)"
    assert linked.lineage["legal_name"]["system"] == "salesforce"
    assert OutboxEvent.objects.latest("id").changed_fields == ["legal_form", "legal_name", "legal_name_core"]
    assert rule.history.latest().history_user == steward
    assert linked.history.latest().history_change_reason == "CRM is now authoritative for names"


@override_settings(MDM_RECOMPUTE_INLINE_LIMIT=0)
def test_large_recompute_runs_in_a_task_after_commit(
    linked: Customer, steward: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rule = OwnershipRule.objects.get(entity_type="customer", attribute="legal_name")
    rule.systems = ["salesforce"]
    with django_capture_on_commit_callbacks(execute=True):
        plan = ownership_rule_save(rule=rule, actor=steward)
    assert not plan.inline
    linked.refresh_from_db()
    assert linked.legal_name == "Northwind (CRM)"
    assert linked.history.latest().history_user.username == "system:survivorship"
    assert GoldenRecord.objects.get().version == 3


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"attribute": "favourite_colour"}, "attribute"),
        ({"systems": ["salesforce", "salesforce"]}, "systems"),
        ({"systems": ["sap"]}, "systems"),
        ({"systems": "netsuite"}, "systems"),
        ({"fallback": "coin_toss"}, "fallback"),
    ],
)
def test_invalid_rules_are_refused(steward: Any, changes: dict, field: str) -> None:
    rule = OwnershipRule(entity_type="customer", attribute="industry", systems=["salesforce"])
    for name, value in changes.items():
        setattr(rule, name, value)
    with pytest.raises(ValidationError) as error:
        ownership_rule_save(rule=rule, actor=steward)
    assert field in error.value.message_dict
