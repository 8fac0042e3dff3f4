"""The demo data set: loaded through ingest, linked across systems, with hierarchies, flags and rejections."""

import functools
import io
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count
from rest_framework.test import APIClient

from demo.data import COUNTRIES, demo_data_build, demo_data_load, tax_id_is_valid
from mdm.models import Customer, GoldenRecord, HierarchyEdge, OutboxEvent, SourceRecord
from mdm.standardisation import gtin_is_valid, validate_tax_id

SMALL = {"customers": 60, "products": 20}


def load_demo(**options: Any) -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out, **{**SMALL, **options})
    return out.getvalue()


def golden_count(entity_type: str) -> int:
    return GoldenRecord.objects.filter(entity_type=entity_type).count()


def source_count(entity_type: str) -> int:
    return SourceRecord.objects.filter(entity_type=entity_type).count()


@pytest.mark.django_db
def test_demo_load_links_systems_builds_hierarchies_and_reports_rejections() -> None:
    output = load_demo()

    # Records of both systems sharing a VAT number, GTIN or SKU link to one golden record.
    assert golden_count("customer") < source_count("customer")
    assert golden_count("product") < source_count("product")
    shared = GoldenRecord.objects.annotate(systems=Count("source_records__system", distinct=True)).filter(systems=2)
    assert shared.filter(entity_type="customer").count() >= 20
    assert shared.filter(entity_type="product").exists()

    # NetSuite states legal ownership, Salesforce the sales hierarchy.
    edges = dict(HierarchyEdge.objects.values_list("hierarchy__code").annotate(n=Count("pk")))
    assert edges.get("customer_legal", 0) > 0
    assert edges.get("customer_sales", 0) > 0
    assert re.search(r"Hierarchy edges in force today: customer_legal \d+, customer_sales \d+", output)

    # An invalid VAT number is kept and flagged; broken records are rejected, counted and explained.
    flagged = Customer.objects.exclude(quality_flags=[])
    assert flagged.exists()
    assert all(flag["code"] == "invalid_tax_id" for customer in flagged for flag in customer.quality_flags)
    assert re.search(r"Rejected \d+ records", output)
    assert "unknown country 'Atlantis'" in output
    assert "invalid email address" in output
    assert not SourceRecord.objects.filter(source_id__in=["900000", "900001", "800000"]).exists()


@pytest.mark.django_db
def test_second_demo_load_changes_nothing() -> None:
    load_demo()
    before = (
        SourceRecord.objects.count(),
        GoldenRecord.objects.count(),
        HierarchyEdge.objects.count(),
        OutboxEvent.objects.count(),
        Customer.history.count(),
    )
    report = demo_data_load(data=demo_data_build(**SMALL))
    assert all(counts["created"] == counts["updated"] == 0 for counts in report.counts.values())
    assert sum(counts["unchanged"] for counts in report.counts.values()) == before[0]
    assert report.rejections
    assert "Nothing changed" in load_demo()
    after = (
        SourceRecord.objects.count(),
        GoldenRecord.objects.count(),
        HierarchyEdge.objects.count(),
        OutboxEvent.objects.count(),
        Customer.history.count(),
    )
    assert after == before


@pytest.mark.django_db
def test_demo_keys_are_shown_once_and_work() -> None:
    first = load_demo()
    secret = re.search(r"\[read\]: (mdm_\S+)", first).group(1)
    password = re.search(r"Steward login: steward / (\S+)", first).group(1)
    steward = get_user_model().objects.get(username="steward")
    assert steward.is_staff and steward.is_superuser and steward.check_password(password)

    second = load_demo()
    assert secret not in second and password not in second
    assert "exists" in second

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    assert client.get("/api/v1/customers/").status_code == 200

    renewed = load_demo(new_keys=True)
    assert re.search(r"\[read\]: (mdm_\S+)", renewed).group(1) != secret
    assert client.get("/api/v1/customers/").status_code == 401


def test_demo_data_is_the_same_for_the_same_seed() -> None:
    assert demo_data_build(**SMALL) == demo_data_build(**SMALL)
    assert demo_data_build(**SMALL) != demo_data_build(**SMALL, seed=7)


def test_demo_vat_numbers_are_valid_except_the_deliberate_typos() -> None:
    data = demo_data_build(customers=400, products=200)
    verdicts = [
        validate_tax_id(tax["value"], country=tax.get("country") or record["legal_address"]["country"]).valid
        for record in data.customers["netsuite"]
        for tax in record.get("tax_ids", [])
    ]
    assert 0 < verdicts.count(False) < len(verdicts) * 0.05
    gtins = [record["gtin"] for record in data.products["netsuite"] if "gtin" in record]
    assert 0 < sum(not gtin_is_valid(gtin) for gtin in gtins) < len(gtins) * 0.05


@functools.cache
def erp_customers() -> list[dict[str, Any]]:
    return demo_data_build(customers=300, products=1).customers["netsuite"]


@pytest.mark.parametrize("country", COUNTRIES, ids=lambda country: country.code)
def test_demo_vat_generator_agrees_with_the_hub(country: Any) -> None:
    values = [
        tax["value"]
        for record in erp_customers()
        for tax in record.get("tax_ids", [])
        if tax["country"] == country.code
    ]
    assert values
    for value in values:
        assert tax_id_is_valid(country.code, value) == validate_tax_id(value, country=country.code).valid


@pytest.mark.django_db
def test_demo_is_refused_in_production(settings: Any) -> None:
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        load_demo()
