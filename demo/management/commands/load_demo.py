"""Load the seeded demo landscape through the hub's ingest, and create the demo steward login and API keys."""

from collections import Counter
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.data import (
    DEFAULT_CUSTOMERS,
    DEFAULT_PRODUCTS,
    DEFAULT_SEED,
    DEFAULT_STEWARD,
    DemoLoadReport,
    demo_api_keys_ensure,
    demo_data_build,
    demo_data_load,
    demo_hub_figures,
    demo_steward_ensure,
)

# bin/demo repeats this section of the output (and only it) once the hub is up.
CREDENTIALS_HEADING = "Logins and keys:"
SAMPLE_REJECTIONS = 3


class Command(BaseCommand):
    help = (
        "Load realistic demo data (Salesforce accounts and products, NetSuite customers and items) through "
        "the hub's ingest; idempotent. Creates a steward login and demo API keys on the first run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS, help="companies to generate")
        parser.add_argument("--products", type=int, default=DEFAULT_PRODUCTS, help="products to generate")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same data)")
        parser.add_argument("--steward", default=DEFAULT_STEWARD, help="username of the demo steward login")
        parser.add_argument(
            "--reset-password", action="store_true", help="set and print a new password for an existing steward"
        )
        parser.add_argument(
            "--new-keys", action="store_true", help="revoke the demo API keys and issue (and print) new ones"
        )
        parser.add_argument(
            "--allow-production", action="store_true", help="load demo data even though MDM_ENV=production"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION and not options["allow_production"]:
            raise CommandError("MDM_ENV=production: demo data and demo credentials are refused (--allow-production)")
        if options["customers"] < 1 or options["products"] < 1:
            raise CommandError("--customers and --products must be at least 1")
        data = demo_data_build(customers=options["customers"], products=options["products"], seed=options["seed"])
        self.stdout.write(
            f"Loading demo data (seed {options['seed']}: {options['customers']:,} companies, "
            f"{options['products']:,} products) through the hub's ingest …"
        )
        report = demo_data_load(data=data, reason=f"demo data load (seed {options['seed']})")
        self._counts(report)
        self._rejections(report, verbosity=options["verbosity"])
        self._figures()
        self._credentials(options)

    def _counts(self, report: DemoLoadReport) -> None:
        header = f"  {'system':<11}{'entity':<10}{'created':>8}{'updated':>9}{'unchanged':>11}{'rejected':>10}"
        self.stdout.write("")
        self.stdout.write(header + f"{'flagged':>9}")
        for (system, entity_type), counts in report.counts.items():
            self.stdout.write(
                f"  {system:<11}{entity_type:<10}{counts['created']:>8}{counts['updated']:>9}"
                f"{counts['unchanged']:>11}{counts['rejected']:>10}{report.flagged[(system, entity_type)]:>9}"
            )
        if report.changed == 0:
            self.stdout.write(self.style.SUCCESS("  Nothing changed: the demo data was already loaded."))
        self.stdout.write(
            "  (flagged: created or updated by this run and stored with an issue, such as an invalid VAT number)"
        )

    def _rejections(self, report: DemoLoadReport, *, verbosity: int) -> None:
        if not report.rejections:
            return
        self.stdout.write("")
        self.stdout.write(
            f"Rejected {len(report.rejections)} records (they break the data contract; nothing of them is stored):"
        )
        reasons: Counter[tuple[str, str, str]] = Counter()
        examples: dict[tuple[str, str, str], list[str]] = {}
        for rejection in report.rejections:
            key = (rejection.system, rejection.entity_type, "; ".join(rejection.reasons))
            reasons[key] += 1
            examples.setdefault(key, []).append(rejection.source_id or "?")
        for (system, entity_type, reason), count in reasons.most_common():
            ids = examples[(system, entity_type, reason)]
            shown = ids if verbosity > 1 else ids[:SAMPLE_REJECTIONS]
            more = f" and {len(ids) - len(shown)} more" if len(ids) > len(shown) else ""
            self.stdout.write(f"  {count:>4}x {system} {entity_type}: {reason}  ({', '.join(shown)}{more})")

    def _figures(self) -> None:
        figures = demo_hub_figures()
        self.stdout.write("")
        for entity_type in ("customer", "product"):
            self.stdout.write(
                f"Golden {entity_type}s: {figures.golden.get(entity_type, 0):,} active, from "
                f"{figures.sources.get(entity_type, 0):,} source records; "
                f"{figures.flagged_golden.get(entity_type, 0):,} with a quality flag"
            )
        edges = ", ".join(f"{code} {count:,}" for code, count in sorted(figures.edges.items())) or "none"
        self.stdout.write(f"Hierarchy edges in force today: {edges}")

    def _credentials(self, options: dict[str, Any]) -> None:
        steward, password = demo_steward_ensure(username=options["steward"], reset_password=options["reset_password"])
        keys = demo_api_keys_ensure(created_by=steward, new_keys=options["new_keys"])
        self.stdout.write("")
        self.stdout.write(CREDENTIALS_HEADING)
        if password:
            self.stdout.write(f"  Steward login: {steward.get_username()} / {password}  (superuser; shown once)")
        else:
            self.stdout.write(
                f"  Steward login: {steward.get_username()} exists; its password is unchanged "
                "(load_demo --reset-password sets a new one)"
            )
        for key in keys:
            if key.secret:
                self.stdout.write(f"  {key.name} [{key.scope}]: {key.secret}")
            else:
                self.stdout.write(f"  {key.name} [{key.scope}]: exists (mdm_{key.prefix}_…)")
        if any(key.secret for key in keys):
            self.stdout.write("  Keys are stored hashed: copy them now; load_demo --new-keys issues new ones.")
        else:
            self.stdout.write(
                "  Key secrets are shown only when issued; load_demo --new-keys revokes these and issues new ones."
            )
        self.stdout.write("")
