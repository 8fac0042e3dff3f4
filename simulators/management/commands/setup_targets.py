"""manage.py setup_targets: configure publishing targets; `--simulators` points Salesforce and NetSuite at the
loopback simulators with the starting mappings (what the demo does). Running it again changes nothing."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from mdm.models import FieldMapping, Target
from mdm.publishing.defaults import MAPPINGS_BY_KIND, SIMULATOR_PORTS, SIMULATOR_TARGETS
from mdm.publishing.services import field_mapping_publish, simulator_target_create
from simulators.tls import local_tls


class Command(BaseCommand):
    help = "Create the Salesforce and NetSuite targets of the simulators, with the starting field mappings."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--simulators", action="store_true", required=True, help="Target the loopback simulators.")
        parser.add_argument("--pull", action="store_true", help="Also pull changes back from them every minute.")
        parser.add_argument("--tls-dir", default=str(Path(settings.VAR_DIR) / "simulators"))

    def handle(self, *args: Any, **options: Any) -> None:
        tls = local_tls(Path(options["tls_dir"]))
        for code in SIMULATOR_TARGETS:
            target = Target.objects.filter(code=code).first()
            created = target is None
            if target is None:
                target = simulator_target_create(
                    kind=code,
                    base_url=f"https://127.0.0.1:{SIMULATOR_PORTS[code]}",
                    ca_bundle=str(tls.ca_pem),
                    entity_types=["customer", "product"],
                    pull_enabled=options["pull"],
                )
            for entity_type, spec in MAPPINGS_BY_KIND[code].items():  # a kept target gets mappings it lacks
                if not FieldMapping.objects.filter(target=target, entity_type=entity_type).exists():
                    field_mapping_publish(
                        target=target, entity_type=entity_type, actor=None, note="starting mapping", **spec
                    )
            self.stdout.write(f"{'Created' if created else 'Kept'} target {code} → {target.base_url}")
