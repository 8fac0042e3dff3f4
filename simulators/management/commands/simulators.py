"""manage.py simulators: run the loopback Salesforce and NetSuite simulators (TLS, local CA) until Ctrl-C."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mdm.publishing.defaults import SIMULATOR_CREDENTIALS, SIMULATOR_PORTS
from simulators.tls import local_tls


class Command(BaseCommand):
    help = "Run the Salesforce and NetSuite simulators on loopback (the demo publishes to them)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--salesforce-port", type=int, default=SIMULATOR_PORTS["salesforce"])
        parser.add_argument("--netsuite-port", type=int, default=SIMULATOR_PORTS["netsuite"])
        parser.add_argument(
            "--people-edits",
            action="store_true",
            help="Start with a few records people created in Salesforce and NetSuite, for the pulls to bring in.",
        )
        parser.add_argument(
            "--tls-dir", default=str(Path(settings.VAR_DIR) / "simulators"), help="Where the local CA is kept."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from simulators.netsuite import NetSuiteSimulator
        from simulators.salesforce import SalesforceSimulator

        tls = local_tls(Path(options["tls_dir"]))
        sf_creds, ns_creds = SIMULATOR_CREDENTIALS["salesforce"], SIMULATOR_CREDENTIALS["netsuite"]
        try:
            salesforce = SalesforceSimulator(
                tls=tls,
                port=options["salesforce_port"],
                client_id=sf_creds["client_id"],
                client_secret=sf_creds["client_secret"],
            )
            netsuite = NetSuiteSimulator(
                tls=tls,
                port=options["netsuite_port"],
                consumer_key=ns_creds["consumer_key"],
                consumer_secret=ns_creds["consumer_secret"],
                token_id=ns_creds["token_id"],
                token_secret=ns_creds["token_secret"],
            )
        except OSError as exc:
            raise CommandError(f"cannot listen: {exc} (another `manage.py simulators` running?)") from exc
        salesforce.start()
        netsuite.start()
        if options["people_edits"]:
            people = (
                ("Harbour Lights Coffee", "Bristol", "GB", "+44 117 496 0000"),
                ("Nordlicht Solar", "Kiel", "DE", "+49 431 123456"),
                ("Atelier Rive", "Lyon", "FR", "+33 4 72 00 00 00"),
            )
            for name, city, country, phone in people:
                salesforce.user_create(
                    "Account", {"Name": name, "BillingCity": city, "BillingCountry": country, "Phone": phone}
                )
            for name in ("Vesta Logistik GmbH", "Corvo Materials S.r.l."):
                netsuite.user_create("customer", {"companyName": name, "subsidiary": {"id": "1"}, "isPerson": False})
        self.stdout.write(f"Salesforce simulator  {salesforce.url}  (CA: {tls.ca_pem})")
        self.stdout.write(f"NetSuite simulator    {netsuite.url}")
        self.stdout.write(
            "Inspect: GET /__simulator__/stats and /__simulator__/records/<type> on either. Ctrl-C stops."
        )
        self.stdout.flush()
        try:
            import threading

            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            salesforce.stop()
            netsuite.stop()
