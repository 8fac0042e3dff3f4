"""manage.py publish: run the relay once in the foreground (dispatch the outbox, deliver to every target)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mdm.models import Target
from mdm.publishing import relay


class Command(BaseCommand):
    help = "Publish what is due now: dispatch pending outbox events, then deliver to each target until done."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--target", action="append", default=[], help="Only this target (repeatable).")
        parser.add_argument("--budget", type=float, default=600.0, help="Seconds to spend per target at most.")

    def handle(self, *args: Any, **options: Any) -> None:
        targets = list(Target.objects.filter(is_active=True).order_by("code"))
        if options["target"]:
            unknown = sorted(set(options["target"]) - {t.code for t in targets})
            if unknown:
                raise CommandError(f"no active target named {', '.join(unknown)}")
            targets = [t for t in targets if t.code in options["target"]]
        dispatched = relay.outbox_dispatch_all()
        self.stdout.write(f"outbox: {dispatched} events dispatched")
        for target in targets:
            summary = relay.target_deliver(target=target, budget_seconds=options["budget"])
            line = (
                f"{target.code}: {summary.status}; delivered {summary.delivered}, unchanged {summary.unchanged}, "
                f"skipped {summary.skipped}, rejected {summary.business}, retrying {summary.technical}, "
                f"dead {summary.dead}"
            )
            if summary.outage:
                line += f"; paused: {summary.outage}"
            self.stdout.write(line)
