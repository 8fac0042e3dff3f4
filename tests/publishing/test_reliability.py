"""Reliability of publishing (issue 5, item 10): a worker killed mid-publish, the broker down during ingest, and a
target failing one call in five. Each test prints `lost=N duplicated=N recovered=N` and what it did.

The first two run real Celery workers (subprocesses) against the test's own redis-server and the test database,
publishing to a Salesforce simulator in this process; they need PostgreSQL and Redis. The third runs anywhere.
"""

import contextlib
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from config.celery import app as celery_app
from mdm.ingest import ingest
from mdm.models import (
    OPEN_STATES,
    Delivery,
    DeliveryState,
    OutboxEvent,
    OutboxStatus,
    System,
    Target,
)
from mdm.publishing import relay
from mdm.publishing.defaults import SIMULATOR_CREDENTIALS
from mdm.publishing.services import simulator_target_create
from mdm.publishing.tasks import relay as relay_task
from simulators.salesforce import SalesforceFaults, SalesforceSimulator
from simulators.tls import LocalTLS, local_tls
from tests.publishing.workers import CeleryWorker, RedisServer, database_url, tail, wait_until
from tests.records import customer

GOLDEN_ID_FIELD = "MDM_Golden_ID__c"


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def tls(tmp_path: Path) -> LocalTLS:
    return local_tls(tmp_path / "tls")


@pytest.fixture
def start_simulator(tls: LocalTLS) -> Iterator[Callable[..., SalesforceSimulator]]:
    """Start a Salesforce simulator in a thread of this process (stopped after the test)."""
    started: list[SalesforceSimulator] = []

    def start(faults: SalesforceFaults | None = None) -> SalesforceSimulator:
        credentials = SIMULATOR_CREDENTIALS["salesforce"]
        simulator = SalesforceSimulator(tls=tls, faults=faults, **credentials)
        simulator.start()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own on a free port, so the shared Redis is never disturbed."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server): the broker tests need their own")
    server = RedisServer(tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def broker(private_redis: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point this process's Celery app (task sends and the on-commit nudge) at the private Redis."""
    # Celery reads the CELERY_BROKER_URL environment variable before its configuration, and the Django-namespaced
    # key shadows the plain one in the configuration: set both, or the sends go to the shared Redis.
    monkeypatch.setenv("CELERY_BROKER_URL", private_redis.url)
    previous = celery_app.conf.CELERY_BROKER_URL
    _reset_celery_pools()
    celery_app.conf.CELERY_BROKER_URL = private_redis.url
    with celery_app.connection_for_write() as conn:
        assert conn.as_uri() == private_redis.url, f"the app would send to {conn.as_uri()}"
    try:
        yield private_redis.url
    finally:
        _reset_celery_pools()
        celery_app.conf.CELERY_BROKER_URL = previous


def _reset_celery_pools() -> None:
    """Forget pooled broker connections, so the next send connects to the broker now configured."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
        celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def workers(
    seeded: None, private_redis: RedisServer, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], CeleryWorker]]:
    """Start real Celery workers on the private Redis and the test database; all are ended after the test.

    Depends on `seeded` (so on the transactional database): the workers are gone before the database is flushed.
    """
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "CELERY_BROKER_URL": private_redis.url,
        "MDM_PUBLISH_LEASE_SECONDS": "5",
        "MDM_ENV": "test",
        "MDM_PUBLISH_NUDGE": "false",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    log_path = tmp_path / "workers.log"
    started: list[CeleryWorker] = []
    failed_before = request.session.testsfailed

    def start(name: str) -> CeleryWorker:
        worker = CeleryWorker(name=name, env=env, log_path=log_path)
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.stop()
    if request.session.testsfailed > failed_before:
        print(f"\n--- tail of the worker log {log_path}:\n{tail(log_path, 80)}")
        print(f"--- tail of the redis log:\n{tail(private_redis.log_path, 20)}")


# ---------------------------------------------------------------------------------------------- helpers


def salesforce_target(simulator: SalesforceSimulator, tls: LocalTLS, *, batch_size: int, max_attempts: int) -> Target:
    """A Salesforce target on the simulator, receiving customers through the starting mapping."""
    return simulator_target_create(
        kind="salesforce",
        code="salesforce-sim",
        base_url=simulator.url,
        ca_bundle=str(tls.ca_pem),
        entity_types=["customer"],
        note="reliability test",
        hierarchy="",
        batch_size=batch_size,
        max_attempts=max_attempts,
    )


def company(n: int, name: str | None = None) -> dict[str, Any]:
    """An ERP customer of its own (distinct name and contacts, no tax ID)."""
    return customer(f"REL-{n}", legal_name=name or f"Reliability Customer {n} GmbH", tax_ids=[])


def load(records: list[dict[str, Any]], *, batch: int = 1000) -> list[str]:
    """Ingest ERP customers in batches (one transaction each, no matching); their golden IDs, in order."""
    netsuite = System.objects.get(code="netsuite")
    golden_ids: list[str] = []
    for start in range(0, len(records), batch):
        result = ingest(
            system=netsuite,
            entity_type="customer",
            records=records[start : start + batch],
            actor=netsuite.service_user,
            defer_matching=True,
        )
        refused = [o for o in result.outcomes if not o.golden_id]
        assert not refused, f"ingest refused records: {refused[:3]}"
        golden_ids += [o.golden_id for o in result.outcomes]
    return golden_ids


def accounts_by_golden_id(simulator: SalesforceSimulator) -> Counter[str]:
    """How many live Accounts carry each golden ID."""
    return Counter(r[GOLDEN_ID_FIELD] for r in simulator.records("Account") if not r["IsDeleted"])


def lost_and_duplicated(simulator: SalesforceSimulator, expected: set[str]) -> tuple[set[str], int, set[str]]:
    """(golden IDs missing at the target, surplus Accounts for golden IDs held more than once, foreign golden IDs)."""
    held = accounts_by_golden_id(simulator)
    duplicated = sum(count - 1 for count in held.values() if count > 1)
    return expected - set(held), duplicated, set(held) - expected


def all_delivered_at_latest(target: Target) -> int:
    """Deliveries of the target that hold the golden record's current version."""
    return Delivery.objects.filter(
        target=target, state=DeliveryState.DELIVERED, delivered_version=F("golden__version")
    ).count()


def published(target: Target, expected: int) -> bool:
    """Everything is out: no pending outbox event, every delivery delivered at the record's current version."""
    if OutboxEvent.objects.filter(status=OutboxStatus.PENDING).exists():
        return False
    return all_delivered_at_latest(target) == expected


# ---------------------------------------------------------------------------------------------- 1. kill -9


@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_killed_mid_publish_loses_and_duplicates_nothing(
    workers: Callable[[str], CeleryWorker],
    broker: str,
    start_simulator: Callable[..., SalesforceSimulator],
    tls: LocalTLS,
) -> None:
    total, changed_count = 5000, 100
    started = time.monotonic()
    simulator = start_simulator(SalesforceFaults(latency_ms=50))
    target = salesforce_target(simulator, tls, batch_size=500, max_attempts=8)
    golden_ids = load([company(n) for n in range(total)])
    loaded = time.monotonic()

    first = workers("first")
    relay_task.delay()
    wait_until(lambda: simulator.writes("Account") >= 1000, timeout=40, interval=0.02, what="1,000 writes")
    first.kill()
    writes_at_kill = simulator.writes("Account")
    killed = time.monotonic()
    assert writes_at_kill < total, f"the worker published all {writes_at_kill} before the kill: make publishing slower"
    held_at_kill = len(accounts_by_golden_id(simulator))
    recorded_at_kill = Delivery.objects.filter(target=target, state=DeliveryState.DELIVERED).count()
    lease_held = Target.objects.filter(pk=target.pk, lease_until__gt=timezone.now()).exists()

    # While no worker runs, 100 records change: the target must end with these versions, not the ones sent before.
    changed = {golden_ids[n]: f"Renamed Customer {n} AG" for n in range(0, total, total // changed_count)}
    load([company(n, name) for n, name in zip(range(0, total, total // changed_count), changed.values(), strict=True)])

    second = workers("second")
    second_started = timezone.now()
    deadline = time.monotonic() + 90
    while not published(target, total) and time.monotonic() < deadline:
        relay_task.delay()  # as beat would, every second
        time.sleep(1)
    finished = time.monotonic()
    outcome = "everything was out" if published(target, total) else "gave up waiting"

    lost, duplicated, foreign = lost_and_duplicated(simulator, set(golden_ids))
    recovered = Delivery.objects.filter(target=target, delivered_at__gte=second_started).count()
    print(
        f"\nlost={len(lost)} duplicated={duplicated} recovered={recovered} "
        f"(ingested {total} in {loaded - started:.1f} s; killed the worker with SIGKILL after {writes_at_kill} "
        f"writes, lease held={lease_held}; {held_at_kill} Accounts at the target, {recorded_at_kill} recorded as "
        f"delivered; {changed_count} records changed while down; {outcome} "
        f"{finished - killed:.1f} s after the kill; {simulator.writes('Account')} writes in all)"
    )
    assert second.running(), "the second worker died"
    assert not lost and duplicated == 0 and not foreign
    assert sum(accounts_by_golden_id(simulator).values()) == total
    assert all_delivered_at_latest(target) == total
    assert Delivery.objects.filter(target=target).exclude(state=DeliveryState.DELIVERED).count() == 0
    wrong_names = {
        golden_id: (simulator.by_external_id("Account", golden_id) or {}).get("Name")
        for golden_id, name in changed.items()
        if (simulator.by_external_id("Account", golden_id) or {}).get("Name") != name
    }
    assert not wrong_names, f"{len(wrong_names)} changed records hold an old name, e.g. {list(wrong_names.items())[:3]}"
    assert recovered >= total - recorded_at_kill


# ---------------------------------------------------------------------------------------------- 2. Redis down


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.nudge
def test_ingest_succeeds_while_redis_is_down_and_everything_is_published_once_it_is_back(
    workers: Callable[[str], CeleryWorker],
    broker: str,
    private_redis: RedisServer,
    start_simulator: Callable[..., SalesforceSimulator],
    tls: LocalTLS,
    caplog: pytest.LogCaptureFixture,
) -> None:
    total, batch = 500, 100
    simulator = start_simulator()
    target = salesforce_target(simulator, tls, batch_size=500, max_attempts=8)
    workers("worker")
    private_redis.kill()

    durations: list[float] = []
    golden_ids: list[str] = []
    with caplog.at_level(logging.WARNING, logger="mdm.publishing.nudge"):
        for start in range(0, total, batch):
            began = time.monotonic()
            golden_ids += load([company(n) for n in range(start, start + batch)], batch=batch)  # commits: nudges fire
            durations.append(time.monotonic() - began)
    dropped = [r for r in caplog.records if r.name == "mdm.publishing.nudge" and "nudge not sent" in r.getMessage()]
    pending = set(
        OutboxEvent.objects.filter(status=OutboxStatus.PENDING).values_list("golden__golden_id", flat=True).distinct()
    )
    assert len(golden_ids) == total and len(set(golden_ids)) == total
    assert len(dropped) == total // batch, "every commit's nudge must have been tried and dropped"
    assert pending == set(golden_ids), "the outbox must hold every change while the broker is down"
    assert not simulator.records("Account")

    down = time.monotonic()
    private_redis.start()
    relay_task.delay()
    with contextlib.suppress(TimeoutError):  # the counts below say what is missing
        wait_until(lambda: published(target, total), timeout=45, interval=0.25, what="everything published")
    back = time.monotonic() - down

    lost, duplicated, foreign = lost_and_duplicated(simulator, set(golden_ids))
    recovered = Delivery.objects.filter(target=target, state=DeliveryState.DELIVERED).count()
    print(
        f"\nlost={len(lost)} duplicated={duplicated} recovered={recovered} "
        f"(killed the private Redis under a running worker; ingested {total} customers in {total // batch} "
        f"transactions, {len(dropped)} nudges dropped, the slowest commit took {max(durations):.2f} s; "
        f"restarted Redis and sent one relay: published in {back:.1f} s)"
    )
    assert not lost and duplicated == 0 and not foreign
    assert sum(accounts_by_golden_id(simulator).values()) == total
    assert recovered == total and published(target, total)
    assert max(durations) < 4.0, f"a commit waited {max(durations):.1f} s for a broker that is down (the nudge)"


# ---------------------------------------------------------------------------------------------- 3. 20% faults


def test_everything_is_delivered_once_through_transient_faults_and_rejections_wait_in_the_exception_queue(
    db: None, start_simulator: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    total, every = 1000, 50
    faults = SalesforceFaults(error_rate=0.2, unavailable_rate=0.05, seed=7, reject_names_containing=("REJECT",))
    simulator = start_simulator(faults)
    target = salesforce_target(simulator, tls, batch_size=250, max_attempts=30)
    names = {n: f"Faulty Customer {n} REJECT GmbH" if n % every == 7 else None for n in range(total)}
    golden_ids = load([company(n, names[n]) for n in range(total)])
    rejected_ids = {golden_ids[n] for n, name in names.items() if name}
    accepted_ids = set(golden_ids) - rejected_ids

    calls = pauses = technical = 0
    retried: set[int] = set()  # deliveries that failed technically at least once
    started = time.monotonic()
    relay.outbox_dispatch()
    while calls < 400 and Delivery.objects.filter(target=target, state__in=OPEN_STATES).exists():
        calls += 1
        now = timezone.now()
        # Time passes: backoffs and pauses run out now instead of in seconds or minutes.
        Delivery.objects.filter(target=target, state__in=OPEN_STATES).update(next_attempt_at=now)
        pauses += Target.objects.filter(pk=target.pk, paused_until__gt=now).update(paused_until=now)
        summary = relay.target_deliver(target=target, max_batches=1)
        technical += summary.technical
        retried |= set(
            Delivery.objects.filter(target=target, state=DeliveryState.RETRYING).values_list("golden_id", flat=True)
        )
    elapsed = time.monotonic() - started

    lost, duplicated, foreign = lost_and_duplicated(simulator, accepted_ids)
    states = Counter(Delivery.objects.filter(target=target).values_list("state", flat=True))
    recovered = Delivery.objects.filter(target=target, golden_id__in=retried, state=DeliveryState.DELIVERED).count()
    print(
        f"\nlost={len(lost)} duplicated={duplicated} recovered={recovered} "
        f"({total} records, {len(rejected_ids)} rejected by a validation rule; 20% of writes UNABLE_TO_LOCK_ROW and "
        f"5% of calls 503: {technical} technical failures retried in {calls} relay calls with {pauses} pauses in "
        f"{elapsed:.1f} s; {simulator.api_calls_used()} API calls, {simulator.writes('Account')} writes; "
        f"deliveries {dict(states)})"
    )
    assert not lost and duplicated == 0
    assert foreign == set(), f"rejected records reached the target: {sorted(foreign)[:3]}"
    assert simulator.writes("Account") == len(accepted_ids), "an accepted record was written more than once"
    assert states == {DeliveryState.DELIVERED: len(accepted_ids), DeliveryState.REJECTED: len(rejected_ids)}
    queue = Delivery.objects.filter(target=target, state=DeliveryState.REJECTED).select_related("golden")
    assert {d.golden.golden_id for d in queue} == rejected_ids
    for delivery in queue:
        assert delivery.error_kind == "business" and delivery.error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
        assert delivery.error_message == "Name must not contain 'REJECT'" and delivery.error_fields == ["Name"]
    assert not Delivery.objects.filter(target=target, state=DeliveryState.DEAD).exists()
    assert recovered > 0, "no record was retried: the faults proved nothing"
