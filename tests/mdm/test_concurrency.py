"""Races on the write path, for real: threads behind a barrier against PostgreSQL."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from mdm.ingest import ingest
from mdm.models import CrossReference, GoldenRecord, OutboxEvent, SourceRecord, System
from tests.records import customer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded")]

THREADS = 16


def run_at_once(work: Callable[[int], Any], threads: int = THREADS) -> list[Any]:
    """Run `work(i)` in `threads` threads released together; return results or the exceptions raised."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # collected, and asserted on by the test
            results[index] = exc
        finally:
            connection.close()

    workers = [threading.Thread(target=target, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return results


def test_same_record_from_sixteen_threads_is_stored_once() -> None:
    salesforce = System.objects.get(code="salesforce")
    results = run_at_once(
        lambda index: ingest(
            system=salesforce, entity_type="customer", records=[customer("001RACE")], actor=salesforce.service_user
        )
    )
    errors = [result for result in results if isinstance(result, Exception)]
    assert not errors, errors
    statuses = sorted(result.outcomes[0].status for result in results)
    assert statuses == ["created"] + ["unchanged"] * (THREADS - 1)
    assert SourceRecord.objects.count() == 1
    assert GoldenRecord.objects.count() == 1
    assert CrossReference.objects.count() == 1
    assert OutboxEvent.objects.count() == 1
    assert len({result.outcomes[0].golden_id for result in results}) == 1


def test_different_records_sharing_a_tax_id_land_on_one_golden_record() -> None:
    systems = [System.objects.get(code="salesforce"), System.objects.get(code="netsuite")]

    def work(index: int) -> Any:
        system = systems[index % 2]
        return ingest(
            system=system, entity_type="customer", records=[customer(f"R-{index}")], actor=system.service_user
        )

    results = run_at_once(work)
    assert not [result for result in results if isinstance(result, Exception)]
    assert SourceRecord.objects.count() == THREADS
    assert GoldenRecord.objects.count() == 1


def test_overlapping_batches_in_opposite_orders_do_not_deadlock_or_duplicate() -> None:
    salesforce = System.objects.get(code="salesforce")
    records = [customer(f"B-{index}", tax_ids=[], legal_name=f"Batch Company {index}") for index in range(40)]

    def work(index: int) -> Any:
        batch = records if index % 2 else list(reversed(records))
        return ingest(system=salesforce, entity_type="customer", records=batch, actor=salesforce.service_user)

    results = run_at_once(work, threads=8)
    assert not [result for result in results if isinstance(result, Exception)]
    assert SourceRecord.objects.count() == 40
    assert GoldenRecord.objects.count() == 40
