"""manage.py rebuild_match_keys: recompute the stored match forms and blocking keys of an entity type."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from matching.engine import match_forms_rebuild
from mdm.models import EntityType, SourceRecord


class Command(BaseCommand):
    help = (
        "Recompute every source record's match form and blocking keys of an entity type from its standardised "
        "values, after an upgrade changed how they are made (new keys find candidates only once they are stored). "
        "Golden records, links and decisions are not changed; run `manage.py match` afterwards to re-match."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--entity", required=True, choices=EntityType.values)
        parser.add_argument("--chunk-size", type=int, default=2000, help="records per transaction (default 2,000)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        total = SourceRecord.objects.filter(entity_type=options["entity"]).count()
        with tqdm(total=total, unit="record", desc="rebuild", file=self.stderr, disable=None) as bar:
            done = match_forms_rebuild(options["entity"], chunk_size=options["chunk_size"], on_progress=bar.update)
        self.stdout.write(f"{done:,} {options['entity']} source records: match forms and blocking keys rebuilt.")
