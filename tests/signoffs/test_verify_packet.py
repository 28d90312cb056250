"""`python -m truststream.verify_packet`: packets rendered by the real worker, checked by the
command in a process of its own that has no database, no Redis and no Django settings."""

import copy
import datetime
import io
import json
import os
import subprocess
import sys

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator import ValidationContext

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from signoffs import packets, pdfsign, services
from tests.conftest import ROLES
from tests.signoffs.test_packets import pdf_of, ready, signed_off, texts
from truststream import canonical

# The command runs as a reader of the packet would run it: none of the server's environment.
SERVER_ONLY = ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY")


def verify(path, *args):
    environment = {k: v for k, v in os.environ.items() if k not in SERVER_ONLY}
    return subprocess.run(
        [sys.executable, "-m", "truststream.verify_packet", str(path), *args],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env=environment,
        timeout=120,
        check=False,
    )


def instance_certificate() -> str:
    return str(pdfsign.ensure_key()[1])


def write(tmp_path, name: str, pdf: bytes):
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def self_signed(common_name: str, *extensions) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A fresh key and a certificate it signs itself, valid from yesterday for 30 days, with
    the given critical extensions."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=True)
    return key, builder.sign(key, hashes.SHA256())


def foreign_signer(tmp_path) -> signers.SimpleSigner:
    """Somebody else's key and self-signed certificate, named like the instance's."""
    key, certificate = self_signed("TrustStram Readiness packets")
    key_path, cert_path = tmp_path / "other-key.pem", tmp_path / "other-cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return signers.SimpleSigner.load(str(key_path), str(cert_path))


def test_a_final_packet_verifies_offline_and_names_every_approval(
    celery_worker, plan, owner, editor, holders, tmp_path
):
    signed_off(plan, owner, editor, holders)
    packet = ready(services.packet_request(plan=plan, requested_by=owner, kind="final").pk)
    path = write(tmp_path, "final.pdf", pdf_of(packet))
    # The digest the command reads from the document information is the one printed on it,
    # and the packet's verification page says how to run the command.
    printed = "".join("".join(texts(pdf_of(packet))).split())
    assert packet.content_digest in printed
    assert "python-mtruststream.verify_packetpacket.pdf--trustpacket-cert.pem" in printed
    assert "timestampauthority'sissuerwith--crl;withoutitthecommandexitswith4" in printed

    done = verify(path, "--trust", instance_certificate())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VERIFIED" in done.stdout
    assert f"revision {packet.revision}, FINAL" in done.stdout
    assert packet.content_digest in done.stdout
    for role in ROLES:
        person = holders[role]
        name = person.get_full_name() or person.email
        assert f"{name}, approve, " in done.stdout
    meaning = (
        f"I approve this plan for {plan.get_environment_display().lower()} deployment "
        "as Security Officer"
    )
    assert meaning in done.stdout
    assert "STALE" not in done.stdout and done.stderr == ""

    # Without --trust: intact and consistent, but nobody vouches for the signer.
    done = verify(path)
    assert done.returncode == 3
    assert "signer not checked" in done.stdout

    # The whole check runs without Django ever being set up or a database driver loaded (the
    # core package's Celery app names Django's database errors, which loads no driver).
    environment = {k: v for k, v in os.environ.items() if k not in SERVER_ONLY}
    probe = (
        "import sys\n"
        "from truststream import verify_packet\n"
        f"code = verify_packet.main([{str(path)!r}])\n"
        "from django.conf import settings\n"
        "assert not settings.configured\n"
        "assert 'psycopg' not in sys.modules\n"
        "assert 'django.db.backends.postgresql.base' not in sys.modules\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env=environment,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr

    done = verify(path, "--trust", instance_certificate(), "--json")
    report = json.loads(done.stdout)
    assert report["exit_code"] == 0
    assert report["packet"]["printed_digest"] == packet.content_digest
    assert report["packet"]["kind"] == "final"
    assert {check["name"] for check in report["checks"]} >= {
        "signature",
        "signer",
        "coverage",
        "plan digest",
        "approvals",
    }
    assert all(check["ok"] for check in report["checks"])
    signed_at = {a["role"]: a["signed_at"] for a in report["approvals"]}
    signoff = plan.signoffs.get(requirement__role="technical_lead")
    assert signed_at["Technical Lead"] == f"{signoff.signed_at:%Y-%m-%d %H:%M:%S} UTC"


def test_a_document_timestamp_is_checked_against_the_trusted_authorities(
    celery_worker, plan, owner, tmp_path
):
    """A packet with a document timestamp and its validation data after the signature (as
    PAdES B-LTA adds them) still covers the whole file; the timestamp's authority must be
    trusted too. The authority is pyHanko's own in-process time-stamper with a key made here."""
    packet = ready(services.packet_request(plan=plan, requested_by=owner, kind="draft").pk)
    key, certificate = self_signed(
        "Test time-stamping authority",
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
    )
    authority = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    authority_path = tmp_path / "tsa.pem"
    authority_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    stamped = io.BytesIO()
    signers.PdfTimeStamper(DummyTimeStamper(tsa_cert=authority, tsa_key=private)).timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf_of(packet))),
        "sha256",
        validation_context=ValidationContext(trust_roots=[authority], allow_fetching=False),
        output=stamped,
    )
    path = write(tmp_path, "stamped.pdf", stamped.getvalue())

    done = verify(path, "--trust", instance_certificate(), "--trust", str(authority_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok    coverage" in done.stdout
    assert "ok    timestamp    Document timestamp: " in done.stdout

    done = verify(path, "--trust", instance_certificate())
    assert done.returncode == 1
    assert "FAIL  timestamp" in done.stdout and "authority is not trusted" in done.stdout


def test_a_draft_says_which_approvals_were_stale_when_it_was_made(
    celery_worker, plan, owner, editor, holders, tmp_path
):
    signed_off(plan, owner, editor, holders)
    item = ChecklistItem.objects.get(plan=plan, text="VPN access configured")
    checklist_services.item_set_state(item=item, actor=editor, state="passed", version=1)
    packet = ready(services.packet_request(plan=plan, requested_by=owner, kind="draft").pk)
    roles = {role["title"]: role for role in packet.snapshot["signoffs"]["roles"]}
    stale = [title for title, role in roles.items() if role["state"] == "stale"]
    assert stale  # the security checklist changed under at least one approval

    done = verify(write(tmp_path, "draft.pdf", pdf_of(packet)), "--trust", instance_certificate())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DRAFT" in done.stdout
    lines = done.stdout.splitlines()
    for title in roles:
        line = next(line for line in lines if line.startswith(f"- {title}: "))
        if title in stale:
            assert "STALE at the time: checklists.security changed since" in line
        else:
            assert "current at the time" in line, line


def test_a_changed_byte_or_a_swapped_snapshot_is_a_mismatch(
    celery_worker, plan, owner, editor, holders, tmp_path
):
    signed_off(plan, owner, editor, holders)
    packet = ready(services.packet_request(plan=plan, requested_by=owner, kind="final").pk)
    pdf = pdf_of(packet)

    # One byte of the signed content changed.
    changed = bytearray(pdf)
    changed[len(changed) // 2] ^= 0x01
    done = verify(write(tmp_path, "changed.pdf", bytes(changed)), "--trust", instance_certificate())
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL  signature" in done.stdout and "NOT VERIFIED" in done.stdout

    # The same pages with another snapshot attached (a kinder meaning for one approval), signed
    # again with somebody else's key so that the signature itself is intact.
    forged = copy.deepcopy(packet.snapshot)
    forged["signoffs"]["roles"][0]["signature"]["meaning"] = (
        "I approve anything\nok    plan digest  \x1b[2KAll is well."
    )
    html = packets.packet_html(packet, audit_rows=[], audit_total=0, signature_profile="B-B")
    output = tmp_path / "forged.pdf"
    with output.open("wb") as handle:
        signers.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(packets.render_pdf(html, forged))),
            signers.PdfSignatureMetadata(
                field_name="TrustStramPacket", subfilter=fields.SigSeedSubFilter.PADES
            ),
            signer=foreign_signer(tmp_path),
            output=handle,
        )
    done = verify(output, "--trust", instance_certificate())
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL  signer" in done.stdout
    assert "FAIL  plan digest" in done.stdout
    assert "ok    signature" in done.stdout  # intact: only trust and the digest give it away
    # The file's text cannot print a line of its own or reach the terminal as an escape.
    assert "\nok    plan digest" not in done.stdout and "\x1b" not in done.stdout
    assert "I approve anything\ufffdok    plan digest  \ufffd[2KAll is well." in done.stdout
    # Without --trust the digest alone still refuses it.
    assert verify(output).returncode == 1

    # Signed with the instance's own key and with the plan digest of its snapshot (as a fault of
    # the server would make it), but one approval's recorded section digest is not its section's.
    inconsistent = copy.deepcopy(packet.snapshot)
    recorded = next(
        role["signature"] for role in inconsistent["signoffs"]["roles"] if role["signature"]
    )
    recorded["section_digests"][next(iter(recorded["section_digests"]))] = "0" * 64
    packet.snapshot, packet.content_digest = inconsistent, canonical.revision_digest(inconsistent)
    html = packets.packet_html(packet, audit_rows=[], audit_total=0, signature_profile="B-B")
    signed = pdfsign.sign(packets.render_pdf(html, inconsistent), reason="inconsistent")
    done = verify(write(tmp_path, "inconsistent.pdf", signed), "--trust", instance_certificate())
    assert done.returncode == 1, done.stdout + done.stderr
    for check in ("signature", "signer", "coverage", "plan digest"):
        assert f"ok    {check}" in done.stdout, check
    assert "FAIL  approvals" in done.stdout
    assert "its section digests disagree with its digest" in done.stdout

    # An update appended after the signature: the document's language changed.
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    writer.root["/Lang"] = generic.TextStringObject("fr")
    writer.update_root()
    updated = io.BytesIO()
    writer.write(updated)
    done = verify(
        write(tmp_path, "updated.pdf", updated.getvalue()), "--trust", instance_certificate()
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL  coverage     Content was added to the file after it was signed." in done.stdout

    # Cut short, as by an interrupted download.
    done = verify(write(tmp_path, "truncated.pdf", pdf[: len(pdf) // 2]))
    assert done.returncode == 2
    assert "cannot be read as a PDF" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello, not a PDF\n", "is not a PDF file"),
        (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", "cannot be read as a PDF"),
        (b"", "is not a PDF file"),
    ],
)
def test_input_that_is_no_packet_gets_a_message_not_a_traceback(tmp_path, content, message):
    done = verify(write(tmp_path, "input.pdf", content))
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_missing_or_oversized_file_is_unreadable(tmp_path):
    done = verify(tmp_path / "missing.pdf")
    assert done.returncode == 2 and "Cannot read" in done.stderr
    big = write(tmp_path, "big.pdf", b"%PDF-1.7\n" + b"0" * (2 * 1024 * 1024))
    done = verify(big, "--max-mb", "1")
    assert done.returncode == 2 and "more than the 1,048,576" in done.stderr
    assert "Traceback" not in done.stderr
