"""manage.py export_xrefs: every source key and the golden ID it resolves to, as CSV."""

import csv
import sys
from argparse import ArgumentParser
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError

from mdm.imports import XREF_CSV_HEADER, xref_export_rows
from mdm.models import EntityType, System


class Command(BaseCommand):
    help = (
        "Write cross-references as CSV with the header system,entity_type,source_id,golden_id (FILE '-' is "
        "stdout). Only the keys systems sent us (source xrefs) unless --include-targets, which adds the IDs "
        "targets gave us when we published, and a fifth column, kind. A merged-away record's keys give its "
        "survivor's golden ID. Rows are streamed from the database, so millions of them need little memory."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", metavar="FILE", help="the CSV file to write, or - for stdout")
        parser.add_argument("--system", help="only this system's keys")
        parser.add_argument("--entity", choices=EntityType.values, help="only this entity type")
        parser.add_argument("--include-targets", action="store_true", help="also the IDs learned when publishing")
        parser.add_argument("--chunk-size", type=int, default=5000, help="rows fetched per round trip")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["system"]
        if code and not System.objects.filter(code=code).exists():
            known = ", ".join(System.objects.order_by("code").values_list("code", flat=True)) or "none"
            raise CommandError(f"unknown system '{code}'; known systems: {known}")
        include_targets: bool = options["include_targets"]
        rows = xref_export_rows(
            system=code,
            entity_type=options["entity"],
            include_targets=include_targets,
            chunk_size=max(options["chunk_size"], 1),
        )
        header = (*XREF_CSV_HEADER, "kind") if include_targets else XREF_CSV_HEADER
        if options["file"] == "-":
            count = self._write(options.get("stdout") or sys.stdout, header, rows)
        else:
            try:
                with open(options["file"], "w", newline="", encoding="utf-8") as stream:
                    count = self._write(stream, header, rows)
            except OSError as exc:
                raise CommandError(f"cannot write {options['file']}: {exc.strerror or exc}") from exc
            self.stderr.write(f"{count:,} cross-references written to {options['file']}")

    def _write(self, stream: IO[str], header: tuple[str, ...], rows: Any) -> int:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
        return count
