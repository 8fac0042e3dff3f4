"""A local certificate authority for the simulators' TLS (simple-salesforce always speaks https).

The CA and the server certificate are written to a folder and reused on later runs, so a target
configured to trust `<folder>/ca.pem` keeps working across restarts of `manage.py simulators`.
"""

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class LocalTLS:
    """Files of a local CA and a certificate for 127.0.0.1/localhost signed by it."""

    ca_pem: Path
    cert_pem: Path  # certificate chain and private key in one file

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert_pem))
        return context


def local_tls(folder: Path) -> LocalTLS:
    """The local CA in `folder`, made on first use."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_pem, cert_pem = folder / "ca.pem", folder / "server.pem"
    if not (ca_pem.exists() and cert_pem.exists()):
        ca = trustme.CA(organization_name="MDM hub simulators")
        cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
        ca.cert_pem.write_to_path(str(ca_pem))
        with cert_pem.open("wb") as handle:
            handle.write(cert.private_key_pem.bytes())
            for blob in cert.cert_chain_pems:
                handle.write(blob.bytes())
        cert_pem.chmod(0o600)
    return LocalTLS(ca_pem=ca_pem, cert_pem=cert_pem)
