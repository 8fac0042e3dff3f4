"""manage.py export_audit: every recorded change in a date range, as CSV (who, when, what, before → after, why)."""

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from governance.audit import audit_trail, parse_range, write_csv


class Command(BaseCommand):
    help = (
        "Export the audit trail from FROM to TO (dates, both included) as CSV: golden records, attributes, "
        "sources, cross-references, hierarchies, rules, candidates, overrides, change requests and policies."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (included)")
        parser.add_argument("file", metavar="FILE", help="CSV file to write ('-': standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            start, end = parse_range(options["start"], options["end"])
        except ValueError as exc:
            raise CommandError(f"--{exc}") from exc
        if options["file"] == "-":
            count = write_csv(audit_trail(start, end), self.stdout)
            return
        try:
            with open(options["file"], "w", newline="", encoding="utf-8") as stream:
                count = write_csv(audit_trail(start, end), stream)
        except OSError as exc:
            raise CommandError(f"cannot write {options['file']}: {exc.strerror or exc}") from exc
        sys.stderr.write(
            f"{count:,} changes from {options['start']} to {options['end']} written to {options['file']}\n"
        )
