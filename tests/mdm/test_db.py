"""The array dumper that speeds up bulk inserts must round-trip every awkward value exactly."""

import json

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

AWKWARD = [
    "plain",
    "",
    "NULL",
    "null",
    'with "quotes"',
    "back\\slash",
    "{braces}",
    "a,b",
    " spaced ",
    "tab\there",
    "ünïcödé 北京",
    None,
]


def test_text_arrays_round_trip() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM unnest(%s::text[]) WITH ORDINALITY AS t(value, n) ORDER BY n", [AWKWARD])
        assert [row[0] for row in cursor.fetchall()] == AWKWARD


def test_jsonb_arrays_round_trip() -> None:
    documents = [{"name": value, "nested": {"list": [value, 1, None]}} for value in AWKWARD if value is not None]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT value::text FROM unnest(%s::jsonb[]) WITH ORDINALITY AS t(value, n) ORDER BY n",
            [[json.dumps(document) for document in documents]],
        )
        assert [json.loads(row[0]) for row in cursor.fetchall()] == documents


def test_bulk_update_through_unnest_round_trips_every_kind_of_column(salesforce) -> None:
    import datetime
    from decimal import Decimal

    from mdm.db import bulk_update_unnest
    from mdm.ingest import ingest
    from mdm.models import Customer, Product
    from tests.records import customer, product

    ingest(
        system=salesforce,
        entity_type="customer",
        records=[customer("A"), customer("B", legal_name="Beta AG")],
        actor=salesforce.service_user,
    )
    ingest(system=salesforce, entity_type="product", records=[product("P")], actor=salesforce.service_user)
    rows = list(Customer.objects.order_by("pk"))
    rows[0].legal_name, rows[0].phones, rows[0].date_of_birth = 'O\'Brien "Quoted" {x}, Ltd', ["+4930", None], None
    rows[1].legal_name, rows[1].billing_address, rows[1].date_of_birth = (
        "",
        {"city": "Zürich", "n": [1, "a,b"]},
        datetime.date(1970, 1, 2),
    )
    bulk_update_unnest(rows, ["legal_name", "phones", "billing_address", "date_of_birth"])
    first, second = Customer.objects.order_by("pk")
    assert (first.legal_name, first.phones, first.date_of_birth) == (
        'O\'Brien "Quoted" {x}, Ltd',
        ["+4930", None],
        None,
    )
    assert (second.legal_name, second.billing_address, second.date_of_birth) == (
        "",
        {"city": "Zürich", "n": [1, "a,b"]},
        datetime.date(1970, 1, 2),
    )
    item = Product.objects.get()
    item.list_price = Decimal("1234.5678")
    bulk_update_unnest([item], ["list_price"])
    assert Product.objects.get().list_price == Decimal("1234.5678")
