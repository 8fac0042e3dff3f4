"""Matching quality on data the matcher was not tuned on: the shared validation generator and FEBRL, hub beside Splink.

The hub's matcher is tuned on the hub's own generators (bench/generate_companies.py, bench/generate_persons.py). This
script evaluates it on data it was not tuned on: the validation generator in ``../shared/validation/`` (written
independently of the hub: CRM and ERP exports of the same companies, persons and products, with groups, namesakes,
relocations, invalid identifiers, free-mail addresses and CRM-internal duplicates) and FEBRL3/FEBRL4.

Each set is sent through the hub's own write path (``mdm.ingest.ingest``, real-time matching) in batches of 1,000
into a fresh PostgreSQL database, scored, then ``manage.py match`` (the nightly batch run) runs over it and the store
is scored again; then a first load (deferred matching, then the batch run, which learns the model first) and real time
again with the learnt model. Splink runs on the same records in the same run (``bench/splink_run.py`` in
``.venv-splink``, its strongest setup: see bench/README.md), clustered at 0.5 (its standard) and at 0.95. For every set
and pass it prints:

- pair precision / recall / F1 of "same golden ID" against the truth, and B-cubed F1;
- blocking recall: the share of true pairs of records that share at least one blocking key held by no more records
  than the entity type's block cap (pairs that could become candidates at all);
- review rate: the share of records that have an open review candidate; review precision: the share of open review
  candidates whose two golden records hold the same true entity.

    .venv/bin/pip install faker==40.63.0        # the validation generator's one dependency (bench only)
    .venv/bin/python bench/match_eval.py validation --entities 2000 --products 1000 --persons 2000 --seed 7 --splink
    .venv/bin/python bench/match_eval.py validation --sets organisations --entities 20000 --seed 7
    .venv/bin/python bench/match_eval.py febrl3 --splink
"""

import argparse
import csv
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _db import ROOT, fresh_database, setup_django  # noqa: E402 (the bench directory is put on the path first)

DATABASE = "mdm_bench_eval"
BATCH = 1000
VALIDATION = ROOT.parent / "shared" / "validation" / "gen_validation.py"

# Validation sets: (entity type, files in the order they are imported as (system, file stem)).
VALIDATION_SETS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "organisations": ("customer", (("salesforce", "salesforce_customer"), ("netsuite", "netsuite_customer"))),
    "persons": ("customer", (("salesforce", "persons"),)),
    "products": ("product", (("salesforce", "salesforce_product"), ("netsuite", "netsuite_product"))),
}

Item = tuple[str, dict[str, Any], str]  # (system, record, true entity)


# --- Data ------------------------------------------------------------------------------------------------------------


def generate_validation(folder: Path, args: argparse.Namespace) -> None:
    """Run the shared validation generator into `folder` (its files and truth.csv)."""
    if not VALIDATION.exists():
        raise SystemExit(f"the validation generator is not at {VALIDATION}")
    command = [sys.executable, str(VALIDATION), str(folder), "--entities", str(args.entities)]
    command += ["--products", str(args.products), "--persons", str(args.persons), "--seed", str(args.seed)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"the validation generator failed:\n{completed.stderr or completed.stdout}")


def validation_items(folder: Path, name: str) -> tuple[str, list[Item]]:
    """(entity type, records) of one validation set, with each record's true entity."""
    entity_type, files = VALIDATION_SETS[name]
    # NetSuite numbers customers and items in sequences of their own: a source ID names a record only with its
    # system and entity type.
    truth: dict[tuple[str, str, str], str] = {}
    with (folder / "truth.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            truth[(row["system"], row["entity_type"], row["source_id"])] = row["entity_id"]
    items: list[Item] = []
    for system, stem in files:
        with (folder / f"{stem}.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                items.append((system, record, truth[(system, entity_type, str(record["source_id"]))]))
    return entity_type, items


def febrl_items(name: str) -> tuple[str, list[Item]]:
    from match_quality import dataset

    return "customer", list(dataset(name, 0, 0))


# --- Scoring ---------------------------------------------------------------------------------------------------------


def _true_pairs(truth: dict[str, str]) -> set[tuple[str, str]]:
    by_entity: dict[str, list[str]] = defaultdict(list)
    for key, entity in truth.items():
        by_entity[entity].append(key)
    return {
        (a, b) if a < b else (b, a) for keys in by_entity.values() for a, b in itertools.combinations(sorted(keys), 2)
    }


def blocking_recall(entity_type: str, truth: dict[str, str], true_pairs: set[tuple[str, str]]) -> float:
    """The share of true pairs sharing a blocking key that no more source records hold than the block cap."""
    from matching.engine import match_context
    from matching.models import BlockingKey

    cap = match_context(entity_type).max_block_size
    holders: dict[str, list[str]] = defaultdict(list)
    rows = BlockingKey.objects.filter(entity_type=entity_type).values_list(
        "key", "source_record__system__code", "source_record__source_id"
    )
    for key, system, source_id in rows.iterator(chunk_size=20_000):
        record = f"{system}:{source_id}"
        if record in truth:
            holders[key].append(record)
    covered: set[tuple[str, str]] = set()
    for records in holders.values():
        if 2 <= len(records) <= cap:
            for a, b in itertools.combinations(records, 2):
                pair = (a, b) if a < b else (b, a)
                if pair in true_pairs:
                    covered.add(pair)
    return len(covered) / len(true_pairs) if true_pairs else 1.0


def score_store(entity_type: str, items: list[Item], true_pairs: set[tuple[str, str]]) -> dict[str, Any]:
    """The stored golden records and open review candidates scored against the truth."""
    from match_quality import scores

    from matching.models import CandidateStatus, MatchCandidate
    from mdm.models import SourceRecord

    truth = {f"{system}:{record['source_id']}": entity for system, record, entity in items}
    golden_of = {
        f"{system}:{source_id}": golden_pk
        for system, source_id, golden_pk in SourceRecord.objects.filter(entity_type=entity_type).values_list(
            "system__code", "source_id", "golden_id"
        )
    }
    predicted = {key: golden_of.get(key, f"rejected:{key}") for key in truth}
    entities_of: dict[Any, set[str]] = defaultdict(set)
    for key, golden in predicted.items():
        entities_of[golden].add(truth[key])
    candidates = list(
        MatchCandidate.objects.filter(entity_type=entity_type, status=CandidateStatus.OPEN).values_list(
            "golden_id", "candidate_id", "source_record_id"
        )
    )
    true_candidates = sum(bool(entities_of[left] & entities_of[right]) for left, right, _ in candidates)
    in_review = {golden for left, right, _ in candidates for golden in (left, right)}
    records_in_review = sum(golden in in_review for golden in predicted.values())
    return {
        "records": len(truth),
        "stored": len(golden_of),
        **scores(predicted, truth),
        "blocking_recall": blocking_recall(entity_type, truth, true_pairs),
        "reviews": len(candidates),
        "review_rate": records_in_review / len(truth) if truth else 0.0,
        "review_precision": true_candidates / len(candidates) if candidates else None,
    }


# --- Passes ----------------------------------------------------------------------------------------------------------


def load(entity_type: str, items: list[Item], *, defer: bool = False) -> float:
    """Send the records through ingest (real-time matching, or deferred to the batch run as a first load does),
    system by system in file order; seconds taken."""
    from mdm.ingest import ingest
    from mdm.maintenance import BULK_LOAD_SCALE_FACTOR, analyze_stale_tables
    from mdm.models import System

    systems = {system.code: system for system in System.objects.all()}
    started = time.perf_counter()
    batches = 0
    for code in dict.fromkeys(system for system, _, _ in items):
        records = [record for system, record, _ in items if system == code]
        for start in range(0, len(records), BATCH):
            system = systems[code]
            ingest(
                system=system,
                entity_type=entity_type,
                records=records[start : start + BATCH],
                actor=system.service_user,
                reason="benchmark",
                defer_matching=defer,
            )
            batches += 1
            if batches % 10 == 0:
                analyze_stale_tables(scale_factor=BULK_LOAD_SCALE_FACTOR, history=False)
    return time.perf_counter() - started


def clear(*, models: bool) -> None:
    """Empty the store; with `models`, the learnt match models too (a new data set starts from the built-in one)."""
    from match_quality import clear_data

    from matching.models import MatchModel

    clear_data()
    if models:
        MatchModel.objects.all().delete()


def active_model(entity_type: str) -> dict[str, Any]:
    from matching.models import MatchModel

    model = MatchModel.objects.filter(entity_type=entity_type).order_by("-version").first()
    if model is None:
        return {"version": 0, "active": True}
    sanity = (model.training_report or {}).get("sanity") or {}
    return {"version": model.version, "active": model.is_active, "sanity": sanity.get("failures", [])}


def rematch(entity_type: str) -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("match", entity=entity_type, stdout=quiet, stderr=quiet)
    return time.perf_counter() - started


def run_splink(dataset: str, inputs: list[str], threshold: float) -> dict[str, Any] | None:
    python = ROOT / ".venv-splink" / "bin" / "python"
    if not python.exists():
        print("  (Splink skipped: run bench/setup_splink.sh first)", file=sys.stderr)
        return None
    command = [str(python), str(BENCH / "splink_run.py"), "--dataset", dataset, "--input", *inputs]
    command += ["--json", "--threshold", str(threshold)]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if completed.returncode != 0:
        print(f"  (Splink failed on {dataset}: {completed.stderr.strip()[-2000:]})", file=sys.stderr)
        return None
    return json.loads(completed.stdout.strip().splitlines()[-1])


def evaluate(name: str, entity_type: str, items: list[Item]) -> dict[str, Any]:
    """Four passes: real time with the built-in model, then the batch run (which learns the model from what is
    stored first); a first load (deferred matching, then the batch run, learning first); real time again with the
    model that first load learnt."""
    truth = {f"{system}:{record['source_id']}": entity for system, record, entity in items}
    true_pairs = _true_pairs(truth)
    result: dict[str, Any] = {"set": name, "records": len(items), "true_pairs": len(true_pairs)}
    clear(models=True)
    seconds = load(entity_type, items)
    result["real_time"] = {"seconds": seconds, **score_store(entity_type, items, true_pairs)}
    seconds = rematch(entity_type)
    result["batch"] = {"seconds": seconds, **score_store(entity_type, items, true_pairs)}
    clear(models=True)
    seconds = load(entity_type, items, defer=True)
    seconds += rematch(entity_type)
    result["first_load"] = {"seconds": seconds, **score_store(entity_type, items, true_pairs)}
    result["model"] = active_model(entity_type)
    clear(models=False)
    seconds = load(entity_type, items)
    result["learnt_real_time"] = {"seconds": seconds, **score_store(entity_type, items, true_pairs)}
    return result


# --- Report ----------------------------------------------------------------------------------------------------------

COLUMNS = ("P", "R", "F1", "B3 F1", "block R", "reviews", "review %", "review P", "s")


def _figure(value: Any, width: int = 8) -> str:
    if value is None:
        return f"{'-':>{width}}"
    if isinstance(value, int):
        return f"{value:>{width},}"
    return f"{value:>{width}.4f}"


def report(results: list[dict[str, Any]]) -> None:
    print("\n" + f"{'set':<30}" + "".join(f"{column:>9}" for column in COLUMNS))
    for result in results:
        print(f"{result['set']} ({result['records']:,} records, {result['true_pairs']:,} true pairs)")
        passes = (
            ("  hub, real time (built-in)", "real_time"),
            ("    + manage.py match", "batch"),
            ("  hub, first load + match", "first_load"),
            ("  hub, real time (learnt)", "learnt_real_time"),
        )
        for label, key in passes:
            row = result[key]
            cells = [row["precision"], row["recall"], row["f1"], row["bcubed_f1"], row["blocking_recall"]]
            cells += [row["reviews"], row["review_rate"], row["review_precision"]]
            print(f"{label:<30}" + "".join(_figure(cell) + " " for cell in cells) + f"{row['seconds']:>8.1f}")
        model = result["model"]
        if model["version"] and not model["active"]:
            print(f"    (learnt model v{model['version']} not activated: {'; '.join(model['sanity'])})")
        for splink in result.get("splink") or ():
            if splink is None:
                continue
            clusters, pairs = splink["clusters"]["pairwise"], splink["pairs"]
            cells = [clusters["precision"], clusters["recall"], clusters["f1"], splink["clusters"]["bcubed"]["f1"]]
            cells += [splink.get("blocking_recall"), None, None, None]
            label = f"  splink {splink['splink_version']} @{splink['threshold']}"
            print(
                f"{label:<30}"
                + "".join(_figure(cell) + " " for cell in cells)
                + f"{splink['seconds']['total']:>8.1f}   (its pairs before clustering: F1 {pairs['f1']:.4f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", choices=["validation", "febrl3", "febrl4"])
    parser.add_argument("--sets", default="organisations,persons,products", help="validation sets, comma-separated")
    parser.add_argument("--entities", type=int, default=2000)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, help="an existing output folder of the validation generator")
    parser.add_argument("--splink", action="store_true", help="also run Splink on the same records")
    parser.add_argument(
        "--splink-thresholds",
        default="0.5,0.95",
        help="Splink's match thresholds, each a run of its own (default 0.5, its standard clustering, and 0.95)",
    )
    parser.add_argument("--json", type=Path, help="write the results to this file as JSON")
    parser.add_argument("--database", default=DATABASE, help=f"the PostgreSQL database to use (default {DATABASE})")
    args = parser.parse_args()
    try:
        thresholds = [float(value) for value in args.splink_thresholds.split(",") if value.strip()]
    except ValueError:
        parser.error(f"--splink-thresholds: '{args.splink_thresholds}' is not a list of numbers")
    if not thresholds or not all(0 < value < 1 for value in thresholds):
        parser.error("--splink-thresholds: give probabilities between 0 and 1")

    os.chdir(ROOT)
    if "bench" not in args.database:
        parser.error("--database: the name must contain 'bench' (it is dropped and created again)")
    setup_django(fresh_database(args.database))
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        if args.source == "validation":
            folder = args.data or Path(scratch) / "validation"
            if args.data is None:
                generate_validation(folder, args)
            names = [name.strip() for name in args.sets.split(",") if name.strip()]
            unknown = sorted(set(names) - set(VALIDATION_SETS))
            if unknown:
                parser.error(f"--sets: unknown set(s) {', '.join(unknown)}; known: {', '.join(VALIDATION_SETS)}")
            if args.splink:
                subprocess.run(
                    [sys.executable, str(BENCH / "validation_flat.py"), str(folder), "--out-dir", scratch], check=True
                )
            for name in names:
                entity_type, items = validation_items(folder, name)
                result = evaluate(name, entity_type, items)
                if args.splink:
                    inputs = [f"{scratch}/val_{name}.csv"]
                    result["splink"] = [run_splink(f"val_{name}", inputs, threshold) for threshold in thresholds]
                results.append(result)
                report([result])
        else:
            entity_type, items = febrl_items(args.source)
            result = evaluate(args.source, entity_type, items)
            if args.splink:
                subprocess.run([sys.executable, str(BENCH / "febrl.py"), "--out-dir", scratch], check=True, cwd=ROOT)
                inputs = [str(path) for path in sorted(Path(scratch).glob(f"{args.source}*.csv"))]
                result["splink"] = [run_splink(args.source, inputs, threshold) for threshold in thresholds]
            results.append(result)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
