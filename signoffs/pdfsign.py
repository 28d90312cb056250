"""The instance's signing key, and PAdES signatures on readiness packets (pyHanko).

The key, certificate and CA chain come from settings (PACKET_SIGNING_KEY / _CERT / _CHAIN, as
PEM text or, in their _FILE twins, as paths of mounted secrets). When no key and no certificate
are configured, a key and a self-signed certificate are made on first use under
PACKET_SIGNING_DIR, so that the embedded default signs packets without any set-up; every
process of one instance (web and workers) must then share that folder.

The signature's level is PACKET_SIGNATURE_PROFILE: B-B (no trusted time), B-T (an RFC 3161
timestamp from PACKET_TSA_URL over the signature), B-LT (and the certificates, CRLs and OCSP
responses to validate it in the document security store), B-LTA (and a document timestamp over
the whole). With no authority configured, packets are B-B whatever the profile.
"""

import datetime
import fcntl
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signoffs.pdfcheck import FIELD_NAME
from truststream import timestamps

logger = logging.getLogger(__name__)

_SETTINGS = ("PACKET_SIGNING_KEY", "PACKET_SIGNING_CERT")


def configured() -> bool:
    """Whether a key and certificate are configured (else this instance makes its own)."""
    return any(getattr(settings, name) or getattr(settings, f"{name}_FILE") for name in _SETTINGS)


def profile() -> str:
    """The PAdES level packets are signed at now: B-B without a timestamp authority."""
    return settings.PACKET_SIGNATURE_PROFILE if timestamps.configured() else "B-B"


def _generated_paths() -> tuple[Path, Path]:
    folder = settings.PACKET_SIGNING_DIR
    return folder / "packet-key.pem", folder / "packet-cert.pem"


def _generate(key_path: Path, cert_path: Path) -> None:
    """A 3072-bit RSA key and a ten-year self-signed certificate for signing documents."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{settings.PACKET_SIGNER_NAME} packets"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.PACKET_SIGNER_NAME),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # The key is readable by its owner only; both files appear whole or not at all.
    for path, data, mode in ((key_path, key_pem, 0o600), (cert_path, None, 0o644)):
        data = data or certificate.public_bytes(serialization.Encoding.PEM)
        partial = path.with_suffix(".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        partial.replace(path)


def ensure_key() -> tuple[Path, Path]:
    """The generated key and certificate files, made first if missing. Only for an instance
    with no key configured."""
    key_path, cert_path = _generated_paths()
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path
    key_path.parent.mkdir(parents=True, exist_ok=True)
    # Two workers starting together make one key: the second waits, then finds it made.
    with open(key_path.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (key_path.exists() and cert_path.exists()):
            _generate(key_path, cert_path)
    return key_path, cert_path


@dataclass(frozen=True)
class Material:
    """The signing key and certificate, and the CA's chain (PEM, empty when self-signed)."""

    key: bytes
    certificate: bytes
    chain: bytes = b""


def _configured_certificate() -> tuple[bytes, bytes]:
    certificate = timestamps.pem_setting("PACKET_SIGNING_CERT")
    if not certificate:
        raise ImproperlyConfigured(_BOTH)
    return certificate, timestamps.pem_setting("PACKET_SIGNING_CHAIN") or b""


_BOTH = (
    "Set both the packet signing key and certificate (PACKET_SIGNING_KEY or "
    "PACKET_SIGNING_KEY_FILE, PACKET_SIGNING_CERT or PACKET_SIGNING_CERT_FILE), or neither."
)


def material() -> Material:
    """The configured key material, else the generated one (made first when missing)."""
    if configured():
        key = timestamps.pem_setting("PACKET_SIGNING_KEY")
        if not key:
            raise ImproperlyConfigured(_BOTH)
        return Material(key, *_configured_certificate())
    key_path, cert_path = ensure_key()
    return Material(key_path.read_bytes(), cert_path.read_bytes())


def public_material() -> tuple[bytes, bytes] | None:
    """The certificate and chain packets are checked against, without the key (a web process
    need not be given it). None when this instance makes its own key and has not yet: a web
    process that does not share the workers' key folder must not make a key of its own and
    call every genuine packet foreign."""
    if configured():
        return _configured_certificate()
    _, cert_path = _generated_paths()
    return (cert_path.read_bytes(), b"") if cert_path.exists() else None


@cache
def _signer(found: Material) -> signers.SimpleSigner:
    try:
        key = load_private_key_from_pemder_data(found.key, passphrase=None)
        # A certificate file may hold the chain after the certificate.
        certificate, *chain = load_certs_from_pemder_data(found.certificate)
        chain += list(load_certs_from_pemder_data(found.chain)) if found.chain else []
    except ValueError as error:
        raise ImproperlyConfigured(f"The packet signing key or certificate: {error}") from error
    return signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs(chain),
    )


def _roots(certificate: bytes, chain: bytes) -> list:
    """What a packet validates to: the self-signed certificates of the configured chain (the
    organisation's root), or the instance's own self-signed certificate."""
    certificates = list(load_certs_from_pemder_data(certificate + chain))
    # asn1crypto answers "yes", "maybe" or "no" (a string, always true).
    return [c for c in certificates if c.self_signed != "no"] or certificates[-1:]


@cache
def _check_files(certificate: bytes, chain: bytes, tsa_trust: bytes | None) -> tuple[str, str]:
    """The certificate and the trusted roots (ours and the timestamp authority's) as files,
    for the checking process; written once per process, public data only."""
    folder = Path(tempfile.mkdtemp(prefix="truststream-check-"))
    cert_path = folder / "certificate.pem"
    # Ours is the first certificate; a certificate file may hold its chain after it.
    cert_path.write_bytes(_pem(next(iter(load_certs_from_pemder_data(certificate)))))
    trust_path = folder / "trust.pem"
    roots = _roots(certificate, chain)
    roots += list(load_certs_from_pemder_data(tsa_trust)) if tsa_trust else []
    trust_path.write_bytes(b"".join(_pem(root) for root in roots))
    return str(cert_path), str(trust_path)


def _pem(certificate) -> bytes:
    return x509.load_der_x509_certificate(certificate.dump()).public_bytes(
        serialization.Encoding.PEM
    )


def _without_duplicate_attachments(writer: IncrementalPdfFileWriter) -> None:
    """WeasyPrint lists the attached snapshot twice in the catalog's /AF array; PDF/A-3 wants
    each associated file once. Fixed in the signature's own incremental update."""
    associated = writer.root.get("/AF")
    if associated is None:
        return
    seen, kept = set(), generic.ArrayObject()
    for entry in associated:
        key = (entry.idnum, entry.generation) if hasattr(entry, "idnum") else id(entry)
        if key not in seen:
            seen.add(key)
            kept.append(entry)
    if len(kept) != len(associated):
        writer.root["/AF"] = kept
        writer.update_root()


def _producer_as_in_xmp(writer: IncrementalPdfFileWriter) -> None:
    """PDF/A wants the document information's Producer equal to the XMP's. pyHanko writes its
    own name as the XMP's pdf:Producer in every update, but appends it to the information's
    Producer when not already there ("WeasyPrint 70.0; pyHanko ..."): set the information's to
    pyHanko's name first, and every later update leaves both alike."""
    info = writer.prev.trailer_view.get("/Info")
    entries = generic.DictionaryObject(info.get_object() if info is not None else {})
    entries["/Producer"] = generic.TextStringObject(VENDOR)
    writer.set_info(entries)


def sign(pdf: bytes, *, reason: str) -> bytes:
    """The PDF with a PAdES signature at `profile()` over the whole file, as incremental
    updates (the signature; for B-LT and up the validation data; for B-LTA a document
    timestamp), each keeping the file PDF/A-3."""
    found = material()
    signer = _signer(found)
    level = profile()
    long_term = level in ("B-LT", "B-LTA")
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=settings.SITE_URL,
        embed_validation_info=long_term,
        use_pades_lta=level == "B-LTA",
        # Signing fetches the CRLs and OCSP responses that go into the document.
        validation_context=(
            timestamps.validation_context(
                extra_roots=_roots(found.certificate, found.chain), allow_fetching=True
            )
            if long_term
            else None
        ),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    _without_duplicate_attachments(writer)
    _producer_as_in_xmp(writer)
    output = io.BytesIO()
    timestamps.run(
        signers.PdfSigner(
            metadata,
            signer=signer,
            timestamper=timestamps.timestamper() if level != "B-B" else None,
        ).async_sign_pdf,
        writer,
        output=output,
    )
    return output.getvalue()


@dataclass
class SignatureCheck:
    present: bool
    checkable: bool = True
    intact: bool = False
    ours: bool = False
    covers_whole_file: bool = False
    signed_at: datetime.datetime | None = None
    level: str = ""  # the PAdES level found in the file: B-B, B-T, B-LT or B-LTA
    timestamped_at: datetime.datetime | None = None  # the authority's time over the signature
    problem: str = ""  # why the file could not be checked at all

    @property
    def valid(self) -> bool:
        return self.present and self.intact and self.ours and self.covers_whole_file

    @property
    def summary(self) -> str:
        if self.problem:
            return self.problem
        if not self.present:
            return "The file carries no packet signature."
        if not self.checkable:
            return "The signature cannot be checked here: this server has no signing key yet."
        if not self.intact:
            return "The signature is broken: the file was changed after it was signed."
        if not self.ours:
            return "The file is signed, but not with this instance's key."
        if not self.covers_whole_file:
            return "The signature is intact, but content was added to the file after signing."
        return "The signature is intact and was made with this instance's key."

    @property
    def time_statement(self) -> str:
        """What the file says of when it was signed, for the verify page."""
        if self.timestamped_at is not None:
            return (
                f"PAdES {self.level}: a timestamp authority attests the signature existed at "
                f"{self.timestamped_at:%Y-%m-%d %H:%M:%S} UTC."
            )
        return (
            "PAdES B-B: no trusted time. The signing time is this instance's own clock, "
            "which nobody else attests."
        )


@contextmanager
def _local_path(pdf: bytes | IO[bytes]) -> Iterator[str]:
    """A path to `pdf` on the local disk. An upload Django spooled to a temporary file has one;
    anything else (bytes, an upload held in memory, a file from the storage) is copied into a
    temporary file, a chunk at a time."""
    if hasattr(pdf, "temporary_file_path"):
        yield pdf.temporary_file_path()
        return
    with tempfile.NamedTemporaryFile(suffix=".pdf") as copy:
        if isinstance(pdf, bytes):
            copy.write(pdf)
        else:
            pdf.seek(0)
            shutil.copyfileobj(pdf, copy)
        copy.flush()
        yield copy.name


def check(pdf: bytes | IO[bytes]) -> SignatureCheck:
    """Whether `pdf` (its bytes, or a binary file) carries this instance's signature, intact and
    over the whole file.

    The file is examined by `signoffs.pdfcheck` in a process of its own, killed after
    PACKET_VERIFY_SECONDS and held to a memory limit, so that no file can hold up the process
    that asked or take its memory.
    """
    public = public_material()
    tsa_trust = timestamps.pem_setting("PACKET_TSA_TRUST")
    cert_path, trust_path = _check_files(*public, tsa_trust) if public else ("", "")
    seconds = settings.PACKET_VERIFY_SECONDS
    with _local_path(pdf) as path:
        command = [sys.executable, "-m", "signoffs.pdfcheck", path, cert_path]
        try:
            # Our own module and paths we chose; no shell, nothing the uploader wrote.
            done = subprocess.run(  # noqa: S603
                [*command, str(seconds), trust_path],
                capture_output=True,
                timeout=seconds,
                cwd=settings.BASE_DIR,
                check=False,
            )
        except subprocess.TimeoutExpired:
            logger.warning("A PDF's signature check passed its time limit of %s s", seconds)
            return SignatureCheck(
                present=False,
                problem=f"The signature could not be checked in time ({seconds} seconds): "
                "this file takes too long to examine.",
            )
    if done.returncode != 0:
        logger.warning("A PDF's signature check failed: %s", done.stderr.decode(errors="replace"))
        return SignatureCheck(
            present=False,
            problem="The signature could not be checked: examining this file needs more than "
            "this server allows.",
        )
    found = json.loads(done.stdout)
    times = {
        name: datetime.datetime.fromisoformat(found[name]) if found.get(name) else None
        for name in ("signed_at", "timestamped_at")
    }
    return SignatureCheck(**{**found, **times})
