"""manage.py import_records: import a CSV or JSONL file of source records as one system sends them."""

import sys
from argparse import ArgumentParser, RawDescriptionHelpFormatter
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from matching.training import (
    FIRST_LOAD_RECORDS,
    match_model_train_if_due,
    match_model_train_if_first,
    training_summary,
)
from mdm.imports import FORMATS, ImportFileError, ImportSummary, LineError, error_csv_writer, records_import
from mdm.ingest import IngestError
from mdm.models import EntityType, System
from mdm.services import system_actor

DEFAULT_SHOWN_ERRORS = 50


class Command(BaseCommand):
    help = """Import source records from a CSV or JSONL file through the ingest path, as SYSTEM sends them.

The format comes from the extension (.csv, .jsonl, .ndjson) unless --format is given. CSV files need
a header line with a source_id column; nested fields are dotted columns (legal_address.city), list
fields (phones, emails) are ';'-separated, and tax_id with tax_country give the first tax ID.

Rejected lines are reported with their line number in the file (the first --show-errors of them on
stderr, all of them in the --errors CSV). Exit status: 0 when the file was imported, even if some
lines were rejected; 1 for fatal errors (bad arguments, unreadable or non-UTF-8 file, bad CSV
header), before anything is written. Running the same file again is safe: stored records come back
unchanged."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter  # keep the paragraphs of the help text
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", metavar="FILE", help="the CSV or JSONL file to import")
        parser.add_argument("--system", required=True, help="code of the system the records come from")
        parser.add_argument("--entity", required=True, choices=EntityType.values, help="entity type of the records")
        parser.add_argument("--format", dest="fmt", choices=FORMATS, help="file format (default: from the extension)")
        parser.add_argument("--errors", metavar="ERRORS.csv", help="write every rejected line's errors to this CSV")
        parser.add_argument(
            "--show-errors",
            type=int,
            default=DEFAULT_SHOWN_ERRORS,
            metavar="N",
            help=f"print at most N errors on stderr (default {DEFAULT_SHOWN_ERRORS})",
        )
        parser.add_argument("--quiet", action="store_true", help="no progress bar and no per-line errors; summary only")
        parser.add_argument(
            "--defer-matching",
            action="store_true",
            help="a first load: every new record starts its own golden record; deduplicate afterwards with "
            "`manage.py match --entity ENTITY --since START` (faster than matching each record as it arrives)",
        )
        parser.add_argument(
            "--no-training",
            action="store_true",
            help="do not learn the match model, even when one is due: a first load learns it once its first "
            f"{FIRST_LOAD_RECORDS:,} records are in (the rest of the file is matched with it), and again at the end "
            "when the entity type has grown by a quarter since the model was learnt",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        system = self._system(options["system"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
        quiet: bool = options["quiet"]
        shown_limit = 0 if quiet else max(options["show_errors"], 0)
        stderr: IO[str] = options.get("stderr") or sys.stderr
        errors_path = options["errors"]
        errors_file: IO[str] | None = None
        if errors_path and Path(errors_path).resolve() == path.resolve():
            raise CommandError("--errors names the file being imported; give another file")
        if errors_path:
            try:
                errors_file = open(errors_path, "w", newline="", encoding="utf-8")  # noqa: SIM115 (closed below)
            except OSError as exc:
                raise CommandError(f"cannot write {errors_path}: {exc.strerror or exc}") from exc
        write_error = error_csv_writer(errors_file) if errors_file else None
        shown = 0
        bar = tqdm(
            total=path.stat().st_size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=path.name,
            file=stderr,
            disable=quiet,
            mininterval=0.5,
        )

        def on_error(error: LineError) -> None:
            nonlocal shown
            if write_error is not None:
                write_error(error)
            if shown < shown_limit:
                shown += 1
                bar.write(str(error), file=stderr)

        learnt: list[str] = []

        def learn_early(summary: ImportSummary) -> None:
            """A first load matched as it arrives: its model is learnt once its first records are in."""
            model = match_model_train_if_first(entity_type=options["entity"], actor=system_actor("matcher"))
            if model is not None:
                learnt.append(training_summary(model))

        def on_progress(bytes_read: int, summary: ImportSummary) -> None:
            bar.update(bytes_read - bar.n)
            bar.set_postfix(records=summary.records, rejected=summary.rejected, refresh=False)

        try:
            summary = records_import(
                path=path,
                system=system,
                entity_type=options["entity"],
                fmt=options["fmt"],
                on_error=on_error,
                on_progress=on_progress,
                defer_matching=options["defer_matching"],
                after_batch=None if options["no_training"] or options["defer_matching"] else learn_early,
            )
        except (ImportFileError, IngestError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        finally:
            bar.close()
            if errors_file is not None:
                errors_file.close()
        if summary.errors > shown and not quiet:
            where = f"see {errors_path}" if errors_path else "pass --errors FILE to write them all"
            stderr.write(f"… and {summary.errors - shown} more; {where}\n")
        self.stdout.write(self._summary(summary))
        for line in learnt:
            self.stdout.write(line)
        if summary.created and not options["no_training"]:
            model = match_model_train_if_due(entity_type=options["entity"], actor=system_actor("matcher"))
            if model is not None:
                self.stdout.write(training_summary(model))

    def _system(self, code: str) -> System:
        system = System.objects.filter(code=code).first()
        if system is None:
            known = ", ".join(System.objects.order_by("code").values_list("code", flat=True)) or "none"
            raise CommandError(f"unknown system '{code}'; known systems: {known}")
        if not system.is_active:
            raise CommandError(f"system '{code}' is inactive")
        return system

    def _summary(self, summary: ImportSummary) -> str:
        return (
            f"{summary.path}: {summary.lines:,} lines read, {summary.records:,} {summary.system} "
            f"{summary.entity_type} records in {summary.elapsed:.1f} s ({summary.records_per_second:,.0f}/s): "
            f"{summary.created:,} created, {summary.updated:,} updated, {summary.unchanged:,} unchanged, "
            f"{summary.rejected:,} rejected. Correlation ID {summary.correlation_id}."
        )
