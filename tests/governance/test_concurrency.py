"""Two stewards on overlapping records at the same moment, against PostgreSQL: one wins, the other is told why."""

import importlib
from typing import Any

import pytest
from django.apps import apps

from governance import services
from mdm.models import GoldenMerge, GoldenRecord, GoldenStatus, SourceRecord, System
from tests.governance.conftest import candidate, goldens, person_in
from tests.mdm.test_concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded")]


@pytest.fixture
def stewards() -> list[Any]:
    importlib.import_module("governance.migrations.0002_roles").create_roles(apps, None)  # flushed by the last test
    return [person_in("Stewards", f"steward{n}") for n in range(4)]


def test_overlapping_merges_one_wins_and_no_source_has_two_goldens(stewards: list[Any]) -> None:
    a, b, c, d = goldens(System.objects.get(code="salesforce"))
    pairs = [candidate(d, a), candidate(d, b), candidate(d, c), candidate(c, a)]  # d is in three of them
    results = run_at_once(
        lambda index: services.candidate_merge(candidate_pk=pairs[index].pk, actor=stewards[index], reason="race"),
        threads=4,
    )
    lost = [result for result in results if isinstance(result, services.StewardError)]
    won = [result for result in results if isinstance(result, GoldenMerge)]
    assert len(won) + len(lost) == 4 and won, results
    assert all(error.code == "conflict" for error in lost)
    assert all("retired" in str(error) or "already decided" in str(error) for error in lost)
    d.refresh_from_db()
    assert d.status == GoldenStatus.RETIRED and GoldenMerge.objects.filter(merged=d).count() == 1
    for record in SourceRecord.objects.select_related("golden"):
        assert record.golden.status == GoldenStatus.ACTIVE  # every source sits on exactly one active record
    assert GoldenRecord.objects.filter(status=GoldenStatus.ACTIVE).count() == 4 - len(won)


def test_merge_and_unmerge_racing_on_one_merge(stewards: list[Any]) -> None:
    a, b, *_ = goldens(System.objects.get(code="salesforce"))
    merge = services.goldens_merge(survivor_id=a.golden_id, merged_id=b.golden_id, actor=stewards[0], reason="x")
    results = run_at_once(
        lambda index: services.merge_undo(merge_pk=merge.pk, actor=stewards[index], reason="undo"), threads=4
    )
    assert sum(isinstance(result, GoldenRecord) for result in results) == 1
    assert all("already undone" in str(result) for result in results if isinstance(result, services.StewardError))
    assert SourceRecord.objects.get(source_id="S-1").golden_id == b.pk
