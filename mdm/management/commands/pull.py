"""manage.py pull: pull changes made in targets back into the hub now (what the scheduled pull does)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mdm.models import Target
from mdm.publishing.pulls import target_pulls


class Command(BaseCommand):
    help = "Pull changes from targets (Salesforce SOQL on SystemModstamp, NetSuite SuiteQL) into the ingest path."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--target", action="append", default=[], help="Only this target (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        targets = Target.objects.filter(is_active=True).select_related("system").order_by("code")
        if options["target"]:
            targets = targets.filter(code__in=options["target"])
            missing = sorted(set(options["target"]) - {t.code for t in targets})
            if missing:
                raise CommandError(f"no active target named {', '.join(missing)}")
        for target in targets:
            for entity_type, outcome in target_pulls(target):
                if isinstance(outcome, Exception):
                    raise CommandError(f"{target.code}/{entity_type}: {outcome}")
                self.stdout.write(str(outcome))
