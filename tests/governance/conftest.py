"""Stewards by role (the groups the roles migration makes), and review candidates to act on."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from matching.models import MatchCandidate
from mdm.ingest import ingest
from mdm.models import GoldenRecord, SourceRecord, System
from tests.records import customer


def person_in(role: str, username: str) -> Any:
    user = get_user_model().objects.create_user(username, password="correct horse battery", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def customer_steward(db: Any) -> Any:
    return person_in("Customer stewards", "carla.customers")


@pytest.fixture
def product_steward(db: Any) -> Any:
    return person_in("Product stewards", "pete.products")


@pytest.fixture
def viewer(db: Any) -> Any:
    return person_in("Viewers", "vera.viewer")


def logged_in(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


NAMES = ["Northwind Traders GmbH", "Northwind Trading GmbH", "Contoso Pharma AG", "Fabrikam Tools KG"]


def goldens(system: System) -> list[GoldenRecord]:
    """Four customer golden records, one source record each (matching deferred, so nothing links)."""
    records = [customer(f"S-{n}", legal_name=name, tax_ids=[]) for n, name in enumerate(NAMES)]
    ingest(system=system, entity_type="customer", records=records, actor=system.service_user, defer_matching=True)
    return list(GoldenRecord.objects.order_by("pk"))


def candidate(newer: GoldenRecord, older: GoldenRecord, probability: float = 0.9) -> MatchCandidate:
    return MatchCandidate.objects.create(
        golden=newer,
        candidate=older,
        source_record=SourceRecord.objects.filter(golden=newer).first(),
        entity_type=newer.entity_type,
        probability=probability,
        match_weight=3.2,
        model_version=0,
        explanation={"attributes": [{"attribute": "name", "level": "close", "weight": 6.6}]},
    )


@pytest.fixture
def approver(db: Any) -> Any:
    return person_in("Approvers", "alex.approver")
