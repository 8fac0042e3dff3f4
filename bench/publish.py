"""Publishing golden customers to the Salesforce simulator: API calls, records/s, peak memory, commit-to-delivery.

Loads N golden customers through the hub's own write path (`ingest`, matching deferred, batches of 1,000 as
system netsuite; timed and reported apart), copies the loaded database to ``<database>_loaded`` (a PostgreSQL
template), then measures, with the Salesforce simulator in a subprocess of its own (so neither the GIL nor its
record store is shared with the publisher):

1. publishing all N changed customers through sObject Collections (batch_size 2,000, at the bulk threshold,
   bulk_threshold 2,000): `outbox_dispatch` until the outbox is empty, then `target_deliver` until nothing is due,
   in a fresh child process (a worker as Celery would run it) whose own peak RSS (ru_maxrss) is the memory figure.
   API calls are the simulator's `api_calls_used()` (the token endpoint is not counted), against the goal
   1.02 x ceil(N/200);
2. republishing with nothing changed: every delivered record requeued (`deliveries_requeue`) and the relay run
   again: 0 calls expected;
3. one golden-record change at idle, 50 times (`--changes`): a real Celery worker (`celery -A config worker
   --concurrency 1`) on real Redis (db 13), the on-commit nudge on. Each change is one `ingest` transaction; the
   clock starts in an on-commit callback registered before the hub's own (so at commit, before the nudge is sent)
   and stops when the simulator holds the new Name (polled every 5 ms over a side door of the bench's simulator
   that is not an API call). The Delivery's delivered_at minus the commit time is shown beside it. One warm-up
   change first (the worker's first task imports the connector);
4. the same publish through Bulk API 2.0: the database restored from the loaded copy, the simulator emptied, and
   the target's batch_size raised to min(N, 20,000) (`--bulk-batch-size`), so each batch, being above
   bulk_threshold, becomes one job (4 jobs for 100,000). The relay fails on larger batches: its queries list a
   batch's IDs as parameters (twice, for the children of newly delivered parents) and PostgreSQL takes at most
   65,535, so batch_size above about 32,700 raises after the connector has sent the batch.

`--repeat R` runs the publishes R times (from the loaded copy each time) and reports medians.

    .venv/bin/python bench/publish.py                          # 100,000 customers
    .venv/bin/python bench/publish.py --records 10000 --skip-latency
    .venv/bin/python bench/publish.py --keep-db                # keep the databases; a later --keep-db reuses the load
    .venv/bin/python bench/publish.py --profile                # cProfile of each publish child (top functions)

Database ``mdm_bench_publish`` (``--database``) and its copy ``mdm_bench_publish_loaded``, both dropped at the end
unless ``--keep-db``.
"""

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _db import PG_ADMIN_URL, ROOT, fresh_database, percentile, setup_django  # noqa: E402 (bench dir first)

DATABASE = "mdm_bench_publish"
BROKER_URL = "redis://127.0.0.1:6379/13"
TARGET_CODE = "salesforce"
LOAD_BATCH = 1000
COLLECTION_SIZE = 200
CALL_GOAL_FACTOR = 1.02
POLL_SECONDS = 0.005
IDLE_SECONDS = 1.0
DEFAULT_BULK_THRESHOLD = 2000
BULK_BATCH_MAX = 20_000  # the Target.batch_size cap (a batch's IDs travel as query parameters)


# --- the simulator, in a process of its own -------------------------------------------------------------------


def serve_simulator(tls_dir: str) -> None:
    """Run the Salesforce simulator until killed; print its URL first. A side door serves the bench's look-ups."""
    from simulators.base import Request, Response
    from simulators.salesforce import SalesforceSimulator
    from simulators.tls import local_tls

    class BenchSimulator(SalesforceSimulator):
        """The simulator plus /__bench__/: one Account by golden ID, and the calls it answered by kind."""

        def handle(self, request: Request) -> Response:
            if request.path.startswith("/__bench__/account/"):
                record = self.by_external_id("Account", unquote(request.path.rsplit("/", 1)[1]))
                return Response.json(200 if record else 404, record)
            if request.path == "/__bench__/calls":
                with self._lock:
                    kinds = Counter(
                        f"{call.method} {_call_kind(call.path)} {call.status}"
                        for call in self.calls
                        if not call.path.startswith("/__")
                    )
                return Response.json(200, dict(kinds))
            return super().handle(request)

    simulator = BenchSimulator(tls=local_tls(Path(tls_dir)), port=0)
    print(simulator.url, flush=True)
    simulator.serve_forever()


def _call_kind(path: str) -> str:
    """A call's path without its IDs: /services/data/v59.0/jobs/ingest/750.../batches -> jobs/ingest/{id}/batches."""
    path = re.sub(r"^/services/data/v[\d.]+/?", "", path)
    return re.sub(r"/(?=[0-9A-Za-z]*\d)[0-9A-Za-z]{15,18}(?=/|$)", "/{id}", path) or path


class Simulator:
    """The simulator subprocess as the bench drives it: start, stats, look-ups, reset, memory, stop."""

    def __init__(self, tls_dir: Path):
        import requests

        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-simulator", str(tls_dir)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("https://"):
            raise SystemExit(f"the simulator did not start (said {self.url!r})")
        self.ca_pem = tls_dir / "ca.pem"
        self.http = requests.Session()
        self.http.verify = str(self.ca_pem)
        self.http.trust_env = False

    def stats(self) -> dict[str, Any]:
        return self.http.get(f"{self.url}/__simulator__/stats", timeout=30).json()

    def calls(self) -> Counter[str]:
        return Counter(self.http.get(f"{self.url}/__bench__/calls", timeout=30).json())

    def account(self, golden_id: str) -> dict[str, Any] | None:
        response = self.http.get(f"{self.url}/__bench__/account/{golden_id}", timeout=30)
        return response.json() if response.status_code == 200 else None

    def reset(self) -> None:
        self.http.post(f"{self.url}/__simulator__/reset", timeout=120).raise_for_status()

    def memory_mib(self) -> tuple[float, float]:
        """(current RSS, RSS high-water mark) of the simulator process, MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        values = {
            key: int(rest.split()[0])
            for key, _, rest in (line.partition(":") for line in status.splitlines())
            if key in ("VmRSS", "VmHWM")
        }
        return values["VmRSS"] / 1024, values["VmHWM"] / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# --- one publish, in a fresh child process (a worker's view) --------------------------------------------------


def publish_child(target_code: str, profile_path: str | None) -> None:
    """outbox_dispatch until the outbox is empty, then target_deliver until nothing is due; print a JSON result."""
    setup_django(os.environ["DATABASE_URL"])
    from django.db.models import Count

    from mdm.models import Delivery, DeliveryRun, Target
    from mdm.publishing import relay

    target = Target.objects.get(code=target_code)
    result: dict[str, Any] = {}

    def run() -> None:
        started = time.perf_counter()
        dispatched = relay.outbox_dispatch_all()
        dispatch_seconds = time.perf_counter() - started
        totals: Counter[str] = Counter()
        statuses: list[str] = []
        while True:
            summary = relay.target_deliver(target=target, budget_seconds=3600)
            statuses.append(summary.status + (f" ({summary.outage})" if summary.outage else ""))
            for name in ("batches", "records", "delivered", "unchanged", "skipped", "business", "technical", "dead"):
                totals[name] += getattr(summary, name)
            if summary.status != "done" or summary.batches == 0 or summary.outage:
                break
        result.update(
            seconds=time.perf_counter() - started,
            dispatch_seconds=dispatch_seconds,
            dispatched=dispatched,
            totals=dict(totals),
            statuses=statuses,
        )

    if profile_path:
        profiler = cProfile.Profile()
        profiler.runcall(run)
        profiler.dump_stats(profile_path)
    else:
        run()
    result["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["states"] = dict(
        Delivery.objects.filter(target=target).values_list("state").annotate(n=Count("id")).values_list("state", "n")
    )
    result["runs"] = DeliveryRun.objects.filter(target=target).count()
    errors = Counter(
        Delivery.objects.filter(target=target).exclude(error_code="").values_list("error_code", flat=True)[:100_000]
    )
    result["errors"] = dict(errors.most_common(5))
    print("RESULT " + json.dumps(result), flush=True)


def publish_phase(url: str, simulator: Simulator, label: str, profile: bool) -> dict[str, Any]:
    """Run one publish child; add the simulator's API calls (and their kinds) made meanwhile."""
    before, calls_before = simulator.stats(), simulator.calls()
    command = [sys.executable, __file__, "--publish-child", TARGET_CODE]
    profile_path = None
    if profile:
        profile_path = str(Path(tempfile.gettempdir()) / f"bench-publish-{label}.prof")
        command += ["--profile-out", profile_path]
    env = {**os.environ, "DATABASE_URL": url}
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    if completed.returncode or not lines:
        raise SystemExit(f"publish child failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    result = json.loads(lines[-1][len("RESULT ") :])
    after, calls_after = simulator.stats(), simulator.calls()
    result["api_calls"] = after["api_calls_used"] - before["api_calls_used"]
    result["call_kinds"] = dict(calls_after - calls_before)
    result["writes"] = after["writes"]["Account"] - before["writes"]["Account"]
    result["accounts"] = after["records"]["Account"]
    result["bulk_jobs"] = after["bulk_jobs"] - before["bulk_jobs"]
    if profile_path:
        out = io.StringIO()
        pstats.Stats(profile_path, stream=out).strip_dirs().sort_stats("cumulative").print_stats(35)
        result["profile"] = out.getvalue()
    return result


# --- the database ---------------------------------------------------------------------------------------------


def database_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def admin_execute(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        cursor = connection.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def copy_database(source: str, target: str) -> None:
    """Drop `target` and create it as a file copy of `source` (nobody may be connected to `source`)."""
    from django.conf import settings
    from django.db import connections

    if settings.configured:
        connections.close_all()
    admin_execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
    for attempt in range(20):  # an autovacuum worker may hold the source for a moment
        try:
            admin_execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}" STRATEGY = FILE_COPY')
            return
        except Exception:
            if attempt == 19:
                raise
            time.sleep(0.5)


def loaded_copy_holds(loaded: str, records: int) -> bool:
    """Whether the loaded copy exists and holds exactly `records` golden customers."""
    import psycopg

    if not admin_execute("SELECT 1 FROM pg_database WHERE datname = %s", (loaded,)):
        return False
    with psycopg.connect(database_url(loaded)) as connection:
        row = connection.execute("SELECT count(*) FROM mdm_goldenrecord WHERE entity_type = 'customer'").fetchone()
    return bool(row) and row[0] == records


def postgres_version() -> str:
    return str(admin_execute("SHOW server_version")[0][0]).split()[0]


# --- loading and configuring ----------------------------------------------------------------------------------


def load(records: int, seed: int) -> tuple[float, int]:
    """Ingest generated customers as netsuite, matching deferred, until `records` are accepted; (seconds, rejected)."""
    from generate_customers import customers

    from mdm.ingest import ingest
    from mdm.maintenance import analyze_stale_tables
    from mdm.models import System

    netsuite = System.objects.get(code="netsuite")
    accepted = rejected = 0
    started = time.perf_counter()
    source: Iterator[dict[str, Any]] = customers(records * 2, seed=seed)
    while accepted < records:
        batch = [next(source) for _ in range(min(LOAD_BATCH, records - accepted))]
        result = ingest(
            system=netsuite, entity_type="customer", records=batch, actor=netsuite.service_user, defer_matching=True
        )
        counts = result.counts
        accepted += counts["created"] + counts["updated"]
        rejected += counts["rejected"]
        if accepted and accepted % 20_000 < LOAD_BATCH:
            print(f"  loaded {accepted:,} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    analyze_stale_tables(scale_factor=0.0)
    return time.perf_counter() - started, rejected


def make_target(simulator: Simulator, *, batch_size: int, options: dict[str, Any]) -> Any:
    """The Salesforce target as `setup_targets --simulators` makes it (starting mapping, hierarchy customer_sales)."""
    from mdm.publishing.services import simulator_target_create

    return simulator_target_create(
        kind="salesforce",
        code=TARGET_CODE,
        base_url=simulator.url,
        ca_bundle=str(simulator.ca_pem),
        entity_types=["customer"],
        batch_size=batch_size,
        options=options,
    )


# --- commit-to-delivery with a real worker --------------------------------------------------------------------


def start_worker(url: str, log: Path, include: bool = False) -> subprocess.Popen[bytes]:
    """`celery -A config worker --concurrency 1` on Redis db 13 (emptied first); returns once it says it is ready.

    With `include`, `-I mdm.publishing.tasks` is added: the app's autodiscovery looks for `<app>.tasks` of the
    installed apps only, and `mdm.publishing` is not one, so a plain worker discards the nudge's relay task.
    """
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": BROKER_URL,
        "MDM_PUBLISH_NUDGE": "1",
        "DJANGO_DEBUG": "0",
    }
    celery = Path(sys.executable).parent / "celery"
    command = [str(celery), "-A", "config", "worker", "--concurrency", "1", "--loglevel", "INFO"]
    command += ["-n", f"bench-publish-{os.getpid()}@%h", "--without-gossip", "--without-mingle"]
    if include:
        command += ["-I", "mdm.publishing.tasks"]
    with log.open("wb") as output:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if " ready." in log.read_text(errors="replace"):
            return worker
        if worker.poll() is not None:
            break
        time.sleep(0.2)
    worker.kill()
    raise SystemExit(f"the Celery worker did not start:\n{log.read_text(errors='replace')[-3000:]}")


def worker_registers_relay(log: Path) -> bool:
    """Whether the worker's banner lists the relay task among its registered tasks."""
    banner = log.read_text(errors="replace")
    return ". mdm.publishing.tasks.relay" in banner


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGTERM)  # warm shutdown: the pool child finishes and exits with it
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def latency_phase(url: str, simulator: Simulator, changes: int, seed: int) -> dict[str, Any]:
    """Change one golden record at a time through ingest and time commit -> the simulator holds the new Name."""
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from mdm.ingest import ingest
    from mdm.models import Delivery, SourceRecord, System, Target

    netsuite = System.objects.get(code="netsuite")
    target = Target.objects.get(code=TARGET_CODE)
    pks = list(SourceRecord.objects.filter(system=netsuite).values_list("pk", flat=True))
    picked = random.Random(seed).sample(pks, changes + 1)
    probes = list(SourceRecord.objects.filter(pk__in=picked).values_list("payload", "golden__golden_id", "golden_id"))
    log = Path(tempfile.gettempdir()) / f"bench-publish-worker-{os.getpid()}.log"
    worker = start_worker(url, log)
    included = False
    if not worker_registers_relay(log):
        print(
            "warning: `celery -A config worker` does not register mdm.publishing.tasks (autodiscovery finds only "
            "<installed app>.tasks); restarting it with -I mdm.publishing.tasks",
            file=sys.stderr,
        )
        stop_worker(worker)
        worker = start_worker(url, log, include=True)
        included = True
    settings.MDM_PUBLISH_NUDGE = True
    seen_latency: list[float] = []
    delivered_latency: list[float] = []
    try:
        for number, (payload, golden_id, golden_pk) in enumerate(probes):
            name = f"Latency probe {number} {random.Random(number + seed).randrange(10**9)}"
            record = {**payload, "trade_name": name, "updated_at": timezone.now().isoformat()}
            committed: list[float] = []
            with transaction.atomic():
                transaction.on_commit(lambda committed=committed: committed.append(time.time()))
                result = ingest(
                    system=netsuite,
                    entity_type="customer",
                    records=[record],
                    actor=netsuite.service_user,
                    defer_matching=True,
                )
            if result.outcomes[0].status != "updated":
                raise SystemExit(f"probe {number} was not an update: {result.outcomes[0].as_dict()}")
            deadline = time.time() + 30
            while True:
                account = simulator.account(golden_id)
                if account is not None and account.get("Name") == name:
                    seen = time.time()
                    break
                if time.time() > deadline:
                    raise SystemExit(f"probe {number} ({golden_id}) not at the simulator after 30 s; worker log {log}")
                time.sleep(POLL_SECONDS)
            delivery = Delivery.objects.get(target=target, golden_id=golden_pk)
            for _ in range(200):  # the worker writes the result just after the simulator answered
                if delivery.state == "delivered" and delivery.delivered_at:
                    break
                time.sleep(0.01)
                delivery.refresh_from_db()
            if number:  # the first change warms the worker up
                seen_latency.append(seen - committed[0])
                if delivery.delivered_at:
                    delivered_latency.append(delivery.delivered_at.timestamp() - committed[0])
            time.sleep(IDLE_SECONDS)
    finally:
        settings.MDM_PUBLISH_NUDGE = False
        stop_worker(worker)
    return {"seen": seen_latency, "delivered_at": delivered_latency, "worker_log": str(log), "included": included}


# --- the report -----------------------------------------------------------------------------------------------


def describe_publish(label: str, result: dict[str, Any], goal: int | None) -> list[str]:
    totals = result["totals"]
    sent = totals.get("delivered", 0) + totals.get("business", 0) + totals.get("technical", 0)
    rate = totals.get("records", 0) / result["seconds"] if result["seconds"] else 0.0
    goal_text = f" (goal <= {goal:,})" if goal is not None else ""
    lines = [
        f"{label}:",
        f"  API calls {result['api_calls']:,}{goal_text}; bulk jobs {result['bulk_jobs']}; "
        f"Account writes {result['writes']:,}; accounts at the simulator {result['accounts']:,}",
        f"  {totals.get('records', 0):,} records in {result['seconds']:.1f} s end to end = {rate:,.0f} records/s "
        f"(dispatch of {result['dispatched']:,} events {result['dispatch_seconds']:.1f} s, deliver "
        f"{result['seconds'] - result['dispatch_seconds']:.1f} s, {totals.get('batches', 0)} batches)",
        f"  delivered {totals.get('delivered', 0):,}, unchanged {totals.get('unchanged', 0):,}, "
        f"business {totals.get('business', 0):,}, technical {totals.get('technical', 0):,}, "
        f"dead {totals.get('dead', 0):,}; sent {sent:,}; final states {result['states']}",
        f"  publisher peak RSS (ru_maxrss of the child process) {result['maxrss_mib']:.0f} MiB",
        f"  calls by kind: {result['call_kinds']}",
    ]
    if result.get("errors"):
        lines.append(f"  error codes: {result['errors']}")
    if result["statuses"][-1] != "done":
        lines.append(f"  deliver stopped: {result['statuses']}")
    if result.get("profile"):
        lines.append(result["profile"])
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="golden customers to publish")
    parser.add_argument("--changes", type=int, default=50, help="single changes timed commit-to-delivery")
    parser.add_argument("--skip-latency", action="store_true", help="no Celery worker, no commit-to-delivery")
    parser.add_argument("--skip-bulk", action="store_true", help="no Bulk API 2.0 run")
    parser.add_argument(
        "--bulk-batch-size",
        type=int,
        default=None,
        help="target.batch_size of the Bulk run (default N, at most 20,000)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each publish (medians are reported)")
    parser.add_argument("--keep-db", action="store_true", help="keep the databases; reuse a matching loaded copy")
    parser.add_argument("--profile", action="store_true", help="cProfile each publish child (top 35, cumulative)")
    parser.add_argument("--database", default=DATABASE, help="PostgreSQL database name (a copy <name>_loaded is made)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--serve-simulator", metavar="TLS_DIR", help=argparse.SUPPRESS)
    parser.add_argument("--publish-child", metavar="TARGET", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_simulator:
        serve_simulator(args.serve_simulator)
        return
    if args.publish_child:
        publish_child(args.publish_child, args.profile_out)
        return

    records = args.records
    print(
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, PostgreSQL {postgres_version()} on "
        f"127.0.0.1, Python {platform.python_version()}; {records:,} customers; simulator in its own process"
    )
    os.environ["CELERY_BROKER_URL"] = BROKER_URL  # this process sends the nudges of the latency phase
    database = args.database
    if "bench" not in database:
        raise SystemExit("--database must name a bench database (its name contains 'bench')")
    loaded = f"{database}_loaded"
    reuse = args.keep_db and loaded_copy_holds(loaded, records)
    load_seconds: float | None = None
    if reuse:
        url = database_url(database)
        # The code may have moved on since the load: bring the copy's schema up to date first.
        env = {**os.environ, "DATABASE_URL": database_url(loaded)}
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        copy_database(loaded, database)
        setup_django(url)
        print(f"load: reused {loaded} ({records:,} golden customers)")
    else:
        url = fresh_database(database)
        setup_django(url)
        from django.conf import settings

        settings.MDM_PUBLISH_NUDGE = False  # no worker yet: the load's nudges would pile up in Redis
        load_seconds, rejected = load(records, args.seed)
        print(
            f"load: {records:,} golden customers through ingest (defer_matching, batches of {LOAD_BATCH:,}, as "
            f"netsuite) in {load_seconds:.1f} s = {records / load_seconds:,.0f} records/s ({rejected:,} generated "
            "records rejected by the contract, not counted)"
        )
        copy_database(database, loaded)
    from django.conf import settings

    settings.MDM_PUBLISH_NUDGE = False
    from mdm.publishing.relay import deliveries_requeue

    goal = int(CALL_GOAL_FACTOR * -(-records // COLLECTION_SIZE))
    # One batch above the connector's bulk_threshold (2,000) becomes one Bulk job; the relay fails above about
    # 32,700 per batch (PostgreSQL takes at most 65,535 parameters; one query lists a batch's IDs twice).
    bulk_batch = args.bulk_batch_size or min(records, BULK_BATCH_MAX)
    bulk_options = {} if bulk_batch > DEFAULT_BULK_THRESHOLD else {"bulk_threshold": 0}
    tls_dir = Path(tempfile.mkdtemp(prefix="bench-publish-tls-"))
    simulator = Simulator(tls_dir)
    results: dict[str, Any] = {"collections": [], "republish": [], "bulk": []}
    try:
        for run in range(args.repeat):
            if run:
                copy_database(loaded, database)
                simulator.reset()
            target = make_target(simulator, batch_size=2000, options={})
            collections = publish_phase(url, simulator, "collections", args.profile)
            print("\n".join(describe_publish(f"run {run + 1}: publish through Collections", collections, goal)))
            requeued = deliveries_requeue(target=target, states=["delivered"])
            republish = publish_phase(url, simulator, "republish", args.profile)
            print("\n".join(describe_publish(f"run {run + 1}: republish of {requeued:,} unchanged", republish, 0)))
            results["collections"].append(collections)
            results["republish"].append(republish)
        sim_now, sim_peak = simulator.memory_mib()
        print(f"simulator process: RSS {sim_now:.0f} MiB, peak {sim_peak:.0f} MiB (not in the publisher's figure)")
        if not args.skip_latency:
            latency = latency_phase(url, simulator, args.changes, args.seed)
            results["latency"] = latency
            seen, stamped = latency["seen"], latency["delivered_at"]
            print(
                f"commit-to-delivery, {len(seen)} single changes at idle (worker --concurrency 1, Redis): "
                f"p50 {statistics.median(seen) * 1000:.0f} ms, p95 {percentile(seen, 0.95) * 1000:.0f} ms, "
                f"max {max(seen) * 1000:.0f} ms (simulator holds the new value); by Delivery.delivered_at: "
                f"p50 {statistics.median(stamped) * 1000:.0f} ms, p95 {percentile(stamped, 0.95) * 1000:.0f} ms"
            )
            if latency["included"]:
                print("  (the worker ran with -I mdm.publishing.tasks: a plain `celery -A config worker` drops nudges)")
        for run in range(0 if args.skip_bulk else args.repeat):
            copy_database(loaded, database)
            simulator.reset()
            make_target(simulator, batch_size=bulk_batch, options=bulk_options)
            bulk = publish_phase(url, simulator, "bulk", args.profile)
            label = f"run {run + 1}: publish through Bulk API 2.0 (target batch_size {bulk_batch:,})"
            print("\n".join(describe_publish(label, bulk, None)))
            results["bulk"].append(bulk)
        if results["bulk"]:
            sim_now, sim_peak = simulator.memory_mib()
            print(f"simulator process: RSS {sim_now:.0f} MiB, peak {sim_peak:.0f} MiB")
    finally:
        simulator.stop()
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            for name in (database, loaded):
                admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print_table(results, goal, load_seconds)


def _median(runs: list[dict[str, Any]], value: Any, spec: str) -> str:
    """The median of a figure over the runs, with every run's value in brackets when there are several."""
    values = [value(run) for run in runs]
    text = format(statistics.median(values), spec)
    return text if len(values) == 1 else f"{text} [{', '.join(format(v, spec) for v in values)}]"


def print_table(results: dict[str, Any], goal: int, load_seconds: float | None) -> None:
    """The figures of the issue, one row each; medians over the runs (each run's value in brackets)."""
    rows: list[tuple[str, str]] = []
    if load_seconds:
        rows.append(("load through ingest (not part of the figures)", f"{load_seconds:.0f} s"))

    def speed(run: dict[str, Any]) -> float:
        return run["totals"].get("records", 0) / run["seconds"]

    for key, label in (("collections", "Collections"), ("bulk", "Bulk API 2.0")):
        runs = results[key]
        if runs:
            calls = f"API calls (goal <= {goal:,})" if key == "collections" else "API calls"
            rows.append((f"{label}: {calls}", _median(runs, lambda run: run["api_calls"], ",.0f")))
            rows.append((f"{label}: records/s end to end", _median(runs, speed, ",.0f")))
            rows.append((f"{label}: seconds end to end", _median(runs, lambda run: run["seconds"], ".1f")))
            rows.append((f"{label}: publisher peak RSS, MiB", _median(runs, lambda run: run["maxrss_mib"], ".0f")))
    if results["republish"]:
        runs = results["republish"]
        rows.append(("republish, nothing changed: API calls", _median(runs, lambda run: run["api_calls"], ",.0f")))
        rows.append(("republish, nothing changed: seconds", _median(runs, lambda run: run["seconds"], ".1f")))
    if "latency" in results:
        seen = results["latency"]["seen"]
        p50, p95, top = statistics.median(seen) * 1000, percentile(seen, 0.95) * 1000, max(seen) * 1000
        rows.append(("one change at idle: commit-to-delivery p50 / p95 / max", f"{p50:.0f} / {p95:.0f} / {top:.0f} ms"))
    print()
    width = max(len(value) for _, value in rows)
    for label, value in rows:
        print(f"{label:<56} {value:>{width}}")


if __name__ == "__main__":
    main()
