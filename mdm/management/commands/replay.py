"""manage.py replay: send rejected and dead-lettered records again (idempotent: a second run queues nothing more)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mdm.models import DeliveryState, Target
from mdm.publishing.services import PublishingError, deliveries_replay
from mdm.services import system_actor


class Command(BaseCommand):
    help = "Queue rejected and dead-lettered deliveries again (their current version); the relay sends them."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--target", help="Only this target's deliveries.")
        parser.add_argument("--golden-id", action="append", default=None, dest="golden_ids", help="Repeatable.")
        parser.add_argument(
            "--state",
            action="append",
            default=None,
            dest="states",
            choices=DeliveryState.values,
            help="Default: rejected and dead.",
        )
        parser.add_argument("--force", action="store_true", help="Also resend records the target already has.")

    def handle(self, *args: Any, **options: Any) -> None:
        target = None
        if options["target"]:
            target = Target.objects.filter(code=options["target"]).first()
            if target is None:
                raise CommandError(f"no target named '{options['target']}'")
        try:
            count = deliveries_replay(
                actor=system_actor("replay"),
                target=target,
                golden_ids=options["golden_ids"],
                states=options["states"] or [DeliveryState.REJECTED, DeliveryState.DEAD],
                force=options["force"],
            )
        except PublishingError as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from exc
        self.stdout.write(f"queued {count} deliveries again")
