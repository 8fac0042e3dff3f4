"""File import and export of source records: CSV or JSONL files streamed through `ingest`.

`records_import` reads a file a line at a time (memory stays flat whatever its size), turns each CSV
row into the contract's shape, sends batches of up to MDM_INGEST_MAX_BATCH records to `ingest` as the
sending system's service user, and reports every rejected line with its line number in the file
through a callback, so a million bad lines are streamed out, not held in memory.

CSV layout: a header line naming the columns, `source_id` among them. Nested objects use dotted
columns (`legal_address.city`); the list columns of the contract (`phones`, `emails`) hold values
separated by `;`; `tax_id` and `tax_country` give the first tax ID, and `tax_ids` may hold more as
`VALUE:CC;VALUE`. Empty cells are omitted; other columns are passed through, so the contract names
a misspelt one as an unknown field.
"""

import codecs
import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from rest_framework import serializers

from mdm.context import correlation
from mdm.contracts import CONTRACTS, DEFAULT_VERSION
from mdm.ingest import REJECTED, ingest
from mdm.maintenance import BULK_LOAD_SCALE_FACTOR, analyze_stale_tables
from mdm.models import CrossReference, EntityType, GoldenRecord, GoldenStatus, System, XrefKind
from mdm.selectors import survivor_of

FORMATS = ("csv", "jsonl")
_FORMAT_BY_SUFFIX = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
LIST_SEPARATOR = ";"
ERROR_SAMPLE_SIZE = 100
# Statistics are refreshed as a file loads (where they lag), so lookups keep their index plans as tables grow.
ANALYZE_EVERY_BATCHES = 10
# A JSONL line longer than this is rejected without being held in memory whole; CSV cells are bounded
# by the csv module's field size limit (131,072 characters), which also stops an unclosed quote from
# swallowing the rest of the file into one record.
MAX_LINE_CHARS = 1_000_000
_SCAN_CHUNK = 1 << 20
ERROR_CSV_HEADER = ("line", "source_id", "field", "message")
XREF_CSV_HEADER = ("system", "entity_type", "source_id", "golden_id")


class ImportFileError(Exception):
    """The file as a whole cannot be imported (unreadable, not UTF-8, bad header); `line` when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class LineError:
    """One problem with one field of the record on one line of the file."""

    line: int
    source_id: str | None
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class ImportSummary:
    """What one file import did: lines read, records by outcome, time taken and the first errors."""

    path: str
    fmt: str
    system: str
    entity_type: str
    correlation_id: str = ""
    lines: int = 0
    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: int = 0
    error_sample: list[LineError] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def records_per_second(self) -> float:
        return self.records / self.elapsed if self.elapsed else 0.0

    def tally(self, status: str) -> None:
        """Count one record's outcome (created, updated, unchanged or rejected)."""
        setattr(self, status, getattr(self, status) + 1)


@dataclass
class _Line:
    """A record read from the file (or why it could not be read), with the line it starts on."""

    line: int
    record: dict[str, Any] | None
    errors: list[tuple[str, str]] = field(default_factory=list)


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """The file's format: the explicit one, else from its extension (.csv, .jsonl, .ndjson)."""
    if fmt:
        if fmt not in FORMATS:
            raise ImportFileError(f"unknown format '{fmt}'; one of: {', '.join(FORMATS)}")
        return fmt
    detected = _FORMAT_BY_SUFFIX.get(Path(path).suffix.lower())
    if detected is None:
        raise ImportFileError(
            f"cannot tell the format of {Path(path).name} from its extension; name it .csv, .jsonl or .ndjson, "
            f"or give the format explicitly"
        )
    return detected


def check_utf8(binary: IO[bytes]) -> None:
    """Read the whole file once, in chunks, and fail on the first line that is not UTF-8; rewinds it after.

    Done before anything is written, so a file exported in the wrong encoding is refused whole rather
    than imported up to its first accented name.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines = 0
    while chunk := binary.read(_SCAN_CHUNK):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            # exc.object is the decoder's pending bytes from the previous chunk followed by this chunk.
            bad = max(exc.start - (len(exc.object) - len(chunk)), 0)
            line = newlines + chunk[:bad].count(b"\n") + 1
            byte = exc.object[exc.start : exc.start + 1].hex()
            raise ImportFileError(
                f"the file is not UTF-8 (byte 0x{byte} cannot be decoded); save it as UTF-8 and import it again",
                line=line,
            ) from exc
        newlines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ImportFileError("the file is not UTF-8 (it ends inside a character)", line=newlines + 1) from exc
    binary.seek(0)


# --- CSV rows in the contract's shape ---------------------------------------------------------------


@lru_cache(maxsize=8)
def _list_columns(entity_type: str) -> frozenset[str]:
    """Contract fields that are lists of plain values (phones, emails): `;`-separated in a CSV cell."""
    contract = CONTRACTS[(entity_type, DEFAULT_VERSION)]()
    return frozenset(
        name
        for name, item in contract.fields.items()
        if isinstance(item, serializers.ListField) and not isinstance(item.child, serializers.Serializer)
    )


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV header maps to the contract: plain, dotted (nested) and list columns."""

    columns: tuple[str, ...]
    list_columns: frozenset[str]


def csv_layout(header: list[str], entity_type: str) -> CsvLayout:
    """Check a CSV header and read its layout; raises ImportFileError for a header nothing can be read with."""
    columns = [name.strip() for name in header]
    if "source_id" not in columns:
        hint = ""
        if len(columns) == 1 and ";" in columns[0]:
            hint = " (the header looks separated by ';'; columns must be separated by ',')"
        found = ", ".join(name for name in columns if name)[:200] or "nothing"
        raise ImportFileError(f"the header has no source_id column{hint}; found: {found}", line=1)
    seen: set[str] = set()
    for position, name in enumerate(columns, start=1):
        if not name:
            raise ImportFileError(f"column {position} of the header has no name", line=1)
        if name in seen:
            raise ImportFileError(f"column '{name}' appears twice in the header", line=1)
        seen.add(name)
    for name in columns:
        if "." in name and name.split(".", 1)[0] in seen:
            raise ImportFileError(
                f"column '{name}' is part of '{name.split('.', 1)[0]}', which is also a column of its own", line=1
            )
    return CsvLayout(tuple(columns), _list_columns(entity_type))


def _split_list(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(LIST_SEPARATOR) if part.strip()]


def _tax_ids(cells: dict[str, str]) -> tuple[list[dict[str, str]], list[tuple[str, str]]]:
    tax_ids: list[dict[str, str]] = []
    errors: list[tuple[str, str]] = []
    if cells.get("tax_id"):
        tax = {"value": cells["tax_id"]}
        if cells.get("tax_country"):
            tax["country"] = cells["tax_country"]
        tax_ids.append(tax)
    elif cells.get("tax_country"):
        errors.append(("tax_country", "given without a tax_id"))
    for item in _split_list(cells.get("tax_ids", "")):
        value, colon, country = item.rpartition(":")
        tax_ids.append({"value": value.strip(), "country": country.strip()} if colon else {"value": item})
    return tax_ids, errors


def csv_row_to_record(layout: CsvLayout, row: list[str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """One CSV row as a contract record, with any problems the row's shape has (field, message)."""
    errors: list[tuple[str, str]] = []
    if len(row) > len(layout.columns) and any(cell.strip() for cell in row[len(layout.columns) :]):
        errors.append(("record", f"the line has {len(row)} cells but the header names {len(layout.columns)} columns"))
    cells = {name: cell for name, cell in zip(layout.columns, row, strict=False) if cell.strip()}
    record: dict[str, Any] = {}
    if {"tax_id", "tax_country", "tax_ids"} & cells.keys():
        tax_ids, tax_errors = _tax_ids(cells)
        errors.extend(tax_errors)
        if tax_ids:
            record["tax_ids"] = tax_ids
    for name, cell in cells.items():
        if name in ("tax_id", "tax_country", "tax_ids"):
            continue
        value: Any = cell
        if name in layout.list_columns:
            value = _split_list(cell)
        elif name == "contract_version" and cell.strip().isdigit():
            value = int(cell)
        if "." in name:
            *parents, leaf = name.split(".")
            target = record
            for parent in parents:
                target = target.setdefault(parent, {})
            target[leaf] = value
        else:
            record[name] = value
    return record, errors


def _csv_lines(text: IO[str], entity_type: str, summary: ImportSummary) -> Iterator[_Line]:
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError("the file is empty: expected a header line naming the columns, source_id first") from None
    except csv.Error as exc:
        raise ImportFileError(f"the header cannot be read as CSV: {exc}", line=1) from exc
    layout = csv_layout(header, entity_type)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            summary.lines = reader.line_num
            return
        except csv.Error as exc:
            # The reader starts afresh on the next line, so one broken row does not end the import.
            summary.lines = reader.line_num
            where = f"lines {start}-{reader.line_num}" if reader.line_num > start else "the line"
            yield _Line(start, None, [("record", f"{where} cannot be read as CSV: {exc}")])
            continue
        summary.lines = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines and rows of empty cells, as spreadsheets leave at the end
        record, errors = csv_row_to_record(layout, row)
        yield _Line(start, record, errors)


def _jsonl_lines(text: IO[str], summary: ImportSummary) -> Iterator[_Line]:
    number = 0
    while line := text.readline(MAX_LINE_CHARS + 1):
        number += 1
        summary.lines = number
        if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
            while (rest := text.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
                pass  # skip the rest of the over-long line without holding it
            yield _Line(number, None, [("record", f"the line is longer than {MAX_LINE_CHARS:,} characters")])
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            reason = exc.msg.removesuffix(" at")  # "Unterminated string starting at"
            yield _Line(number, None, [("record", f"not valid JSON: {reason} at column {exc.colno}")])
            continue
        if not isinstance(record, dict):
            yield _Line(number, None, [("record", f"a record must be a JSON object, not {_json_type(record)}")])
            continue
        yield _Line(number, record)


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), "null")


# --- The import ------------------------------------------------------------------------------------------


def error_csv_writer(stream: IO[str]) -> Callable[[LineError], None]:
    """An `on_error` callback writing each error as a CSV row (line, source_id, field, message) to `stream`."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(ERROR_CSV_HEADER)

    def write(error: LineError) -> None:
        writer.writerow((error.line, error.source_id or "", error.field, error.message))

    return write


def records_import(
    *,
    path: str | Path,
    system: System,
    entity_type: str,
    fmt: str | None = None,
    on_error: Callable[[LineError], None] | None = None,
    on_progress: Callable[[int, ImportSummary], None] | None = None,
    batch_size: int | None = None,
    defer_matching: bool = False,
    after_batch: Callable[[ImportSummary], Any] | None = None,
) -> ImportSummary:
    """Import a CSV or JSONL file of source records from `system` through `ingest`, batch by batch.

    Rejected lines are reported to `on_error` as they happen (one LineError per field problem, with
    the line the record starts on); the summary keeps only the first ERROR_SAMPLE_SIZE of them.
    `on_progress(bytes_read, summary)` is called after every batch. File-level problems (unreadable,
    not UTF-8, no usable header) raise ImportFileError before anything is written; the batches of an
    import are committed one by one, so an import stopped half-way keeps the batches before it, and
    running it again is safe (records already stored come back `unchanged`). `defer_matching`: see `ingest`.
    `after_batch(summary)` is called after each batch is committed (the command learns a first load's match model
    there, so the rest of the file is matched with it).
    """
    if entity_type not in EntityType.values:
        raise ImportFileError(f"unknown entity type '{entity_type}'; one of: {', '.join(EntityType.values)}")
    fmt = detect_format(path, fmt)
    limit = settings.MDM_INGEST_MAX_BATCH
    size = min(batch_size or limit, limit)
    name = Path(path).name
    summary = ImportSummary(path=str(path), fmt=fmt, system=system.code, entity_type=entity_type)
    started = time.monotonic()

    def report(line: int, source_id: str | None, field_name: str, message: str) -> None:
        error = LineError(line, source_id, field_name, message)
        summary.errors += 1
        if len(summary.error_sample) < ERROR_SAMPLE_SIZE:
            summary.error_sample.append(error)
        if on_error is not None:
            on_error(error)

    try:
        binary = open(path, "rb")  # noqa: SIM115 (closed in the finally below, after the text wrapper)
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        check_utf8(binary)
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        lines = _csv_lines(text, entity_type, summary) if fmt == "csv" else _jsonl_lines(text, summary)
        reason = f"file import {name}"

        def progress() -> None:
            summary.elapsed = time.monotonic() - started
            if on_progress is not None:
                on_progress(binary.tell(), summary)

        with correlation() as correlation_id:
            summary.correlation_id = correlation_id
            batch: list[_Line] = []
            sent = 0
            for item in _read(lines, summary):
                summary.records += 1
                if item.record is None or item.errors:
                    source_id = _source_id(item.record)
                    for field_name, message in item.errors:
                        report(item.line, source_id, field_name, message)
                    summary.rejected += 1
                else:
                    batch.append(item)
                if len(batch) >= size:
                    _send(system, entity_type, batch, reason, summary, report, defer_matching)
                    batch = []
                    progress()
                    if after_batch is not None:
                        after_batch(summary)
                    sent += 1
                    if sent % ANALYZE_EVERY_BATCHES == 0:
                        analyze_stale_tables(scale_factor=BULK_LOAD_SCALE_FACTOR, history=False)
                elif summary.records % size == 0:
                    progress()  # a long run of lines rejected on reading still moves the progress bar
            if batch:
                _send(system, entity_type, batch, reason, summary, report, defer_matching)
        progress()
    finally:
        binary.close()
    return summary


def _read(lines: Iterator[_Line], summary: ImportSummary) -> Iterator[_Line]:
    """The file's records; a decoding failure (the file changed since check_utf8 read it) is an ImportFileError."""
    try:
        yield from lines
    except UnicodeDecodeError as exc:
        raise ImportFileError("the file is not UTF-8", line=summary.lines + 1) from exc


def _source_id(record: dict[str, Any] | None) -> str | None:
    value = record.get("source_id") if record else None
    return value if isinstance(value, str) else None


def _send(
    system: System,
    entity_type: str,
    batch: list[_Line],
    reason: str,
    summary: ImportSummary,
    report: Callable[[int, str | None, str, str], None],
    defer_matching: bool,
) -> None:
    result = ingest(
        system=system,
        entity_type=entity_type,
        records=[item.record for item in batch],
        actor=system.service_user,
        reason=reason,
        defer_matching=defer_matching,
    )
    for item, outcome in zip(batch, result.outcomes, strict=True):
        summary.tally(outcome.status)
        if outcome.status == REJECTED:
            for error in outcome.errors:
                report(item.line, outcome.source_id, error.field, error.message)


# --- Export ------------------------------------------------------------------------------------------------


def xref_export_rows(
    *, system: str | None = None, entity_type: str | None = None, include_targets: bool = False, chunk_size: int = 5000
) -> Iterator[tuple[str, ...]]:
    """Cross-references as (system, entity type, external ID, golden ID[, kind]) rows, streamed from the database.

    The golden ID is the one the key resolves to today: a merged-away record's survivor. Rows come
    in the unique key's order (system, entity type, external ID), so exports diff cleanly.
    """
    rows = CrossReference.objects.all()
    if system:
        rows = rows.filter(system__code=system)
    if entity_type:
        rows = rows.filter(entity_type=entity_type)
    if not include_targets:
        rows = rows.filter(kind=XrefKind.SOURCE)
    values = rows.order_by("system_id", "entity_type", "external_id", "kind").values_list(
        "system__code",
        "entity_type",
        "external_id",
        "golden__golden_id",
        "golden__status",
        "golden__merged_into__golden_id",
        "golden__merged_into__status",
        "golden__merged_into_id",
        "kind",
    )
    for code, entity, external_id, golden_id, status, merged_into, merged_status, merged_pk, kind in values.iterator(
        chunk_size=chunk_size
    ):
        if status == GoldenStatus.RETIRED and merged_into:
            golden_id = merged_into
            if merged_status == GoldenStatus.RETIRED and merged_pk is not None:  # merged twice: follow the chain (rare)
                golden_id = survivor_of(GoldenRecord.objects.get(pk=merged_pk)).golden_id
        yield (
            (code, entity, external_id, golden_id, kind) if include_targets else (code, entity, external_id, golden_id)
        )
