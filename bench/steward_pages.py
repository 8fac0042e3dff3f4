"""Server time of the steward pages with 100,000 open review candidates in PostgreSQL (p50/p95, queries per page).

Loads golden customer records through ingest (matching deferred, so every record is its own golden record),
then creates review candidates between random pairs of them, and times the pages through Django's test
client in this process (server time: URL routing, queries, template rendering; no network, no browser):

- the review queue (first page, a deep page, a score band, oldest first),
- a candidate's page (both records side by side, attribute weights, the survivorship preview),
- the steward API's candidate list.

    .venv/bin/python bench/steward_pages.py                       # 100,000 candidates over 20,000 records
    .venv/bin/python bench/steward_pages.py --candidates 10000 --records 5000 --repeat 20
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _db import fresh_database, percentile, setup_django  # noqa: E402 (the bench directory is put on the path first)

DATABASE = "mdm_bench_steward"


def load(records: int, candidates: int, seed: int) -> None:
    from generate_customers import customers

    from matching.models import MatchCandidate
    from mdm.ingest import ingest
    from mdm.maintenance import analyze_stale_tables
    from mdm.models import GoldenRecord, SourceRecord, System

    salesforce = System.objects.get(code="salesforce")
    batch: list[dict[str, Any]] = []
    for record in customers(records, seed=seed):
        batch.append(record)
        if len(batch) == 1000:
            ingest(
                system=salesforce,
                entity_type="customer",
                records=batch,
                actor=salesforce.service_user,
                defer_matching=True,
            )
            batch = []
    if batch:
        ingest(
            system=salesforce, entity_type="customer", records=batch, actor=salesforce.service_user, defer_matching=True
        )
    goldens = list(GoldenRecord.objects.values_list("pk", flat=True))
    source_of = dict(SourceRecord.objects.values_list("golden_id", "pk"))
    rng = random.Random(seed)
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < candidates:
        left, right = rng.sample(goldens, 2)
        pairs.add((max(left, right), min(left, right)))
    explanation = {
        "attributes": [
            {"attribute": "name", "level": "close", "weight": 6.6, "values": ["a", "b"]},
            {"attribute": "address", "level": "same city", "weight": 1.0, "values": ["x", "y"]},
        ]
    }
    rows = [
        MatchCandidate(
            golden_id=newer,
            candidate_id=older,
            source_record_id=source_of[newer],
            entity_type="customer",
            probability=rng.uniform(0.5, 0.97),
            match_weight=rng.uniform(0, 5),
            model_version=0,
            explanation=explanation,
        )
        for newer, older in pairs
    ]
    MatchCandidate.objects.bulk_create(rows, batch_size=5000)
    analyze_stale_tables(scale_factor=0.0)


def timed(client: Any, url: str, repeat: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        queries = len(captured.captured_queries)
    return times, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=20_000, help="golden records the candidates pair up")
    parser.add_argument("--repeat", type=int, default=30, help="requests per page")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-load", action="store_true", help="reuse the database of an earlier run")
    args = parser.parse_args()

    url = (
        fresh_database(DATABASE)
        if not args.skip_load
        else os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres").rsplit("/", 1)[0]
        + f"/{DATABASE}"
    )
    setup_django(url)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from matching.models import MatchCandidate

    if not args.skip_load:
        started = time.perf_counter()
        load(args.records, args.candidates, args.seed)
        print(
            f"loaded {args.records:,} golden records and {args.candidates:,} candidates in "
            f"{time.perf_counter() - started:.0f} s"
        )
    user, _ = get_user_model().objects.get_or_create(username="bench.steward", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name="Stewards"))
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    sample = list(
        MatchCandidate.objects.filter(status="open").order_by("?").values_list("pk", flat=True)[: args.repeat]
    )
    pages = {
        "queue, first page": "/admin/steward/",
        "queue, page 1,000": "/admin/steward/?page=1000",
        "queue, score 0.90-0.95": "/admin/steward/?min_probability=0.9&max_probability=0.95",
        "queue, oldest first": "/admin/steward/?ordering=created_at",
        "API candidate list": "/api/v1/steward/candidates/?limit=50",
    }
    open_count = MatchCandidate.objects.filter(status="open").count()
    print(f"{open_count:,} open candidates; {args.repeat} requests per page (server time, ms)\n")
    print(f"{'page':<28} {'p50':>8} {'p95':>8} {'queries':>8}")
    for label, path in pages.items():
        times, queries = timed(client, path, args.repeat)
        print(f"{label:<28} {percentile(times, 0.5):>8.1f} {percentile(times, 0.95):>8.1f} {queries:>8}")
    times: list[float] = []
    queries = 0
    for pk in sample:
        one, queries = timed(client, f"/admin/steward/candidates/{pk}/", 1)
        times.extend(one)
    print(f"{'candidate page':<28} {percentile(times, 0.5):>8.1f} {percentile(times, 0.95):>8.1f} {queries:>8}")


if __name__ == "__main__":
    main()
