"""Ingest throughput on PostgreSQL: N generated customers through `mdm.ingest.ingest` in batches of 1,000.

Prints records/second (overall, and the median and spread of the per-batch rates, early against
late batches so a slowdown as the tables grow shows), the share of time spent waiting on the
database, and the resulting counts of golden records, source records and history rows.

The database: --database-url, else DATABASE_URL, else a throwaway `mdm_bench` database on
postgres@127.0.0.1:5432 (trust auth), created and migrated here. The bench refuses a database that
already holds source or golden records unless --reset, which drops and re-creates it (only for
databases whose name contains "bench").

    .venv/bin/python bench/ingest_throughput.py                  # 100,000 records
    .venv/bin/python bench/ingest_throughput.py --records 20000 --reset --profile 5
"""

import argparse
import cProfile
import io
import itertools
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from generate_customers import customers  # noqa: E402 (the bench directory is put on the path first)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mdm_bench"
PROFILE_AFTER = 2  # batches left unprofiled first, so caches and connections are warm


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def prepare_database(url: str | None, *, reset: bool, default_url: str = DEFAULT_URL) -> str:
    """Choose the benchmark database, create it if missing (drop it first with reset), and return its URL.

    Runs before Django is configured, so the chosen URL is the one settings read.
    """
    url = url or os.environ.get("DATABASE_URL") or default_url
    if not url.startswith(("postgres://", "postgresql://")):
        print(f"warning: {url} is not PostgreSQL; figures will not mean much", file=sys.stderr)
        return url
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    if reset and "bench" not in name:
        sys.exit(f"refusing to --reset database '{name}': only databases named *bench* are dropped")
    with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reset:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    return url


def setup_django(url: str) -> None:
    """Configure Django in this process against `url` (quiet, DEBUG off so queries are not kept) and migrate."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def refuse_if_not_empty(reset_hint: str) -> None:
    """Stop when the database already holds records: the figures depend on table sizes, and data is not ours."""
    from mdm.models import GoldenRecord, SourceRecord

    if SourceRecord.objects.exists() or GoldenRecord.objects.exists():
        sys.exit(f"the database already holds records; {reset_hint}")


def store_counts() -> dict[str, int]:
    """Rows in the store after the run: golden, source, xrefs, outbox, and history per tracked model."""
    from django.apps import apps

    from mdm.models import CrossReference, GoldenRecord, OutboxEvent, SourceRecord

    counts = {
        "golden records": GoldenRecord.objects.count(),
        "source records": SourceRecord.objects.count(),
        "cross-references": CrossReference.objects.count(),
        "outbox events": OutboxEvent.objects.count(),
    }
    history = {
        model._meta.model_name.removeprefix("historical"): model.objects.count()
        for model in apps.get_models()
        if model.__name__.startswith("Historical")
    }
    counts["history rows"] = sum(history.values())
    for name, count in sorted(history.items()):
        if count:
            counts[f"  history: {name}"] = count
    return counts


class QueryTimer:
    """Time spent inside database calls (a connection execute wrapper): the rest is Python."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.queries = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1


def batches(records: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while batch := list(itertools.islice(records, size)):
        yield batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--system", default="netsuite", help="the sending system (default netsuite)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", help=f"default: DATABASE_URL, else {DEFAULT_URL}")
    parser.add_argument("--reset", action="store_true", help="drop and re-create the (bench) database first")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile N batches (after the first two)")
    args = parser.parse_args()

    url = prepare_database(args.database_url, reset=args.reset)
    setup_django(url)
    refuse_if_not_empty("pass --reset to drop and re-create it")

    from django.db import connection

    from mdm.imports import ANALYZE_EVERY_BATCHES
    from mdm.ingest import ingest
    from mdm.maintenance import BULK_LOAD_SCALE_FACTOR, analyze_stale_tables
    from mdm.models import System

    system = System.objects.get(code=args.system)
    print(f"database {urlsplit(url).path.lstrip('/')} ({connection.vendor}); {args.records:,} records as {system.code}")
    rates: list[float] = []
    db_share: list[float] = []
    queries: list[int] = []
    totals = dict.fromkeys(("created", "updated", "unchanged", "rejected"), 0)
    profiler = cProfile.Profile() if args.profile else None
    timer = QueryTimer()
    elapsed = analyze_seconds = 0.0
    analyzed = 0
    cpu_before = os.times()
    with connection.execute_wrapper(timer):
        for number, batch in enumerate(batches(customers(args.records, seed=args.seed), args.batch_size), start=1):
            profiling = profiler is not None and PROFILE_AFTER < number <= PROFILE_AFTER + args.profile
            before_db, before_queries = timer.seconds, timer.queries
            if profiling:
                profiler.enable()
            started = time.perf_counter()
            result = ingest(
                system=system, entity_type="customer", records=batch, actor=system.service_user, reason="benchmark"
            )
            took = time.perf_counter() - started
            if profiling:
                profiler.disable()
            elapsed += took
            rates.append(len(batch) / took)
            db_share.append((timer.seconds - before_db) / took)
            queries.append(timer.queries - before_queries)
            for status, count in result.counts.items():
                totals[status] += count
            if number % ANALYZE_EVERY_BATCHES == 0:
                # As import_records does; counted in the overall rate, not in the per-batch rates.
                started = time.perf_counter()
                analyzed += len(analyze_stale_tables(scale_factor=BULK_LOAD_SCALE_FACTOR, history=False))
                analyze_seconds += time.perf_counter() - started
                elapsed += time.perf_counter() - started
            if number % 10 == 0:
                done = sum(totals.values())
                print(
                    f"  batch {number}: {rates[-1]:,.0f} rec/s, {queries[-1]} queries, db {db_share[-1]:.0%};"
                    f" {done:,} records, {done / elapsed:,.0f} rec/s so far",
                    file=sys.stderr,
                    flush=True,
                )
    cpu_after = os.times()
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    done = sum(totals.values())
    tenth = max(len(rates) // 10, 1)
    print(f"\ningested {done:,} records in {elapsed:.1f} s of ingest time ({len(rates)} batches of {args.batch_size})")
    print(f"overall: {done / elapsed:,.0f} records/s")
    print(f"table statistics refreshed: {analyzed} ANALYZE runs, {analyze_seconds:.1f} s (included above)")
    print(
        f"per batch: median {statistics.median(rates):,.0f} rec/s, min {min(rates):,.0f}, max {max(rates):,.0f};"
        f" first 10% {statistics.median(rates[:tenth]):,.0f}, last 10% {statistics.median(rates[-tenth:]):,.0f}"
    )
    print(
        f"time in database calls: {statistics.median(db_share):.0%} of a batch (median);"
        f" {statistics.median(queries):.0f} queries per batch (median)"
    )
    print(
        f"CPU time of this (Python) process: {cpu / done * 1000:.2f} ms per record"
        f" (includes generating the records, about 0.05 ms each); load average {os.getloadavg()[0]:.1f}"
    )
    print("outcomes: " + ", ".join(f"{count:,} {status}" for status, count in totals.items()))
    for name, count in store_counts().items():
        print(f"{name}: {count:,}")
    if profiler is not None and profiler.getstats():
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(30)
            print(f"\n--- profile of batches {PROFILE_AFTER + 1}-{PROFILE_AFTER + args.profile}, by {order} ---")
            print(out.getvalue())
        if os.environ.get("BENCH_PROFILE_DUMP"):
            profiler.dump_stats(os.environ["BENCH_PROFILE_DUMP"])


if __name__ == "__main__":
    main()
