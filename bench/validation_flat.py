"""The shared validation set (/work/shared/validation/gen_validation.py) flattened to CSV for bench/splink_run.py.

    python bench/validation_flat.py /tmp/val2000 --out-dir /tmp/val2000/flat

reads the generator's output directory (salesforce_customer.jsonl, netsuite_customer.jsonl, persons.jsonl,
salesforce_product.jsonl, netsuite_product.jsonl and truth.csv) and writes three CSV files, one row per record:

* ``val_organisations.csv``: both customer files (``splink_run.py --dataset val_organisations``);
* ``val_persons.csv``: persons.jsonl (``--dataset val_persons``);
* ``val_products.csv``: both product files (``--dataset val_products``).

Every row starts with ``unique_id`` = ``{system}:{source_id}`` (system ``salesforce`` or ``netsuite``: the IDs the
hub's side is scored with), ``entity`` (truth.csv's ``entity_id``) and ``system``, then the record's fields as raw
text. Nothing is cleaned here (case, accents, legal forms, phone and tax-ID formats, country spellings stay as the
export has them): the cleaning is Splink's prepare SQL in splink_run.py, as for its other data sets. Lists keep their
first one or two values, an address is the first of legal, billing and shipping that names a country (else the
first one present), and a missing value is an empty cell.

Standard library only: runs with the hub's ``.venv/bin/python`` or any python3 (3.11+). A summary (rows and true
pairs per file) goes to stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ORGANISATION_COLUMNS = (
    "unique_id",
    "entity",
    "system",
    "legal_name",
    "trade_name",
    "tax_id",
    "tax_id_2",
    "country",
    "city",
    "postcode",
    "street",
    "phone",
    "phone_2",
    "email",
    "website",
    "industry",
)
PERSON_COLUMNS = (
    "unique_id",
    "entity",
    "system",
    "first_name",
    "last_name",
    "legal_name",
    "date_of_birth",
    "national_id",
    "street",
    "postcode",
    "city",
    "country",
    "phone",
    "email",
)
PRODUCT_COLUMNS = (
    "unique_id",
    "entity",
    "system",
    "sku",
    "gtin",
    "name",
    "description",
    "unit_of_measure",
    "category",
    "list_price",
    "currency",
)

ADDRESS_FIELDS = ("legal_address", "billing_address", "shipping_address")

Flattener = Callable[[dict[str, Any]], dict[str, str]]


def _text(value: Any) -> str:
    """A JSON value as CSV text: None -> "", numbers as JSON writes them (39.9, 12), strings unchanged."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _nth(values: list[Any] | None, index: int) -> Any:
    """values[index], or None when the list is missing or shorter."""
    return values[index] if values and len(values) > index else None


def first_address(record: dict[str, Any]) -> dict[str, Any]:
    """The first of legal, billing and shipping address that has a country, else the first present, else {}."""
    present = [record[name] for name in ADDRESS_FIELDS if record.get(name)]
    with_country = [address for address in present if address.get("country")]
    return (with_country or present or [{}])[0]


def _address_columns(record: dict[str, Any]) -> dict[str, str]:
    address = first_address(record)
    return {
        "country": _text(address.get("country")),
        "city": _text(address.get("city")),
        "postcode": _text(address.get("postcode")),
        "street": _text(address.get("line1")),
    }


def organisation_row(record: dict[str, Any]) -> dict[str, str]:
    """An organisation (customer file) flattened: names, two tax IDs, one address, two phones, first email."""
    tax_ids = record.get("tax_ids") or []
    phones = record.get("phones")
    return {
        "legal_name": _text(record.get("legal_name")),
        "trade_name": _text(record.get("trade_name")),
        "tax_id": _text((_nth(tax_ids, 0) or {}).get("value")),
        "tax_id_2": _text((_nth(tax_ids, 1) or {}).get("value")),
        **_address_columns(record),
        "phone": _text(_nth(phones, 0)),
        "phone_2": _text(_nth(phones, 1)),
        "email": _text(_nth(record.get("emails"), 0)),
        "website": _text(record.get("website")),
        "industry": _text(record.get("industry")),
    }


def person_row(record: dict[str, Any]) -> dict[str, str]:
    """A person account flattened: names (or the full name only), birth date, national ID, address, first phone and
    email."""
    return {
        "first_name": _text(record.get("first_name")),
        "last_name": _text(record.get("last_name")),
        "legal_name": _text(record.get("legal_name")),
        "date_of_birth": _text(record.get("date_of_birth")),
        "national_id": _text(record.get("national_id")),
        **_address_columns(record),
        "phone": _text(_nth(record.get("phones"), 0)),
        "email": _text(_nth(record.get("emails"), 0)),
    }


def product_row(record: dict[str, Any]) -> dict[str, str]:
    """A product flattened: its scalar fields as they are."""
    return {
        column: _text(record.get(column))
        for column in ("sku", "gtin", "name", "description", "unit_of_measure", "category", "list_price", "currency")
    }


# Output file -> (columns, flattening function, (input file, system, truth.csv entity_type) for each input).
OUTPUTS: dict[str, tuple[tuple[str, ...], Flattener, tuple[tuple[str, str, str], ...]]] = {
    "val_organisations.csv": (
        ORGANISATION_COLUMNS,
        organisation_row,
        (
            ("salesforce_customer.jsonl", "salesforce", "customer"),
            ("netsuite_customer.jsonl", "netsuite", "customer"),
        ),
    ),
    "val_persons.csv": (PERSON_COLUMNS, person_row, (("persons.jsonl", "salesforce", "customer"),)),
    "val_products.csv": (
        PRODUCT_COLUMNS,
        product_row,
        (
            ("salesforce_product.jsonl", "salesforce", "product"),
            ("netsuite_product.jsonl", "netsuite", "product"),
        ),
    ),
}


def read_truth(path: Path) -> dict[tuple[str, str, str], str]:
    """(system, entity_type, source_id) -> entity_id."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"system", "entity_type", "source_id", "entity_id"} - set(reader.fieldnames or ())
        if missing:
            raise SystemExit(f"{path}: no column {', '.join(sorted(missing))}")
        truth: dict[tuple[str, str, str], str] = {}
        for row in reader:
            key = (row["system"], row["entity_type"], row["source_id"])
            if key in truth:
                raise SystemExit(f"{path}: {key} appears twice")
            truth[key] = row["entity_id"]
    return truth


def records(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL file, blank lines skipped."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as error:
                raise SystemExit(f"{path}:{number}: {error}") from error


def write_flat(source_dir: Path, out_dir: Path, truth: dict[tuple[str, str, str], str]) -> dict[str, dict[str, int]]:
    """Write the three CSV files; return per output file its rows, entities and true pairs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary: dict[str, dict[str, int]] = {}
    for name, (columns, flatten, inputs) in OUTPUTS.items():
        sizes: Counter[str] = Counter()
        seen: set[str] = set()
        with (out_dir / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            for file_name, system, entity_type in inputs:
                for record in records(source_dir / file_name):
                    source_id = _text(record.get("source_id"))
                    unique_id = f"{system}:{source_id}"
                    entity = truth.get((system, entity_type, source_id))
                    if entity is None:
                        raise SystemExit(f"{file_name}: {system} {entity_type} {source_id!r} is not in truth.csv")
                    if unique_id in seen:
                        raise SystemExit(f"{name}: unique_id {unique_id!r} appears twice")
                    seen.add(unique_id)
                    sizes[entity] += 1
                    writer.writerow({"unique_id": unique_id, "entity": entity, "system": system, **flatten(record)})
        summary[name] = {
            "rows": sum(sizes.values()),
            "entities": len(sizes),
            "true_pairs": sum(n * (n - 1) // 2 for n in sizes.values()),
        }
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source_dir", metavar="DIR", type=Path, help="gen_validation.py's output directory")
    parser.add_argument("--out-dir", type=Path, required=True, help="where the three CSV files go")
    args = parser.parse_args(argv)

    truth = read_truth(args.source_dir / "truth.csv")
    summary = write_flat(args.source_dir, args.out_dir, truth)
    for name, counts in summary.items():
        print(
            f"{args.out_dir / name}: {counts['rows']:,} rows, {counts['entities']:,} entities, "
            f"{counts['true_pairs']:,} true pairs",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
