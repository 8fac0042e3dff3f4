"""manage.py match: duplicates that real time left apart are merged into the older record or queued."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from matching.models import CandidateStatus, MatchCandidate, MatchSettings
from mdm.ingest import ingest
from mdm.models import GoldenMerge, GoldenRecord, GoldenStatus, System

pytestmark = pytest.mark.django_db

BERLIN = {"line1": "Hauptstraße 5", "city": "Berlin", "postcode": "10115", "country": "DE"}


def load_apart(salesforce: System, netsuite: System, second_name: str = "NORTHWIND TRADERS G.m.b.H.") -> None:
    """Two records of one company, sent while blocking found no candidates (every key counted as too common)."""
    MatchSettings.objects.filter(entity_type="customer").update(max_block_size=0)
    ingest(
        system=netsuite,
        entity_type="customer",
        records=[
            {
                "source_id": "C-1",
                "legal_name": "Northwind Traders GmbH",
                "phones": ["030 1234567"],
                "legal_address": BERLIN,
            }
        ],
        actor=netsuite.service_user,
    )
    ingest(
        system=salesforce,
        entity_type="customer",
        records=[
            {"source_id": "001", "legal_name": second_name, "phones": ["+49 30 1234567"], "billing_address": BERLIN}
        ],
        actor=salesforce.service_user,
    )
    assert GoldenRecord.objects.count() == 2
    MatchSettings.objects.filter(entity_type="customer").update(max_block_size=200)


def run(*args: str) -> str:
    out = StringIO()
    call_command("match", "--entity", "customer", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_a_clear_duplicate_is_merged_into_the_older_record(salesforce: System, netsuite: System) -> None:
    load_apart(salesforce, netsuite)
    older, younger = GoldenRecord.objects.order_by("pk")
    output = run()
    assert "1 merged" in output
    younger.refresh_from_db()
    assert younger.status == GoldenStatus.RETIRED and younger.merged_into_id == older.pk
    merge = GoldenMerge.objects.get()
    assert merge.probability > 0.97 and merge.explanation["attributes"]
    assert "1 merged" not in run()  # a second run finds nothing left to do


def test_a_possible_duplicate_is_queued_once_and_a_rejected_one_never_again(
    salesforce: System, netsuite: System
) -> None:
    load_apart(salesforce, netsuite, second_name="Northwind Trading")
    MatchSettings.objects.filter(entity_type="customer").update(auto_link_threshold=0.9999999)
    run()
    candidate = MatchCandidate.objects.get()
    assert candidate.status == CandidateStatus.OPEN and candidate.explanation["attributes"]
    run()
    assert MatchCandidate.objects.count() == 1  # an open pair is not proposed twice
    MatchCandidate.objects.filter(pk=candidate.pk).update(status=CandidateStatus.REJECTED)
    output = run()
    assert MatchCandidate.objects.count() == 1 and "1 pairs skipped" in output


def test_a_dry_run_writes_nothing(salesforce: System, netsuite: System) -> None:
    load_apart(salesforce, netsuite)
    output = run("--dry-run")
    assert "dry run" in output and "1 would be merged" in output
    assert not GoldenMerge.objects.exists() and GoldenRecord.objects.filter(status="active").count() == 2


def test_only_what_an_import_touched(salesforce: System, netsuite: System) -> None:
    load_apart(salesforce, netsuite)
    assert "0 golden" in run("--since", "2999-01-01")
    assert run("--system", "salesforce", "--dry-run").startswith("1 golden")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "not an ISO 8601"),
        (["--system", "sap"], "unknown system"),
        (["--workers", "0"], "at least 1"),
    ],
)
def test_bad_arguments_are_clear_errors(args: list[str], message: str, db: Any) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_share_the_chunks(seeded: None) -> None:
    from matching.models import MatchSettings as Settings

    Settings.objects.get_or_create(entity_type="customer")
    salesforce, netsuite = System.objects.get(code="salesforce"), System.objects.get(code="netsuite")
    load_apart(salesforce, netsuite)
    output = run("--workers", "2", "--chunk-size", "1")
    assert "2 golden customer records re-matched" in output and "1 merged" in output
    assert GoldenRecord.objects.filter(status="active").count() == 1


def test_chunks_can_be_sent_to_celery_workers(salesforce: System, netsuite: System) -> None:
    load_apart(salesforce, netsuite)
    output = run("--celery", "--chunk-size", "1")  # tests run Celery tasks in-process
    assert "2 chunks (2 golden customer records) sent" in output
    assert GoldenRecord.objects.filter(status="active").count() == 1
