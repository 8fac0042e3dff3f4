"""Batch deduplication of FEBRL-like persons: the hub's `manage.py match` beside Splink, same machine, same data.

The matcher's target: deduplicate 1,000,000 records no slower than Splink, with peak memory under 4 GB. One command:

1. generate N persons with bench/generate_persons.py (seeded; 40% duplicates of 60% originals, FEBRL3's kind of
   errors) into a work directory: ``persons_N_seed.jsonl`` for the hub and ``persons_N_seed.csv`` (with the truth)
   for Splink;
2. load them into a fresh PostgreSQL database (default ``mdm_bench_batch``) with ``manage.py import_records FILE
   --system salesforce --entity customer --defer-matching --quiet``: every record gets its own golden record and its
   blocking keys, nothing is matched. Timed, and reported apart: it is the load, not the deduplication. The loaded
   database is then copied to ``<database>_loaded`` (a PostgreSQL template) so that ``--skip-load`` can start again
   from the loaded state;
3. ``manage.py match --entity customer --workers W`` in a child process: its wall time, and its memory sampled every
   0.2 s from /proc over the whole process tree (the command and its worker processes): the peak of the summed RSS,
   the peak of the summed PSS (pages shared by the forked workers counted once), and the kernel's maxrss of the
   largest single process (``wait4``). The PostgreSQL backends serving the database are sampled too (summed PSS) and
   shown apart: Splink's figure includes its database engine (DuckDB runs in its process), the hub's does not;
4. which golden record each source record ended up in (plain SQL), scored against the truth with bench/metrics.py:
   pairwise precision / recall / F1 over clusters and B-cubed F1, plus the open review candidates and the F1 if a
   steward accepted every one of them;
5. Splink 5 on the CSV (``bench/splink_run.py --dataset persons``, in .venv-splink: ``bash bench/setup_splink.sh``):
   its own time for load + training + prediction + clustering, the process's wall time, its peak RSS up to the end
   of clustering and over the whole run (which includes scoring), and its pair F1 before clustering.

    .venv/bin/python bench/batch_dedupe.py                      # 1,000,000 records, 2 workers
    .venv/bin/python bench/batch_dedupe.py --records 20000 --json
    .venv/bin/python bench/batch_dedupe.py --skip-load          # match again from the loaded database, same files
    .venv/bin/python bench/batch_dedupe.py --skip-splink --workers 1

Figures depend on the machine: the core count, the load average and the memory are printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _db import PG_ADMIN_URL, ROOT, fresh_database  # noqa: E402 (the bench directory is put on the path first)
from generate_persons import Summary, write  # noqa: E402
from metrics import cluster_scores  # noqa: E402

DATABASE = "mdm_bench_batch"
SAMPLE_SECONDS = 0.2
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


# --- Memory of a process tree, from /proc -----------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """Direct children of a process (every thread's list: a child belongs to the thread that forked it)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
    except OSError:
        pass
    return found


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        tree.append(current)
        queue.extend(_children(current))
    return tree


def rss_kib(pid: int) -> int:
    """Resident set size (0 once the process has gone)."""
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def pss_kib(pid: int) -> int | None:
    """Proportional set size: shared pages divided among the processes sharing them (None without permission)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except PermissionError:
        return None
    except OSError:  # gone, or a zombie (ESRCH)
        return 0
    return 0


@dataclass
class TreeMemory:
    """Peaks of a process tree's memory, sampled while it runs, and of the PostgreSQL backends serving it."""

    samples: int = 0
    peak_rss_kib: int = 0
    peak_pss_kib: int | None = 0
    peak_processes: int = 0
    peak_postgres_pss_kib: int | None = 0
    postgres_pids: list[int] = field(default_factory=list)

    def sample(self, pid: int) -> None:
        tree = process_tree(pid)
        self.samples += 1
        self.peak_processes = max(self.peak_processes, len(tree))
        self.peak_rss_kib = max(self.peak_rss_kib, sum(rss_kib(member) for member in tree))
        self.peak_pss_kib = _max_of_sum(self.peak_pss_kib, [pss_kib(member) for member in tree])
        if self.postgres_pids:
            self.peak_postgres_pss_kib = _max_of_sum(
                self.peak_postgres_pss_kib, [pss_kib(backend) for backend in self.postgres_pids]
            )


def _max_of_sum(peak: int | None, values: list[int | None]) -> int | None:
    """The running peak of a sum, None for good once a value cannot be read (no permission)."""
    if peak is None or any(value is None for value in values):
        return None
    return max(peak, sum(value or 0 for value in values))


def _watch_backends(url: str, database: str, memory: TreeMemory, stop: threading.Event) -> None:
    """Keep memory.postgres_pids up to date: the server processes connected to the database, once a second."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as connection:
            own = connection.info.backend_pid
            while not stop.is_set():
                rows = connection.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> %s", (database, own)
                ).fetchall()
                memory.postgres_pids = [pid for (pid,) in rows]
                stop.wait(1.0)
    except psycopg.Error:
        memory.peak_postgres_pss_kib = None


def run_measured(command: list[str], *, env: dict[str, str], log: Path, url: str, database: str) -> dict[str, Any]:
    """Run a command, sampling its process tree's memory; its output goes to ``log``."""
    memory = TreeMemory()
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_backends, args=(url, database, memory, stop), daemon=True)
    watcher.start()
    started = time.perf_counter()
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        while True:
            memory.sample(process.pid)
            waited, status, usage = os.wait4(process.pid, os.WNOHANG)
            if waited:
                break
            time.sleep(SAMPLE_SECONDS)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # wait4 reaped it; tell Popen
    stop.set()
    watcher.join()
    if process.returncode:
        sys.exit(f"{' '.join(command[1:4])} failed ({process.returncode}):\n{log.read_text()[-4000:]}")
    mib = 1 / 1024
    return {
        "seconds": seconds,
        "peak_rss_mib": memory.peak_rss_kib * mib,
        "peak_pss_mib": None if memory.peak_pss_kib is None else memory.peak_pss_kib * mib,
        "largest_process_maxrss_mib": usage.ru_maxrss * mib,  # wait4: the child and its waited-for descendants
        "peak_processes": memory.peak_processes,
        "samples": memory.samples,
        "postgres_backends_peak_pss_mib": (
            None if memory.peak_postgres_pss_kib is None else memory.peak_postgres_pss_kib * mib
        ),
        "output": log.read_text().strip().splitlines()[-12:],
    }


# --- The steps --------------------------------------------------------------------------------------------------------


def database_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def generate(records: int, seed: int, jsonl: Path, flat: Path) -> dict[str, Any]:
    started = time.perf_counter()
    with jsonl.open("w", encoding="utf-8", newline="") as out, flat.open("w", encoding="utf-8", newline="") as csv_out:
        summary: Summary = write(records, seed=seed, jsonl=out, flat=csv_out)
    return {
        "seconds": time.perf_counter() - started,
        "records": summary.records,
        "entities": summary.entities,
        "duplicates": summary.duplicates,
        "true_pairs": summary.true_pairs,
    }


def snapshot(name: str, *, restore: bool) -> None:
    """Copy the loaded database to ``<name>_loaded`` (or, with restore, back again) as a PostgreSQL template."""
    import psycopg

    source, target = (f"{name}_loaded", name) if restore else (name, f"{name}_loaded")
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        # FILE_COPY: copies the files instead of writing every page to the WAL (much faster for a big database).
        connection.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}" STRATEGY = FILE_COPY')


def database_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def load(url: str, jsonl: Path) -> dict[str, Any]:
    """manage.py import_records --defer-matching: each record its own golden record, matching left to the batch."""
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "DJANGO_DEBUG": "0"}
    command = [sys.executable, "manage.py", "import_records", str(jsonl), "--system", "salesforce"]
    command += ["--entity", "customer", "--defer-matching", "--quiet"]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if completed.returncode:
        sys.exit(f"import_records failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    return {"seconds": seconds, "output": completed.stdout.strip()}


def stored_clusters(url: str) -> tuple[dict[str, int], list[tuple[int, int]], dict[str, int]]:
    """source_id -> golden record (a retired one followed to its survivor), the open review pairs, and counts."""
    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute(
            """
            SELECT s.source_id, g.id, g.status
            FROM mdm_sourcerecord s
            JOIN mdm_system y ON y.id = s.system_id
            JOIN mdm_goldenrecord g ON g.id = s.golden_id
            WHERE y.code = 'salesforce' AND s.entity_type = 'customer'
            """
        ).fetchall()
        survivor = dict(
            connection.execute(
                "SELECT id, merged_into_id FROM mdm_goldenrecord WHERE status = 'retired' AND entity_type = 'customer'"
            ).fetchall()
        )
        reviews = connection.execute(
            "SELECT golden_id, candidate_id FROM matching_matchcandidate WHERE status = 'open'"
        ).fetchall()
        [(active,)] = connection.execute(
            "SELECT count(*) FROM mdm_goldenrecord WHERE status = 'active' AND entity_type = 'customer'"
        ).fetchall()

    def final(golden: int) -> int:
        seen = 0
        while golden in survivor and survivor[golden] is not None and seen < 100:
            golden, seen = survivor[golden], seen + 1
        return golden

    predicted: dict[str, int] = {}
    on_retired = 0
    for source_id, golden, status in rows:
        on_retired += status == "retired"
        predicted[source_id] = final(golden) if status == "retired" else golden
    counts = {"source_records": len(rows), "active_golden_records": active, "sources_on_retired_goldens": on_retired}
    return predicted, reviews, counts


def read_truth(path: Path) -> dict[str, str]:
    import csv

    with path.open(newline="", encoding="utf-8") as handle:
        return {row["unique_id"]: row["entity"] for row in csv.DictReader(handle)}


def score(predicted: dict[str, Any], truth: dict[str, str]) -> dict[str, Any]:
    result = cluster_scores(predicted, truth)
    pair, cube = result.pairwise, result.bcubed
    return {
        "precision": pair.precision,
        "recall": pair.recall,
        "f1": pair.f1,
        "bcubed_f1": cube.f1,
        "predicted_clusters": result.predicted_clusters,
        "true_clusters": result.true_clusters,
        "missing_from_prediction": result.missing_from_prediction,
    }


def accept_reviews(predicted: dict[str, int], reviews: list[tuple[int, int]]) -> dict[str, int]:
    """The clusters if a steward accepted every open review candidate (an upper bound)."""
    parent: dict[int, int] = {}

    def find(item: int) -> int:
        while parent.get(item, item) != item:
            parent[item] = parent.get(parent[item], parent[item])
            item = parent[item]
        return item

    for left, right in reviews:
        parent[find(left)] = find(right)
    return {key: find(golden) for key, golden in predicted.items()}


def run_splink(flat: Path, threshold: float) -> dict[str, Any] | None:
    python = ROOT / ".venv-splink" / "bin" / "python"
    if not python.exists():
        print("  (Splink skipped: run bench/setup_splink.sh first)", file=sys.stderr)
        return None
    command = [str(python), str(BENCH / "splink_run.py"), "--dataset", "persons", "--input", str(flat)]
    command += ["--json", "--threshold", str(threshold)]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if completed.returncode:
        sys.exit(f"splink_run.py failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["process_seconds"] = wall
    return result


# --- Report -----------------------------------------------------------------------------------------------------------


def _figure(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _four(value: float) -> str:
    return f"{value:.4f}"


def _row(label: str, *cells: str) -> str:
    """A line of the results table: the label, then right-aligned cells."""
    return f"{label:<34}" + "".join(f"{cell:>10}" for cell in cells)


def match_phases(output: list[str]) -> dict[str, float]:
    """The phase times `manage.py match` prints: loading profiles, scoring, clustering, applying (seconds)."""
    found = {
        name: float(value.replace(",", ""))
        for line in output
        for name, value in re.findall(r"(loading profiles|scoring|clustering|applying) ([\d,.]+) s", line)
    }
    return found if len(found) == 4 else {}


def print_report(results: dict[str, Any]) -> None:
    machine = results["machine"]
    print(
        f"\n{results['records']:,} persons (seed {results['seed']}), {results['entities']:,} true entities, "
        f"{results['true_pairs']:,} true pairs; {machine['cpus']} cores, {machine['memory_gib']:.1f} GiB, "
        f"load average before {machine['load_before']}, after {machine['load_after']}"
    )
    if results.get("load"):
        load = results["load"]
        print(
            f"hub load (import_records --defer-matching, not part of the match): {load['seconds']:,.1f} s "
            f"({results['records'] / load['seconds']:,.0f} records/s)"
        )
    print("\n" + _row("", "wall s", "peak MiB", "P", "R", "F1", "B3 F1", "pairs F1"))
    hub, quality = results.get("match"), results.get("hub")
    if hub and quality:
        label = f"hub: manage.py match, {results['workers']} w"
        figures = (quality["precision"], quality["recall"], quality["f1"], quality["bcubed_f1"])
        print(_row(label, f"{hub['seconds']:,.1f}", f"{hub['peak_rss_mib']:,.0f}", *map(_four, figures), "-"))
        phases = match_phases(hub["output"])
        if phases:
            deciding = phases["loading profiles"] + phases["scoring"] + phases["clustering"]
            print(_row("  of which deciding (profiles to clusters)", f"{deciding:,.1f}", "", "", "", "", "", ""))
            print(_row("  of which applying (audited merges)", f"{phases['applying']:,.1f}", "", "", "", "", "", ""))
    splink = results.get("splink")
    if splink:
        clusters = splink["clusters"]
        pairwise = clusters["pairwise"]
        label = f"splink {splink['splink_version']}, load to clusters"
        figures = (pairwise["precision"], pairwise["recall"], pairwise["f1"], clusters["bcubed"]["f1"])
        seconds, rss = splink["seconds"]["total"], splink["pipeline_peak_rss_mib"]["self"]
        print(_row(label, f"{seconds:,.1f}", f"{rss:,.0f}", *map(_four, figures), _four(splink["pairs"]["f1"])))
    print()
    if hub and quality:
        print(
            f"hub: peak of the summed RSS of {hub['peak_processes']} processes (the command and its workers); "
            f"summed PSS {_figure(hub['peak_pss_mib'], ',.0f')} MiB; largest single process "
            f"{hub['largest_process_maxrss_mib']:,.0f} MiB; PostgreSQL backends of the database, summed PSS "
            f"{_figure(hub['postgres_backends_peak_pss_mib'], ',.0f')} MiB (not in the figure above)"
        )
        print(
            f"hub: {quality['predicted_clusters']:,} clusters (truth {quality['true_clusters']:,}); "
            f"{quality['missing_from_prediction']:,} records not stored (rejected by the contract); "
            f"{results['hub_reviews']:,} open review candidates, F1 if all were accepted "
            f"{results['hub_f1_reviews_accepted']:.4f}"
        )
        for line in hub["output"][-2:]:
            print(f"  {line}")
    if splink:
        pairs = splink["pairs"]
        print(
            f"splink: {splink['blocked_pairs']:,} blocked pairs; pairs before clustering P {pairs['precision']:.4f} "
            f"R {pairs['recall']:.4f} F1 {pairs['f1']:.4f}; threshold {splink['threshold']}; "
            f"{splink['threads']} DuckDB threads"
        )
        seconds = splink["seconds"]
        print(
            f"splink: load {seconds['load']:.1f} s, training {seconds['training']:.1f} s, predict "
            f"{seconds['predict']:.1f} s, cluster {seconds['cluster']:.1f} s; the whole process (with start-up and "
            f"scoring) {splink['process_seconds']:.1f} s and peak RSS {splink['peak_rss_mib']['self']:,.0f} MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="persons generated (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2, help="manage.py match --workers (default 2)")
    parser.add_argument("--chunk-size", type=int, help="manage.py match --chunk-size (default: the command's)")
    parser.add_argument("--database", default=DATABASE, help=f"PostgreSQL database (default {DATABASE})")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "mdm_bench_batch",
        help="where the generated files and logs go (default: mdm_bench_batch in the temp directory)",
    )
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database and the files")
    parser.add_argument("--skip-splink", action="store_true", help="do not run Splink")
    parser.add_argument("--splink-threshold", type=float, default=0.9, help="Splink's match probability threshold")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object too")
    args = parser.parse_args()
    if args.records < 2 or args.workers < 1:
        parser.error("--records must be at least 2 and --workers at least 1")
    if "bench" not in args.database:
        parser.error("--database: only databases whose name contains 'bench' are dropped and re-created")

    os.chdir(ROOT)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    stem = f"persons_{args.records}_{args.seed}"
    jsonl, flat = args.work_dir / f"{stem}.jsonl", args.work_dir / f"{stem}.csv"
    results: dict[str, Any] = {"records": args.records, "seed": args.seed, "workers": args.workers}
    results["machine"] = {
        "cpus": os.cpu_count(),
        "memory_gib": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
        "load_before": [round(value, 2) for value in os.getloadavg()],
    }
    url = database_url(args.database)

    if args.skip_load:
        if not (jsonl.exists() and flat.exists()):
            parser.error(f"--skip-load: no {jsonl} and {flat}; run once without it")
        if database_exists(f"{args.database}_loaded"):
            print(f"restoring {args.database} from {args.database}_loaded ...", file=sys.stderr)
            snapshot(args.database, restore=True)
        elif database_exists(args.database):
            print(f"warning: no {args.database}_loaded; matching {args.database} as it is", file=sys.stderr)
        else:
            parser.error(f"--skip-load: no database {args.database}")
    else:
        print(f"generating {args.records:,} persons into {args.work_dir} ...", file=sys.stderr)
        results["generate"] = generate(args.records, args.seed, jsonl, flat)
        print(f"  {results['generate']['seconds']:.1f} s; fresh database {args.database} ...", file=sys.stderr)
        url = fresh_database(args.database)
        print("loading through import_records --defer-matching ...", file=sys.stderr)
        results["load"] = load(url, jsonl)
        print(f"  {results['load']['output']}", file=sys.stderr)
        snapshot(args.database, restore=False)
    truth = read_truth(flat)
    entities = set(truth.values())
    results["entities"] = len(entities)
    sizes: dict[str, int] = {}
    for entity in truth.values():
        sizes[entity] = sizes.get(entity, 0) + 1
    results["true_pairs"] = sum(n * (n - 1) // 2 for n in sizes.values())

    print(f"manage.py match --workers {args.workers} ...", file=sys.stderr)
    command = [sys.executable, "manage.py", "match", "--entity", "customer", "--workers", str(args.workers)]
    if args.chunk_size:
        command += ["--chunk-size", str(args.chunk_size)]
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "DJANGO_DEBUG": "0"}
    results["match"] = run_measured(command, env=env, log=args.work_dir / "match.log", url=url, database=args.database)

    predicted, reviews, counts = stored_clusters(url)
    results["stored"] = counts
    results["hub"] = score(predicted, truth)
    results["hub_reviews"] = len(reviews)
    results["hub_f1_reviews_accepted"] = score(accept_reviews(predicted, reviews), truth)["f1"]

    if not args.skip_splink:
        print("Splink ...", file=sys.stderr)
        results["splink"] = run_splink(flat, args.splink_threshold)
    results["machine"]["load_after"] = [round(value, 2) for value in os.getloadavg()]
    print_report(results)
    if args.json:
        print(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
