"""Where the batch run loses recall: each true duplicate that does not end in its entity's first cluster, by why.

Reads a database loaded by `batch_dedupe.py` (default ``mdm_bench_batch_loaded``: every record still its own
golden record), scores and plans exactly as ``manage.py match --dry-run`` does (nothing is written), and sorts the
records the plan leaves apart from their entity's oldest record:

- no edge to a true match: blocking never shortlisted a record of its entity, or every such pair scored below review;
- best true edge below auto-link: the pair was scored, but is a review case at best;
- true edge not supported: it matches one member, not the cluster;
- sent to review: it matched two clusters (or an unclear one);
- joined its own entity's other cluster: the entity ends split in two;
- joined a wrong cluster: a precision error, counted here for completeness.

    .venv/bin/python bench/batch_misses.py /tmp/mdm_bench_batch/persons_1000000_42.csv
    .venv/bin/python bench/batch_misses.py persons.csv --database mdm_bench_batch_loaded --examples 3
"""

import argparse
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from batch_dedupe import database_url, read_truth  # noqa: E402 (the bench directory is put on the path first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("truth", type=Path, help="the CSV generate_persons.py wrote (rec_id and entity columns)")
    parser.add_argument("--database", default="mdm_bench_batch_loaded")
    parser.add_argument("--examples", type=int, default=2, help="records shown per reason (default 2)")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = database_url(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    from matching.batch import compare_by_scoring, plan_merges, score_table
    from matching.engine import match_context
    from matching.profiles import profile_table

    truth = read_truth(args.truth)
    context = match_context("customer")
    table = profile_table("customer")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, source_id FROM mdm_sourcerecord WHERE entity_type = 'customer'")
        source_ids = dict(cursor.fetchall())
    scores = score_table(context, table)
    plan = plan_merges(context, scores, compare=compare_by_scoring(context, table))
    number = {int(pk): index for index, pk in enumerate(table.golden_pks)}
    root = list(range(table.goldens))
    for survivor, merged, _ in plan.merges:
        root[number[merged]] = number[survivor]
    # The entity of each golden record: its first member's (a loaded database has one member each).
    entity = [truth.get(source_ids[int(table.source_pks[table.starts[golden]])]) for golden in range(table.goldens)]
    edges = defaultdict(list)
    for edge in scores.edges:
        edges[number[edge.younger]].append(edge)
    reviewed = {number[younger] for _, younger, _ in plan.proposals}
    by_entity = defaultdict(list)
    for golden, name in enumerate(entity):
        by_entity[name].append(golden)
    reasons: Counter[str] = Counter()
    examples: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for name, goldens in by_entity.items():
        for golden in goldens[1:]:
            if root[golden] == root[goldens[0]]:
                reasons["joined its entity's first cluster"] += 1
                continue
            true_edges = [edge for edge in edges[golden] if entity[number[edge.older]] == name]
            if root[golden] != golden:
                reason = (
                    "joined a wrong cluster"
                    if entity[root[golden]] != name
                    else "joined its own entity's other cluster"
                )
            elif not true_edges:
                reason = "no edge to a true match"
            elif max(edge.probability for edge in true_edges) < context.auto_link_threshold:
                reason = "best true edge below auto-link"
            elif not any(edge.supported for edge in true_edges):
                reason = "true edge not supported by the cluster"
            elif golden in reviewed:
                reason = "sent to review"
            else:
                reason = "other"
            reasons[reason] += 1
            examples[reason].append((golden, goldens[0]))
    duplicates = sum(len(goldens) - 1 for goldens in by_entity.values())
    print(f"{table.goldens:,} records, {duplicates:,} duplicates (records after their entity's first):")
    for reason, count in reasons.most_common():
        print(f"  {count:>9,}  {reason}")
    for reason, pairs in examples.items():
        print(f"\n{reason}:")
        for golden, first in pairs[: args.examples]:
            print(f"  {table.features(int(table.starts[golden]))}")
            print(f"  first of its entity: {table.features(int(table.starts[first]))}")


if __name__ == "__main__":
    main()
