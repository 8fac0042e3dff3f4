"""manage.py setup_targets: configure publishing targets; `--simulators` points Salesforce and NetSuite at the
loopback simulators with the starting mappings (what the demo does). Running it again changes nothing."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from mdm.models import FieldMapping, System, Target
from mdm.publishing.defaults import MAPPINGS_BY_KIND, SIMULATOR_CREDENTIALS, SIMULATOR_PORTS
from mdm.publishing.services import field_mapping_publish
from mdm.publishing.simulators.tls import local_tls


class Command(BaseCommand):
    help = "Create the Salesforce and NetSuite targets of the simulators, with the starting field mappings."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--simulators", action="store_true", required=True, help="Target the loopback simulators.")
        parser.add_argument("--pull", action="store_true", help="Also pull changes back from them every minute.")
        parser.add_argument("--tls-dir", default=str(Path(settings.VAR_DIR) / "simulators"))

    def handle(self, *args: Any, **options: Any) -> None:
        tls = local_tls(Path(options["tls_dir"]))
        specs = {
            "salesforce": ("Salesforce (simulator)", "client_credentials", "customer_sales", {}),
            "netsuite": (
                "NetSuite (simulator)",
                "tba",
                "customer_legal",
                {"account_id": "1234567", "max_concurrency": 4},
            ),
        }
        for code, (name, auth, hierarchy, options_) in specs.items():
            target, created = Target.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "kind": code,
                    "system": System.objects.filter(code=code).first(),
                    "base_url": f"https://127.0.0.1:{SIMULATOR_PORTS[code]}",
                    "auth": auth,
                    "options": options_,
                    "ca_bundle": str(tls.ca_pem),
                    "entity_types": ["customer", "product"],
                    "hierarchy": hierarchy,
                    "pull_enabled": options["pull"],
                },
            )
            if created:
                target.credentials = SIMULATOR_CREDENTIALS[code]
                target.full_clean()
                target.save()
            for entity_type, spec in MAPPINGS_BY_KIND[code].items():
                if not FieldMapping.objects.filter(target=target, entity_type=entity_type).exists():
                    field_mapping_publish(
                        target=target, entity_type=entity_type, actor=None, note="starting mapping", **spec
                    )
            self.stdout.write(f"{'Created' if created else 'Kept'} target {code} → {target.base_url}")
