"""The instance's signing key, and PAdES signatures on readiness packets (pyHanko).

The key and certificate come from PACKET_SIGNING_KEY / PACKET_SIGNING_CERT (PEM files). When
neither is set, a key and a self-signed certificate are made on first use under
PACKET_SIGNING_DIR, so that the embedded default signs packets without any set-up; every
process of one instance (web and workers) must then share that folder.
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
from concurrent.futures import ThreadPoolExecutor
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
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from signoffs.pdfcheck import FIELD_NAME

logger = logging.getLogger(__name__)


def _paths() -> tuple[Path, Path]:
    if settings.PACKET_SIGNING_KEY or settings.PACKET_SIGNING_CERT:
        if not (settings.PACKET_SIGNING_KEY and settings.PACKET_SIGNING_CERT):
            raise ImproperlyConfigured(
                "Set both PACKET_SIGNING_KEY and PACKET_SIGNING_CERT, or neither."
            )
        return Path(settings.PACKET_SIGNING_KEY), Path(settings.PACKET_SIGNING_CERT)
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


def _in_own_thread(function, *args, **kwargs):
    """pyHanko's synchronous calls start an asyncio event loop of their own, which fails in a
    thread that already runs one (an ASGI server; Playwright in the tests): run them apart."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(function, *args, **kwargs).result()


def ensure_key() -> tuple[Path, Path]:
    """The key and certificate files, made first if this instance generates its own."""
    key_path, cert_path = _paths()
    if settings.PACKET_SIGNING_KEY or settings.PACKET_SIGNING_CERT:
        return key_path, cert_path
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path
    key_path.parent.mkdir(parents=True, exist_ok=True)
    # Two workers starting together make one key: the second waits, then finds it made.
    with open(key_path.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (key_path.exists() and cert_path.exists()):
            _generate(key_path, cert_path)
    return key_path, cert_path


@cache
def _signer(key_path: Path, cert_path: Path) -> signers.SimpleSigner:
    signer = signers.SimpleSigner.load(str(key_path), str(cert_path))
    if signer is None:
        raise RuntimeError(f"Cannot load the packet signing key {key_path}")
    return signer


def certificate_path() -> Path | None:
    """This instance's certificate file, or None when no packet has been signed yet. Only
    signing makes a key: a web process that does not share the workers' key folder must not make
    a key of its own and call every genuine packet foreign."""
    _, cert_path = _paths()
    return cert_path if cert_path.exists() else None


def sign(pdf: bytes, *, reason: str) -> bytes:
    """The PDF with a PAdES B-B signature over the whole file, as an incremental update."""
    signer = _signer(*ensure_key())
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=settings.SITE_URL,
    )
    output = io.BytesIO()
    _in_own_thread(
        signers.sign_pdf,
        IncrementalPdfFileWriter(io.BytesIO(pdf)),
        metadata,
        signer=signer,
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
    cert_path = certificate_path()
    seconds = settings.PACKET_VERIFY_SECONDS
    with _local_path(pdf) as path:
        command = [sys.executable, "-m", "signoffs.pdfcheck", path, str(cert_path or "")]
        try:
            # Our own module and paths we chose; no shell, nothing the uploader wrote.
            done = subprocess.run(  # noqa: S603
                [*command, str(seconds)],
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
    signed_at = found.pop("signed_at", None)
    return SignatureCheck(
        **found, signed_at=datetime.datetime.fromisoformat(signed_at) if signed_at else None
    )
