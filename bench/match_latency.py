"""Real-time ingest-and-match latency: one record per `ingest` call, against N golden customers in PostgreSQL.

Loads N generated B2B company records (bench/generate_companies.py) through ingest in batches of
1,000 into `mdm_bench_latency` (skipped when the database already holds at least N source records,
unless --reset), then sends --probes single records, one call each, as a CRM would on save: half of
them variants of companies already in the hub (they match), half new companies. Prints p50/p95/p99
of the whole call (contract, standardisation, blocking, scoring, decision, golden record, history,
outbox, commit), and the same for match-on-entry (scoring only, nothing written).

    .venv/bin/python bench/match_latency.py --goldens 100000
    .venv/bin/python bench/match_latency.py --goldens 1000000 --probes 2000
"""

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _db import percentile, setup_django  # noqa: E402 (the bench directory is put on the path first)
from ingest_throughput import prepare_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mdm_bench_latency"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--goldens", type=int, default=100_000, help="source records loaded first")
    parser.add_argument("--probes", type=int, default=1000, help="single-record calls timed")
    parser.add_argument("--database-url")
    parser.add_argument("--reset", action="store_true", help="drop and reload the database")
    args = parser.parse_args()

    url = prepare_database(args.database_url, reset=args.reset, default_url=DEFAULT_URL)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from generate_companies import companies

    from matching.engine import match_on_entry
    from mdm.canonical import standardise
    from mdm.contracts import validate_record
    from mdm.ingest import ingest
    from mdm.maintenance import BULK_LOAD_SCALE_FACTOR, analyze_stale_tables
    from mdm.models import GoldenRecord, SourceRecord, System

    systems = {system.code: system for system in System.objects.all()}
    stored = SourceRecord.objects.count()
    if stored < args.goldens:
        print(f"loading {args.goldens:,} records (holding {stored:,}) ...", file=sys.stderr)
        started = time.perf_counter()
        generated = companies(args.goldens, seed=7)
        for number, chunk in enumerate(iter(lambda: list(itertools.islice(generated, 1000)), []), start=1):
            for code in ("salesforce", "netsuite"):
                records = [item["record"] for item in chunk if item["system"] == code]
                if records:
                    ingest(
                        system=systems[code], entity_type="customer", records=records, actor=systems[code].service_user
                    )
            if number % 10 == 0:
                analyze_stale_tables(scale_factor=BULK_LOAD_SCALE_FACTOR, history=False)
                print(f"  {number * 1000:,} loaded, {time.perf_counter() - started:.0f} s", file=sys.stderr)
        analyze_stale_tables(scale_factor=0.0, history=False)
    goldens = GoldenRecord.objects.filter(entity_type="customer").count()
    print(f"hub holds {SourceRecord.objects.count():,} customer source records in {goldens:,} golden records")

    # Probes: fresh companies from another seed; every other one reuses an existing record's content
    # under a new source ID (a CRM entering a company the ERP already has).
    existing = list(
        SourceRecord.objects.filter(entity_type="customer")
        .order_by("?")
        .values_list("payload", flat=True)[: args.probes // 2]
    )
    fresh = [item["record"] for item in itertools.islice(companies(args.probes, seed=99), args.probes)]
    probes = []
    for index in range(args.probes):
        base = existing[index // 2] if index % 2 == 0 and index // 2 < len(existing) else fresh[index]
        probes.append({**base, "source_id": f"PROBE-{time.time_ns()}-{index}"})

    entry_seconds = []
    for record in probes[: min(len(probes), 500)]:
        started = time.perf_counter()
        data, _, _ = validate_record("customer", record)
        match_on_entry("customer", standardise("customer", data).values)
        entry_seconds.append(time.perf_counter() - started)

    seconds, outcomes = [], {}
    system = systems["salesforce"]
    for record in probes:
        started = time.perf_counter()
        result = ingest(system=system, entity_type="customer", records=[record], actor=system.service_user)
        seconds.append(time.perf_counter() - started)
        match = result.outcomes[0].match or result.outcomes[0].status
        outcomes[match] = outcomes.get(match, 0) + 1

    def line(name: str, values: list[float]) -> str:
        return (
            f"{name}: {len(values):,} calls, p50 {statistics.median(values) * 1000:.1f} ms,"
            f" p95 {percentile(values, 0.95) * 1000:.1f} ms, p99 {percentile(values, 0.99) * 1000:.1f} ms,"
            f" max {max(values) * 1000:.1f} ms"
        )

    print(line("ingest-and-match, one record per call", seconds))
    print("  outcomes: " + ", ".join(f"{count:,} {name}" for name, count in sorted(outcomes.items())))
    print(line("match-on-entry (nothing written)", entry_seconds))


if __name__ == "__main__":
    main()
