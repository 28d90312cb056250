"""A local PKI and timestamp authority, served on loopback: the organisation's CA that certifies
the packet signer (with CRLs and OCSP) and an RFC 3161 authority, made by certomancer from
`certomancer.yml` with keys made for the run. Nothing leaves the machine."""

import threading
from dataclasses import dataclass
from pathlib import Path

import yaml
from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig, KeyLabel
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server

CONFIG = Path(__file__).with_name("certomancer.yml")
ARCH = ArchLabel("readiness")


def _pem(asn1_object, kind: str) -> bytes:
    from asn1crypto import pem

    return pem.armor(kind, asn1_object.dump())


@dataclass
class LocalPki:
    url: str  # http://127.0.0.1:PORT
    architecture: object
    server: object

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/{ARCH}/tsa/tsa"

    def certificate(self, label: str) -> bytes:
        return _pem(self.architecture.get_cert(CertLabel(label)), "CERTIFICATE")

    def key(self, label: str) -> bytes:
        key = self.architecture.key_set.get_private_key(KeyLabel(label))
        return _pem(key, "PRIVATE KEY")

    def signing_settings(self) -> dict:
        """The settings an instance signing with this CA's certificate and this authority has."""
        return {
            "PACKET_SIGNING_KEY": self.key("signer").decode(),
            "PACKET_SIGNING_CERT": self.certificate("signer").decode(),
            "PACKET_SIGNING_CHAIN": (
                self.certificate("issuing") + self.certificate("root")
            ).decode(),
            "PACKET_TSA_URL": self.tsa_url,
            "PACKET_TSA_TRUST": self.certificate("root").decode(),
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start(folder: Path, port: int = 0) -> LocalPki:
    """Make the keys in `folder`, and serve the PKI on loopback until `stop()`: on `port`, or on
    a free port when it is 0."""
    config = yaml.safe_load(CONFIG.read_text())
    for entry in config["keysets"]["readiness"]["keys"].values():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (folder / entry["path"]).write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    # The port is known once the socket is bound; the certificates, which name the CRL and OCSP
    # addresses, are made after that, by the application the server then hands requests to.
    application = {}
    server = make_server(
        "127.0.0.1", port, lambda environ, respond: application["app"](environ, respond)
    )
    url = f"http://127.0.0.1:{server.server_port}"
    certomancer = CertomancerConfig(config, key_search_dir=str(folder), external_url_prefix=url)
    architecture = certomancer.get_pki_arch(ARCH)
    application["app"] = Animator(
        AnimatorArchStore({ARCH: architecture}), with_web_ui=False, allow_time_override=False
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return LocalPki(url=url, architecture=architecture, server=server)
