"""Query-count guards on every REST list endpoint, as NetBox keeps them: a page of many rows costs the queries of a
page of few (no query per row), and no more than the baseline written here. A change that adds a query per row,
or a query per page, fails here first; raise a baseline only with a reason."""

import random
import string
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from governance.services import change_propose, goldens_merge
from matching.models import MatchCandidate
from mdm.ingest import ingest
from mdm.models import Delivery, GoldenRecord, System, Target
from tests.governance.conftest import person_in

pytestmark = pytest.mark.django_db


def _name(number: int) -> str:
    """A company name no other number's resembles (so the matcher links none of them)."""
    rng = random.Random(number)
    return " ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(9)) for _ in range(2)).title()


def _customers(system: System, count: int, start: int) -> list[GoldenRecord]:
    records = [
        {"source_id": f"Q-{start + n}", "legal_name": _name(start + n), "billing_address": {"country": "GB"}}
        for n in range(count)
    ]
    outcomes = ingest(system=system, entity_type="customer", records=records, actor=system.service_user).outcomes
    return list(GoldenRecord.objects.filter(golden_id__in=[outcome.golden_id for outcome in outcomes]).order_by("pk"))


def _add_customers(system: System, count: int, start: int) -> None:
    _customers(system, count, start)


def _products(system: System, count: int, start: int) -> None:
    records = [
        {"source_id": f"I-{start + n}", "sku": f"QRY-{start + n}", "name": _name(start + n)} for n in range(count)
    ]
    ingest(system=system, entity_type="product", records=records, actor=system.service_user)


def _candidates(system: System, count: int, start: int) -> None:
    goldens = _customers(system, count * 2, start)
    MatchCandidate.objects.bulk_create(
        MatchCandidate(
            golden=goldens[2 * n + 1],
            candidate=goldens[2 * n],
            source_record=goldens[2 * n + 1].source_records.first(),
            entity_type="customer",
            probability=0.8,
            match_weight=2.0,
            model_version=0,
        )
        for n in range(count)
    )


def _merges(system: System, count: int, start: int, steward: Any) -> None:
    goldens = _customers(system, count * 2, start)
    for n in range(count):
        goldens_merge(
            survivor_id=goldens[2 * n].golden_id, merged_id=goldens[2 * n + 1].golden_id, actor=steward, reason="test"
        )


def _changes(system: System, count: int, start: int, steward: Any) -> None:
    for golden in _customers(system, count, start):
        change_propose(
            golden_id=golden.golden_id, attributes={"trade_name": f"Renamed {golden.pk}"}, actor=steward, reason="t"
        )


def _deliveries(system: System, count: int, start: int) -> None:
    target = Target.objects.filter(code="warehouse").first() or Target.objects.create(
        code="warehouse", name="Data warehouse", kind="webhook", base_url="https://warehouse.example/hook"
    )
    now = timezone.now()
    Delivery.objects.bulk_create(
        (
            Delivery(target=target, golden=golden, wanted_version=golden.version, error_message="x", error_at=now)
            for golden in _customers(system, count, start)
        ),
        ignore_conflicts=True,  # the target's subscription may have queued them already
    )


def _targets(system: System, count: int, start: int) -> None:
    for n in range(start, start + count):
        Target.objects.create(code=f"hook{n}", name=f"Hook {n}", kind="webhook", base_url=f"https://h{n}.example/")


def _queries(client: APIClient, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    return len(captured)


# (path, how to add rows, the queries a page takes today for a logged-in steward: session, user, then the page's own)
ENDPOINTS: list[tuple[str, str, int]] = [
    ("/api/v1/customers/", "customers", 5),
    ("/api/v1/products/", "products", 3),
    ("/api/v1/systems/", "none", 3),
    ("/api/v1/hierarchies/", "none", 3),
    ("/api/v1/publishing/targets/", "targets", 5),
    ("/api/v1/publishing/deliveries/", "deliveries", 4),
    ("/api/v1/steward/candidates/", "candidates", 6),
    ("/api/v1/steward/merges/", "merges", 6),
    ("/api/v1/steward/changes/", "changes", 6),
]


@pytest.mark.parametrize(("path", "rows", "baseline"), ENDPOINTS, ids=[path for path, _, _ in ENDPOINTS])
def test_a_list_page_costs_the_same_queries_for_many_rows_as_for_few(
    path: str, rows: str, baseline: int, salesforce: System, client_for: Callable[[str | None], APIClient]
) -> None:
    steward = person_in("Customer stewards", "quinn.queries")
    steward.groups.add(*steward.groups.model.objects.filter(name__in=["Product stewards", "Approvers"]))
    client = APIClient()
    client.force_login(steward)
    add: dict[str, Callable[[int, int], None]] = {
        "customers": lambda count, start: _add_customers(salesforce, count, start),
        "products": lambda count, start: _products(salesforce, count, start),
        "candidates": lambda count, start: _candidates(salesforce, count, start),
        "merges": lambda count, start: _merges(salesforce, count, start, steward),
        "changes": lambda count, start: _changes(salesforce, count, start, steward),
        "deliveries": lambda count, start: _deliveries(salesforce, count, start),
        "targets": lambda count, start: _targets(salesforce, count, start),
        "none": lambda count, start: None,
    }
    add[rows](2, 0)
    few = _queries(client, path)
    add[rows](8, 100)
    many = _queries(client, path)
    assert many == few, f"{path}: {few} queries for a page of 2 rows, {many} for 10: a query per row"
    assert few <= baseline, f"{path}: {few} queries, baseline {baseline}"
