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
