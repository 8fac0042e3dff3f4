"""Splink (DuckDB backend) on a benchmark data set, scored against the truth with bench/metrics.py.

Runs in its own virtualenv, because Splink's pins must not touch the hub's (``bash bench/setup_splink.sh``):

    .venv-splink/bin/python bench/splink_run.py --dataset febrl3 --input /tmp/febrl/febrl3.csv
    .venv-splink/bin/python bench/splink_run.py --dataset febrl4 --input /tmp/febrl/febrl4_a.csv /tmp/febrl/febrl4_b.csv
    .venv-splink/bin/python bench/splink_run.py --dataset companies --input /tmp/companies.csv --threshold 0.9 --json
    .venv-splink/bin/python bench/splink_run.py --dataset persons --input /tmp/persons.csv

Inputs are CSV files with a ``unique_id`` column and an ``entity`` truth column (``bench/febrl.py --out-dir``,
``bench/generate_companies.py --flat-csv`` and ``bench/generate_persons.py --csv``); every column is read as text and
``entity`` is dropped before Splink sees the data. It imports no Django and no project code, only bench/metrics.py
(pure Python, loaded by path).

Each data set gets the kind of model Splink's documentation and examples build (the FEBRL ones follow Splink's own
FEBRL3 and FEBRL4 examples; ``persons``, FEBRL-like data at up to a million records, FEBRL3's model with blocking
rules that scale): blocking rules for prediction, comparisons from ``splink.comparison_library``, lambda
(the probability that two random records match) from deterministic rules, u from random sampling, m from two or
more expectation-maximisation sessions over different blocking rules, then ``predict`` at the threshold and
``cluster_pairwise_predictions_at_threshold`` (connected components) at the same threshold.

Printed: pairwise P/R/F1 of the predicted pairs at the threshold; pairwise and B-cubed P/R/F1 of the clusters (the
clusters add the transitive pairs, so cluster precision can fall below pair precision); wall time of loading,
training, prediction and clustering; peak RSS (getrusage maxrss of this process and of its children: over the whole
run, and up to the end of clustering, before the truth is read and the result scored). ``--json``
prints one JSON object on one line (the last line of stdout) for a driver in the hub's virtualenv.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import logging
import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import splink
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_analysis import count_comparisons_from_blocking_rules

BENCH = Path(__file__).resolve().parent
TRUTH_COLUMN = "entity"


def _load_metrics() -> ModuleType:
    """bench/metrics.py by path: bench/ is not a package and this venv does not have the project installed."""
    spec = importlib.util.spec_from_file_location("bench_metrics", BENCH / "metrics.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {BENCH / 'metrics.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class body runs
    spec.loader.exec_module(module)
    return module


metrics = _load_metrics()


# --- Models -----------------------------------------------------------------------------------------------------------


@dataclass
class Model:
    """What Splink is told for one data set, and the SQL that prepares its input."""

    link_type: str
    prepare_sql: str  # SELECT over the raw text table ``{raw}``; must keep unique_id
    settings: SettingsCreator
    deterministic_rules: list[Any]
    recall: float
    em_rules: list[Any]
    em_without_term_frequencies: bool = False
    notes: list[str] = field(default_factory=list)


def _nullif_blank(column: str) -> str:
    return f"nullif(trim({column}), '')"


# FEBRL: the values are already lower case and trimmed; blanks become NULL.
_FEBRL_FIELDS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)
# S608 below: every SQL string here is built from this file's constants and table names it makes itself; the only
# outside value, an input path, is quoted as a string literal.
_FEBRL_SELECT = ", ".join(f"{_nullif_blank(column)} as {column}" for column in _FEBRL_FIELDS)
_FEBRL_SQL = f"select unique_id, {_FEBRL_SELECT} from {{raw}}"  # noqa: S608


def _febrl3_comparisons() -> list[Any]:
    return [
        cl.NameComparison("given_name"),
        cl.NameComparison("surname"),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
        cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
    ]


_FEBRL3_DETERMINISTIC_RULES = (
    block_on("soc_sec_id"),
    block_on("given_name", "surname", "date_of_birth"),
    "l.given_name = r.surname and l.surname = r.given_name and l.date_of_birth = r.date_of_birth",
)


def febrl3_model() -> Model:
    """Splink's FEBRL3 example (docs/demos/examples/duckdb/febrl3): dedupe_only."""
    blocking_rules = [
        block_on("soc_sec_id"),
        block_on("given_name"),
        block_on("surname"),
        block_on("date_of_birth"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=_febrl3_comparisons(),
    )
    return Model(
        link_type="dedupe_only",
        prepare_sql=_FEBRL_SQL,
        settings=settings,
        deterministic_rules=list(_FEBRL3_DETERMINISTIC_RULES),
        recall=0.9,
        em_rules=[block_on("date_of_birth"), block_on("postcode")],
    )


def persons_model() -> Model:
    """FEBRL-like persons at scale (bench/generate_persons.py, FEBRL3's columns): FEBRL3's model, other blocking.

    FEBRL3's blocking rules make far too many pairs at a million records: given_name alone is 1.7 billion pairs,
    postcode 0.5 billion, date_of_birth 14 million. As Splink's docs advise for large data, each rule here combines
    keys, for 17.5 million pairs in all at 1,000,000 records (``count_comparisons_from_blocking_rules``), which
    still hold 99.5% of the true pairs of bench/generate_persons.py's data (measured at 1,000,000 records, seed 42;
    FEBRL3's five rules hold 99.9% there). The EM sessions block on combined keys too (FEBRL3's date_of_birth and
    postcode would be 14 and 530 million pairs); together they leave no comparison untrained.
    """
    blocking_rules = [
        block_on("soc_sec_id"),
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth", "substr(surname, 1, 1)"),
        block_on("date_of_birth", "substr(given_name, 1, 1)"),
        block_on("date_of_birth", "postcode"),
        block_on("postcode", "substr(surname, 1, 2)"),
        block_on("street_number", "address_1"),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=_febrl3_comparisons(),
    )
    return Model(
        link_type="dedupe_only",
        prepare_sql=_FEBRL_SQL,
        settings=settings,
        deterministic_rules=list(_FEBRL3_DETERMINISTIC_RULES),
        recall=0.9,
        em_rules=[
            block_on("date_of_birth", "substr(surname, 1, 1)"),
            block_on("postcode", "substr(given_name, 1, 2)"),
        ],
        notes=["FEBRL3's comparisons and lambda rules; blocking and EM rules that scale to 1,000,000 records"],
    )


def febrl4_model() -> Model:
    """Splink's FEBRL4 example, its 'detailed' model (docs/demos/examples/duckdb/febrl4): link_only of A and B."""
    blocking_rules = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        link_type="link_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d", invalid_dates_as_null=True
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
        ],
    )
    return Model(
        link_type="link_only",
        prepare_sql=_FEBRL_SQL,
        settings=settings,
        deterministic_rules=[block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")],
        recall=0.8,
        em_rules=[block_on("date_of_birth"), block_on("postcode")],
        em_without_term_frequencies=True,
    )


# Company names: accents folded, dots dropped ("G.m.b.H." -> "gmbh"), other punctuation to spaces, legal forms
# removed, so that "Müller Logistik GmbH" and "MUELLER LOGISTIK G.m.b.H." are close. Splink leaves data cleaning to
# the user; this is the usual preparation its docs recommend (standardise before comparing), nothing tuned to data.
_LEGAL_FORMS = "|".join(
    form.replace(" ", " +")  # the words are padded with two spaces each when matched, see _clean_name
    for form in (
        "gesellschaft mit beschrankter haftung",
        *("gmbh", "mbh", "ag", "kg", "ohg", "ug", "gbr", "ev", "aktiengesellschaft", "co", "ltd", "limited", "plc"),
        *("llp", "inc", "incorporated", "llc", "corp", "corporation", "sas", "sarl", "sa", "sasu", "eurl", "snc"),
        *("bv", "nv", "vof", "srl", "spa", "sl", "slu", "sae", "sprl", "bvba", "cv", "se"),
    )
)


def _clean_text(column: str) -> str:
    folded = f"lower(strip_accents(replace(replace(coalesce({column}, ''), '.', ''), 'ß', 'ss')))"
    spaced = f"regexp_replace({folded}, '[^a-z0-9]+', ' ', 'g')"
    return f"nullif(trim(regexp_replace({spaced}, '\\s+', ' ', 'g')), '')"


def _clean_name(column: str) -> str:
    spaced = _clean_text(column)
    # Words padded with two spaces each, so that adjacent legal forms ("gmbh co kg") all match without lookahead
    # (DuckDB's regexes are RE2: no lookaround).
    padded = f"'  ' || replace(coalesce({spaced}, ''), ' ', '  ') || '  '"
    stripped = f"regexp_replace({padded}, ' ({_LEGAL_FORMS}) ', ' ', 'g')"
    return f"nullif(trim(regexp_replace({stripped}, '\\s+', ' ', 'g')), '')"


_COMPANIES_SQL = f"""
select
    unique_id,
    {_nullif_blank("system")} as system,
    {_clean_name("coalesce(nullif(trim(legal_name), ''), nullif(trim(name), ''), trade_name)")} as name_clean,
    nullif(regexp_replace(upper(coalesce(tax_id, '')), '[^A-Z0-9]', '', 'g'), '') as tax_id_clean,
    nullif(upper(trim(coalesce(country, tax_country, ''))), '') as country,
    {_clean_text("city")} as city_clean,
    nullif(regexp_replace(upper(coalesce(postcode, '')), '[^A-Z0-9]', '', 'g'), '') as postcode_clean,
    {_clean_text("street")} as street_clean,
    nullif(right(regexp_replace(split_part(coalesce(phone, ''), ';', 1), '[^0-9]', '', 'g'), 9), '') as phone_clean,
    nullif(lower(trim(split_part(coalesce(email, ''), ';', 1))), '') as email,
    nullif(
        regexp_extract(lower(trim(coalesce(website, ''))), '^(?:[a-z]+://)?(?:www\\.)?([^/:?#]+)', 1), ''
    ) as website_domain,
    {_nullif_blank("industry")} as industry
from {{raw}}
"""  # noqa: S608


def companies_model() -> Model:
    """Company master data (flattened hub records): dedupe_only across all systems."""
    blocking_rules = [
        block_on("tax_id_clean"),
        block_on("name_clean"),
        block_on("phone_clean"),
        block_on("email"),
        block_on("website_domain"),
        block_on("postcode_clean", "substr(name_clean, 1, 3)"),
        block_on("country", "city_clean", "substr(name_clean, 1, 5)"),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.JaroWinklerAtThresholds("name_clean", [0.95, 0.88, 0.7]).configure(term_frequency_adjustments=True),
            cl.ExactMatch("tax_id_clean"),
            cl.ExactMatch("country").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("city_clean", [0.9]).configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode_clean").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("street_clean", [0.95, 0.85]),
            cl.ExactMatch("phone_clean"),
            cl.EmailComparison("email"),
            cl.ExactMatch("website_domain"),
        ],
    )
    return Model(
        link_type="dedupe_only",
        prepare_sql=_COMPANIES_SQL,
        settings=settings,
        deterministic_rules=[block_on("tax_id_clean"), block_on("name_clean", "postcode_clean")],
        recall=0.8,
        em_rules=[
            block_on("tax_id_clean"),
            block_on("postcode_clean", "substr(name_clean, 1, 3)"),
            block_on("phone_clean"),
        ],
        notes=["PostcodeComparison is UK-only (its levels are UK sector/district regexes), so postcodes match exactly"],
    )


MODELS = {"febrl3": febrl3_model, "febrl4": febrl4_model, "companies": companies_model, "persons": persons_model}
EXPECTED_INPUTS = {"febrl3": 1, "febrl4": 2, "companies": 1, "persons": 1}


# --- Measuring --------------------------------------------------------------------------------------------------------


class Clock:
    """Named wall-clock sections."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


class WarningCounter(logging.Handler):
    """Counts Splink's warnings (untrained parameters and the like) so that a JSON reader sees them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def configure_splink_logging(level: int) -> WarningCounter:
    """Splink's messages to stderr at ``level`` (stdout stays for the report), counting its warnings.

    The Linker is then created with ``log_level=None``: Splink's own setup adds no handler when the "splink" logger
    already has one, which would leave its INFO messages to the root logger's last-resort handler (WARNING only).
    """
    logger = logging.getLogger("splink")
    logger.setLevel(level)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(logging.Formatter("%(message)s"))
    counter = WarningCounter()
    logger.addHandler(stderr)
    logger.addHandler(counter)
    logger.propagate = False
    return counter


def peak_rss_mib() -> dict[str, float]:
    """Peak resident set size of this process and of its (waited-for) children; ru_maxrss is KiB on Linux."""
    scale = 1 / (1024 * 1024) if sys.platform == "darwin" else 1 / 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return {"self": round(own, 1), "children": round(children, 1), "total": round(own + children, 1)}


# --- Data -------------------------------------------------------------------------------------------------------------


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def read_truth(path: Path) -> dict[str, str]:
    """unique_id -> entity of one input file."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"unique_id", TRUTH_COLUMN} - set(reader.fieldnames or ())
        if missing:
            raise SystemExit(f"{path}: no column {', '.join(sorted(missing))}")
        truth: dict[str, str] = {}
        for row in reader:
            if row["unique_id"] in truth:
                raise SystemExit(f"{path}: unique_id {row['unique_id']!r} appears twice")
            truth[row["unique_id"]] = row[TRUTH_COLUMN]
    return truth


def load_table(con: duckdb.DuckDBPyConnection, path: Path, table: str, prepare_sql: str) -> int:
    """Read a CSV as text (leading zeros kept), drop the truth column, prepare it; return the row count."""
    raw = f"{table}_raw"
    con.execute(
        f"create or replace temp table {raw} as select * exclude ({TRUTH_COLUMN}) "  # noqa: S608
        f"from read_csv({_sql_string(str(path))}, header = true, all_varchar = true)"
    )
    con.execute(f"create or replace table {table} as {prepare_sql.format(raw=raw)}")
    con.execute(f"drop table {raw}")
    # fetchall, not fetchone: DuckDB 2 refuses further work on a connection with an unfinished result.
    [(count,)] = con.execute(f"select count(*) from {table}").fetchall()  # noqa: S608
    return count


def true_cross_pairs(truths: list[dict[str, str]], names: list[str]) -> set[tuple[Hashable, Hashable]]:
    """For link_only: pairs of records from different inputs that share an entity, as (dataset, unique_id) keys."""
    members: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, truth in zip(names, truths, strict=True):
        for unique_id, entity in truth.items():
            members[entity].append((name, unique_id))
    pairs: set[tuple[Hashable, Hashable]] = set()
    for records in members.values():
        for i, left in enumerate(records):
            for right in records[i + 1 :]:
                if left[0] != right[0]:
                    pairs.add((left, right))
    return pairs


# --- The run ----------------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    model = MODELS[args.dataset]()
    inputs = [Path(path) for path in args.input]
    if len(inputs) != EXPECTED_INPUTS[args.dataset]:
        raise SystemExit(f"--dataset {args.dataset} takes {EXPECTED_INPUTS[args.dataset]} input file(s)")
    linking = model.link_type == "link_only"
    names = [chr(ord("a") + i) for i in range(len(inputs))] if linking else ["input"]
    clock = Clock()
    warnings = configure_splink_logging(args.log_level)
    started = time.perf_counter()

    with clock.section("load"):
        con = duckdb.connect()
        if args.threads:
            con.execute(f"set threads = {int(args.threads)}")
        [(threads,)] = con.execute("select current_setting('threads')").fetchall()
        counts = [
            load_table(con, path, f"input_{name}", model.prepare_sql) for path, name in zip(inputs, names, strict=True)
        ]
        db_api = DuckDBAPI(connection=con)
        tables = [db_api.register(f"input_{name}", dataset_display_name=name) for name in names]

    with clock.section("training"):
        linker = Linker(tables if linking else tables[0], model.settings, log_level=None)
        linker.training.estimate_probability_two_random_records_match(model.deterministic_rules, recall=model.recall)
        linker.training.estimate_u_using_random_sampling(max_pairs=args.max_pairs, seed=args.seed)
        for rule in model.em_rules:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=model.em_without_term_frequencies
            )

    with clock.section("predict"):
        predictions = linker.inference.predict(threshold_match_probability=args.threshold)
    with clock.section("cluster"):
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=args.threshold
        )
    total = time.perf_counter() - started
    pipeline_rss = peak_rss_mib()  # before the truth is read and the result scored, which take memory of their own
    truths = [read_truth(path) for path in inputs]
    trained = linker.misc.save_model_to_json(args.save_model, overwrite=True) if args.save_model else None
    trained = trained or linker.misc.save_model_to_json()

    # Scoring is outside the timed Splink pipeline.
    if linking:
        pair_rows = predictions.as_duckdbpyrelation().select(
            "source_dataset_l, unique_id_l, source_dataset_r, unique_id_r"
        )
        predicted_pairs = [((sl, ul), (sr, ur)) for sl, ul, sr, ur in pair_rows.fetchall()]
        truth = {(name, uid): entity for name, t in zip(names, truths, strict=True) for uid, entity in t.items()}
        pair_result = metrics.pair_scores(predicted_pairs, true_cross_pairs(truths, names))
        cluster_rows = clusters.as_duckdbpyrelation().select("source_dataset, unique_id, cluster_id").fetchall()
        predicted = {(source, uid): cluster for source, uid, cluster in cluster_rows}
    else:
        pair_rows = predictions.as_duckdbpyrelation().select("unique_id_l, unique_id_r")
        predicted_pairs = pair_rows.fetchall()
        truth = truths[0]
        pair_result = metrics.pair_scores_against_clusters(predicted_pairs, truth)
        cluster_rows = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").fetchall()
        predicted = dict(cluster_rows)
    cluster_result = metrics.cluster_scores(predicted, truth)

    with clock.section("count_blocked_pairs"):
        blocked = count_comparisons_from_blocking_rules(
            tables if linking else tables[0],
            blocking_rules=model.settings.blocking_rules_to_generate_predictions,
            link_type=model.link_type,
            record_sample_proportion=1.0,
        )[-1]["cumulative_comparison_count"]

    seconds = {name: round(value, 3) for name, value in clock.seconds.items()}
    seconds["prediction"] = round(clock.seconds["predict"] + clock.seconds["cluster"], 3)
    seconds["total"] = round(total, 3)  # load + training + predict + cluster
    return {
        "tool": "splink",
        "splink_version": splink.__version__,
        "duckdb_version": duckdb.__version__,
        "dataset": args.dataset,
        "link_type": model.link_type,
        "inputs": [str(path) for path in inputs],
        "records": sum(counts),
        "threshold": args.threshold,
        "threads": int(threads),
        "cpu_count": os.cpu_count(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "model": {
            "probability_two_random_records_match": trained["probability_two_random_records_match"],
            "u_max_pairs": args.max_pairs,
            "em_sessions": len(model.em_rules),
            "comparisons": [comparison["output_column_name"] for comparison in trained["comparisons"]],
            "notes": model.notes,
            "saved_to": args.save_model,
        },
        "splink_warnings": warnings.count,
        "blocked_pairs": int(blocked),
        "pairs": pair_result.as_dict(),
        "clusters": cluster_result.as_dict(),
        "pair_precision": pair_result.precision,
        "cluster_precision": cluster_result.pairwise.precision,
        "seconds": seconds,
        "peak_rss_mib": peak_rss_mib(),
        "pipeline_peak_rss_mib": pipeline_rss,
    }


def print_report(result: dict[str, Any]) -> None:
    pairs, clusters = result["pairs"], result["clusters"]
    pairwise, bcubed = clusters["pairwise"], clusters["bcubed"]
    seconds, rss = result["seconds"], result["peak_rss_mib"]
    print(
        f"Splink {result['splink_version']} (DuckDB {result['duckdb_version']}, {result['threads']} threads, "
        f"{result['cpu_count']} cores, load {result['load_average']}) on {result['dataset']} ({result['link_type']}): "
        f"{result['records']:,} records, threshold {result['threshold']}"
    )
    print(
        f"  model: lambda {result['model']['probability_two_random_records_match']:.3g}, "
        f"{result['model']['em_sessions']} EM sessions, {result['blocked_pairs']:,} blocked pairs scored, "
        f"{result['splink_warnings']} Splink warnings"
    )
    print(
        f"  predicted pairs: P {pairs['precision']:.4f}  R {pairs['recall']:.4f}  F1 {pairs['f1']:.4f}  "
        f"({pairs['predicted_pairs']:,} predicted, {pairs['true_positives']:,} true of {pairs['true_pairs']:,})"
    )
    print(
        f"  clusters, pairwise: P {pairwise['precision']:.4f}  R {pairwise['recall']:.4f}  F1 {pairwise['f1']:.4f}  "
        f"({pairwise['predicted_pairs']:,} pairs in {clusters['predicted_clusters']:,} clusters; "
        f"truth {clusters['true_clusters']:,})"
    )
    print(f"  clusters, B-cubed:  P {bcubed['precision']:.4f}  R {bcubed['recall']:.4f}  F1 {bcubed['f1']:.4f}")
    print(
        f"  precision: pairs {result['pair_precision']:.4f} -> clusters {result['cluster_precision']:.4f} "
        f"(connected components add {pairwise['predicted_pairs'] - pairs['predicted_pairs']:+,} pairs)"
    )
    print(
        f"  wall: load {seconds['load']:.2f}s, training {seconds['training']:.2f}s, prediction "
        f"{seconds['prediction']:.2f}s (predict {seconds['predict']:.2f}s + cluster {seconds['cluster']:.2f}s), "
        f"total {seconds['total']:.2f}s"
    )
    print(
        f"  peak RSS: {rss['self']:.0f} MiB (children {rss['children']:.0f} MiB); "
        f"{result['pipeline_peak_rss_mib']['self']:.0f} MiB up to clustering, before scoring"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(MODELS), required=True)
    parser.add_argument("--input", nargs="+", required=True, help="CSV file(s); febrl4 takes A then B")
    parser.add_argument("--threshold", type=float, default=0.9, help="match probability for pairs and clusters")
    parser.add_argument("--max-pairs", type=float, default=1e7, help="pairs sampled to estimate u (default 1e7)")
    parser.add_argument("--seed", type=int, default=42, help="seed of u sampling (reproducible runs)")
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads (default: DuckDB's, i.e. all cores)")
    parser.add_argument("--save-model", metavar="FILE", help="also write the trained model (Splink JSON) here")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    parser.add_argument("--verbose", action="store_true", help="show Splink's INFO log on stderr")
    args = parser.parse_args(argv)
    if not 0 < args.threshold < 1:
        parser.error("--threshold must be between 0 and 1")
    args.log_level = logging.INFO if args.verbose else logging.WARNING

    result = run(args)
    if args.json:
        print(json.dumps(result, separators=(",", ":")))
    else:
        print_report(result)


if __name__ == "__main__":
    main()
