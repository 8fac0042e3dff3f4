"""manage.py train_matcher: re-estimate the match model of an entity type from the data in the hub."""

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from matching.training import TrainingRefused, match_model_train, training_summary
from mdm.models import EntityType
from mdm.services import system_actor


class Command(BaseCommand):
    help = (
        "Learn new Fellegi-Sunter parameters (m and u per comparison level, and lambda) for an entity type "
        "from its records in the hub, without labels, using steward decisions as labels where there are any. "
        "The result is stored as a new model version with its training report and sanity check; --activate "
        "also uses it for new decisions if it passes the check (a version that fails is stored, not used). "
        "Every decision records the version it used."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--entity", required=True, choices=EntityType.values, help="the entity type to train")
        parser.add_argument("--sample", type=int, default=200_000, help="profiles sampled (default 200,000)")
        parser.add_argument("--random-pairs", type=int, default=200_000, help="random pairs for u (default 200,000)")
        parser.add_argument("--max-pairs", type=int, default=1_000_000, help="candidate pairs for EM (default 1M)")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--activate", action="store_true", help="use the new version for new decisions at once")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("sample", "random_pairs", "max_pairs"):
            if options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1")
        try:
            model = match_model_train(
                entity_type=options["entity"],
                actor=system_actor("matcher"),
                sample_size=options["sample"],
                random_pairs=options["random_pairs"],
                max_pairs=options["max_pairs"],
                seed=options["seed"],
                activate=options["activate"],
                progress=lambda message: self.stderr.write(message),
            )
        except TrainingRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(training_summary(model))
        self.stdout.write(json.dumps(model.training_report, indent=2))
