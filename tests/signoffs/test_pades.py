"""Long-term packet signatures (PAdES B-T, B-LT, B-LTA) with the organisation's CA and a
timestamp authority, both local (tests/pki, served on loopback); and the packet staying
PDF/A-3 through every incremental save.

pyHanko's validators are given our rule for what may follow the signature
(`truststream.pdfupdates.POLICY`), as the verify page and the offline command give it: its
standard analysis takes half a minute on a tagged packet."""

import asyncio
import datetime
import io
import json
import logging
import re
import resource
import xml.etree.ElementTree as ET

import pypdf
import pytest
import time_machine
from asn1crypto import pem as asn1_pem
from certomancer.registry import ServiceLabel
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathValidationError
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

from signoffs import packets, pdfsign, services
from signoffs.pdfcheck import FIELD_NAME
from tests.signoffs.test_packets import pdf_of, texts, upload
from tests.signoffs.test_verify_packet import foreign_signer, verify, write
from truststream import verify_packet
from truststream.pdfupdates import POLICY

# The signer's certificate of the test PKI runs out on 2028-01-01.
AFTER_THE_SIGNER_EXPIRED = datetime.datetime(2029, 6, 1, tzinfo=datetime.UTC)


def issue(plan, owner):
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    services.packet_render(packet_id=packet.pk)
    packet.refresh_from_db()
    assert packet.status == "ready", packet.failure
    return packet


def root_of(pki):
    return load_certs_from_pemder_data(pki.certificate("root"))


def packet_signature(reader: PdfFileReader):
    return next(s for s in reader.embedded_signatures if s.field_name == FIELD_NAME)


def document_timestamps(reader: PdfFileReader):
    return [s for s in reader.embedded_signatures if s.sig_object_type == "/DocTimeStamp"]


@pytest.mark.parametrize("profile", ["B-T", "B-LTA"])
def test_a_timestamped_packet_validates_to_the_organisation_root_without_fetching(
    plan, owner, viewer, client_for, signing_with, profile
):
    pki = signing_with(profile)
    packet = issue(plan, owner)
    pdf = pdf_of(packet)
    reader = PdfFileReader(io.BytesIO(pdf))
    signature = packet_signature(reader)
    roots = list(root_of(pki))

    if profile == "B-T":
        # Nothing in the file to check revocation with, and nothing may be fetched.
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
    else:
        # Revocation must be checked, from what the document security store carries alone.
        context = DocumentSecurityStore.read_dss(reader).as_validation_context(
            {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "hard-fail"}
        )
    status = validate_pdf_signature(signature, context, diff_policy=POLICY)
    assert status.bottom_line, status.pretty_print_details()
    assert status.signing_cert.subject.native["common_name"] == "TrustStram Readiness packets"
    # The chain runs through the organisation's issuing CA to its root.
    path = [c.subject.native["common_name"] for c in status.validation_path]
    assert path == ["Test Root CA", "Test Issuing CA", "TrustStram Readiness packets"]
    stamp = status.timestamp_validity
    assert stamp is not None and stamp.trusted and stamp.intact
    assert abs(stamp.timestamp - packet.rendered_at) < datetime.timedelta(minutes=1)

    stamps = document_timestamps(reader)
    if profile == "B-LTA":
        assert len(stamps) == 1
        whole = validate_pdf_timestamp(stamps[0], context, diff_policy=POLICY)
        assert whole.valid and whole.intact and whole.trusted
        # After it, pyHanko adds the timestamp's own validation data, as PAdES allows: the
        # timestamp covers its revision, and nothing but validation data came after.
        assert whole.coverage.name == "ENTIRE_REVISION"
        assert whole.modification_level == ModificationLevel.LTA_UPDATES
        assert "/DSS" in reader.root
    else:
        assert stamps == [] and "/DSS" not in reader.root

    # This instance's own check, and what the verify page and the packet say.
    check = pdfsign.check(pdf)
    assert check.valid and check.level == profile and check.timestamped_at is not None
    page = client_for(viewer).post(reverse("packets:verify"), {"file": upload(pdf)})
    body = page.content.decode()
    assert f"PAdES {profile}: a timestamp authority attests" in body
    assert f"as PAdES {profile}." in "\n".join(texts(pdf)).replace("\n", " ")


def test_without_a_timestamp_authority_a_packet_stays_b_b_and_says_so(
    plan, owner, viewer, client_for, settings
):
    settings.PACKET_SIGNATURE_PROFILE = "B-LTA"
    settings.PACKET_TSA_URL = ""
    packet = issue(plan, owner)
    pdf = pdf_of(packet)
    whole = " ".join(texts(pdf)).replace("\n", " ")
    assert "as PAdES B-B. It has no trusted time" in whole
    check = pdfsign.check(pdf)
    assert check.valid and check.level == "B-B" and check.timestamped_at is None
    body = client_for(viewer).post(reverse("packets:verify"), {"file": upload(pdf)}).content
    assert "PAdES B-B: no trusted time." in body.decode()


def test_a_b_lta_packet_still_validates_after_its_signer_certificate_expired(
    plan, owner, signing_with, settings
):
    pki = signing_with("B-LTA")
    pdf = pdf_of(issue(plan, owner))
    # The same rendering signed B-T only: a timestamp, no validation data, no archive timestamp.
    settings.PACKET_SIGNATURE_PROFILE = "B-T"
    only_timestamped = pdfsign.sign(_revisions(pdf)[0], reason="B-T")
    roots = list(root_of(pki))
    (signer,) = load_certs_from_pemder_data(pki.certificate("signer"))

    with time_machine.travel(AFTER_THE_SIGNER_EXPIRED, tick=False):
        # On its own, the certificate no longer validates then...
        (issuing,) = load_certs_from_pemder_data(pki.certificate("issuing"))
        context = ValidationContext(trust_roots=roots, other_certs=[issuing], allow_fetching=False)
        with pytest.raises(PathValidationError, match="expired"):
            asyncio.run(
                CertificateValidator(signer, validation_context=context).async_validate_usage(
                    set()
                ),
            )
        # ...but the packet does, on its timestamps and the validation data it carries. Only the
        # newest timestamp's authority is checked as of then, as PAdES has it: with the root's
        # CRL of that day, handed over rather than fetched.
        crl_then = pki.architecture.service_registry.get_crl(
            ServiceLabel("root"), at_time=AFTER_THE_SIGNER_EXPIRED
        )
        results = [
            asyncio.run(
                ades_lta_validation(
                    packet_signature(PdfFileReader(io.BytesIO(signed))),
                    verify_packet.long_term_spec(roots, [crl_then]),
                    timing_info=ValidationTimingInfo.now(),
                ),
            )
            for signed in (pdf, only_timestamped)
        ]
    assert results[0].ades_subindic == AdESPassed.OK, results[0]
    assert results[1].ades_subindic != AdESPassed.OK


def _offline(capsys, packet, *args) -> tuple[int, dict]:
    """The offline command, run in this process so that it sees the travelled clock."""
    code = verify_packet.main([str(packet), "--json", *map(str, args)])
    return code, {check["name"]: check for check in json.loads(capsys.readouterr().out)["checks"]}


def test_the_offline_command_checks_a_b_lta_packet_years_later_with_a_current_crl(
    plan, owner, signing_with, tmp_path, capsys
):
    pki = signing_with("B-LTA")
    pdf = pdf_of(issue(plan, owner))
    packet = write(tmp_path, "packet.pdf", pdf)
    root = write(tmp_path, "root.pem", pki.certificate("root"))
    crls = pki.architecture.service_registry
    then = crls.get_crl(ServiceLabel("root"), at_time=AFTER_THE_SIGNER_EXPIRED).dump()
    crl_then = write(tmp_path, "root-2029.crl", then)
    crl_then_pem = write(tmp_path, "root-2029.pem", asn1_pem.armor("X509 CRL", then))
    crl_of_signing = write(tmp_path, "root-now.crl", crls.get_crl(ServiceLabel("root")).dump())
    reader = PdfFileReader(io.BytesIO(pdf))
    signed_at = packet_signature(reader).self_reported_timestamp
    store = DocumentSecurityStore.read_dss(reader)
    carried = store.as_validation_context({"trust_roots": list(root_of(pki))}).crls
    fresh_until = min(crl["tbs_cert_list"]["next_update"].native for crl in carried)

    # A day on, the signer's OCSP response in the packet is out of date (pyHanko wants it within
    # minutes of the check), but the CRLs it carries are not: the document timestamp vouches for
    # the signer as of its signing time, and nothing more is needed.
    a_day_on = min(
        signed_at + datetime.timedelta(days=1), fresh_until - datetime.timedelta(minutes=1)
    )
    with time_machine.travel(a_day_on, tick=False):
        code, checks = _offline(capsys, packet, "--trust", root)
    assert code == verify_packet.OK, checks
    assert "PAdES long-term validation" in checks["signer"]["detail"]

    with time_machine.travel(AFTER_THE_SIGNER_EXPIRED, tick=False):
        # Years later, nothing disagrees, but the newest timestamp's authority cannot be
        # checked as of today from the file alone: not decided, and the line says what to give.
        code, checks = _offline(capsys, packet, "--trust", root)
        assert code == verify_packet.UNDECIDED
        signer = checks["signer"]
        assert signer["undecided"] and not signer["ok"]
        assert "Give a current CRL of Common Name: Test Root CA" in signer["detail"]
        assert all(check["ok"] or check["undecided"] for check in checks.values())
        # The CRL of the signing day is out of date too.
        assert _offline(capsys, packet, "--trust", root, "--crl", crl_of_signing)[0] == 4
        # With the root's CRL of the day, DER or PEM, the packet verifies, and says why.
        for crl in (crl_then, crl_then_pem):
            code, checks = _offline(capsys, packet, "--trust", root, "--crl", crl)
            assert code == verify_packet.OK, checks
            detail = checks["signer"]["detail"]
            assert f"when it signed, {signed_at.astimezone(datetime.UTC):%Y-%m-%d %H:%M}" in detail
            assert "its certificate has expired since" in detail
        # A root the packet does not chain to is a mismatch, never "not decided".
        stranger = write(tmp_path, "stranger.pem", pki.certificate("issuing-ocsp"))
        code, checks = _offline(capsys, packet, "--trust", stranger, "--crl", crl_then)
        assert code == verify_packet.MISMATCH
        assert "does not chain to any --trust certificate" in checks["signer"]["detail"]
        assert not checks["signer"]["undecided"]


def test_a_packet_without_a_document_timestamp_fails_its_signer_once_the_certificate_expired(
    plan, owner, signing_with, settings, tmp_path, capsys
):
    pki = signing_with("B-LTA")
    rendering = _revisions(pdf_of(issue(plan, owner)))[0]
    settings.PACKET_SIGNATURE_PROFILE = "B-T"
    packet = write(tmp_path, "packet.pdf", pdfsign.sign(rendering, reason="B-T"))
    root = write(tmp_path, "root.pem", pki.certificate("root"))
    then = pki.architecture.service_registry.get_crl(
        ServiceLabel("root"), at_time=AFTER_THE_SIGNER_EXPIRED
    )
    crl = write(tmp_path, "root.crl", then.dump())
    with time_machine.travel(AFTER_THE_SIGNER_EXPIRED, tick=False):
        code, checks = _offline(capsys, packet, "--trust", root, "--crl", crl)
    assert code == verify_packet.MISMATCH
    assert "carries nothing that proves" in checks["signer"]["detail"]


def test_a_crl_that_is_no_crl_is_refused_with_a_message(tmp_path, capsys):
    threshold = logging.root.manager.disable
    packet = write(tmp_path, "packet.pdf", b"%PDF-1.7\n%%EOF\n")
    for name, content in (("empty.crl", b""), ("text.crl", b"not a list\n")):
        crl = write(tmp_path, name, content)
        code = verify_packet.main([str(packet), "--crl", str(crl)])
        assert code == verify_packet.UNREADABLE
        assert f"{crl} is not a certificate revocation list" in capsys.readouterr().err
    code = verify_packet.main([str(packet), "--crl", str(tmp_path / "missing.crl")])
    assert code == verify_packet.UNREADABLE
    assert "Cannot read the CRL" in capsys.readouterr().err
    # The command quiets pyHanko while it runs; run in a caller's process, it leaves the
    # caller's logging as it found it (it silenced every later test's log capture).
    assert logging.root.manager.disable == threshold == logging.NOTSET


def _flip(pdf: bytes, at: int) -> bytes:
    changed = bytearray(pdf)
    changed[at] ^= 0x01
    return bytes(changed)


def test_a_changed_byte_in_a_b_lta_packet_is_detected(plan, owner, signing_with):
    signing_with("B-LTA")
    pdf = pdf_of(issue(plan, owner))
    assert pdfsign.check(pdf).valid
    ends = [m.end() for m in re.finditer(rb"%%EOF", pdf)]
    # A byte of the rendered document, which the signature covers; a byte of the update after
    # the signature, which only the document timestamp covers.
    in_signed_content = ends[0] // 2
    after_the_signature = pdf.index(b" obj", ends[1]) + 20
    for at in (in_signed_content, after_the_signature):
        check = pdfsign.check(_flip(pdf, at))
        assert not check.valid, at


# PDF/A-3 through every incremental save


def _revisions(pdf: bytes) -> list[bytes]:
    """The file as it was after each save: the rendering, the signature, the validation data,
    the document timestamp (each ends at its %%EOF)."""
    return [pdf[: m.end()] for m in re.finditer(rb"%%EOF\r?\n?", pdf)]


def _assert_pdfa3(revision: bytes) -> None:
    reader = pypdf.PdfReader(io.BytesIO(revision))
    root = reader.trailer["/Root"]
    # The version stays the rendering's: PDF/A-3 is PDF 1.7.
    assert reader.pdf_header == "%PDF-1.7" and "/Version" not in root
    # XMP: well-formed, PDF/A-3b, and its producer the same as the document information's.
    xmp = root["/Metadata"].get_object().get_data()
    tree = ET.fromstring(  # noqa: S314 (our own file's metadata, just made)
        xmp[xmp.index(b"<x:xmpmeta") : xmp.rindex(b"</x:xmpmeta>") + 12]
    )
    described = {}
    for description in tree.iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description"):
        described.update(description.attrib)
    assert described["{http://www.aiim.org/pdfa/ns/id/}part"] == "3"
    assert described["{http://www.aiim.org/pdfa/ns/id/}conformance"] == "B"
    producer = described["{http://ns.adobe.com/pdf/1.3/}Producer"]
    assert reader.trailer["/Info"]["/Producer"] == producer
    # The output intent with its ICC profile.
    (intent,) = root["/OutputIntents"]
    assert intent["/S"] == "/GTS_PDFA1" and "/DestOutputProfile" in intent
    # Every font is embedded.
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptors = [d.get_object() for d in font.get("/DescendantFonts", [font])]
            for descriptor in (d["/FontDescriptor"] for d in descriptors):
                assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font
    # The snapshot is the one associated file, as its source.
    (associated,) = root["/AF"]
    associated = associated.get_object()
    assert associated["/AFRelationship"] == "/Source"
    assert associated["/F"] == packets.ATTACHMENT_NAME


def test_the_packet_stays_pdfa3_after_every_save(plan, owner, signing_with, settings):
    signing_with("B-B")
    rendered = _revisions(pdf_of(issue(plan, owner)))[0]
    # The rendering lists the snapshot twice in /AF; the signature's own update fixes that.
    assert len(pypdf.PdfReader(io.BytesIO(rendered)).trailer["/Root"]["/AF"]) == 2
    for profile, saves in (("B-B", 1), ("B-T", 1), ("B-LT", 2), ("B-LTA", 3)):
        settings.PACKET_SIGNATURE_PROFILE = profile
        revisions = _revisions(pdfsign.sign(rendered, reason="PDF/A"))
        assert len(revisions) == 1 + saves, profile
        for revision in revisions[1:]:
            _assert_pdfa3(revision)


# The key from settings


def test_the_key_comes_from_pem_text_or_files_and_no_key_is_made(local_pki, settings, tmp_path):
    settings.PACKET_SIGNING_DIR = tmp_path / "own"
    settings.PACKET_TSA_URL = ""
    for name, label in (("KEY", None), ("CERT", "signer"), ("CHAIN", "issuing")):
        data = local_pki.key("signer") if label is None else local_pki.certificate(label)
        if name == "CHAIN":
            data += local_pki.certificate("root")
        (tmp_path / f"{name}.pem").write_bytes(data)
    settings.PACKET_SIGNING_KEY_FILE = str(tmp_path / "KEY.pem")
    settings.PACKET_SIGNING_CERT_FILE = str(tmp_path / "CERT.pem")
    settings.PACKET_SIGNING_CHAIN_FILE = str(tmp_path / "CHAIN.pem")
    rendered = packets.render_pdf("<p>Plan</p>", {"plan": {}})
    pdf = pdfsign.sign(rendered, reason="test")
    by_files = pdfsign.check(pdf)
    assert by_files.valid and by_files.level == "B-B"
    status = validate_pdf_signature(
        packet_signature(PdfFileReader(io.BytesIO(pdf))),
        ValidationContext(trust_roots=list(root_of(local_pki)), allow_fetching=False),
    )
    assert status.bottom_line
    # Configured: this process made no key of its own.
    assert not settings.PACKET_SIGNING_DIR.exists()

    # The same as PEM text; a certificate without its key is refused, not half-used.
    settings.PACKET_SIGNING_KEY_FILE = ""
    settings.PACKET_SIGNING_KEY = local_pki.key("signer").decode()
    assert pdfsign.check(pdfsign.sign(rendered, reason="again")).ours
    settings.PACKET_SIGNING_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="both the packet signing key"):
        pdfsign.sign(rendered, reason="half configured")
    # A web process given the certificate but not the key still checks packets.
    assert pdfsign.check(pdf).valid


@pytest.mark.parametrize("profile", ["B-T", "B-LTA"])
def test_the_offline_check_verifies_a_timestamped_packet_to_the_organisation_root(
    plan, owner, signing_with, profile, tmp_path
):
    pki = signing_with(profile)
    path = tmp_path / "packet.pdf"
    path.write_bytes(pdf_of(issue(plan, owner)))
    root = tmp_path / "root.pem"
    root.write_bytes(pki.certificate("root"))
    # Somebody else's certificate, which vouches for nothing in this packet.
    foreign_signer(tmp_path)
    untrusted = verify(path, "--trust", str(tmp_path / "other-cert.pem"))

    done = verify(path, "--trust", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VERIFIED" in done.stdout
    assert "Signature timestamp" in done.stdout
    if profile == "B-LTA":
        assert "Document timestamp" in done.stdout
    assert untrusted.returncode == 1, untrusted.stdout


# What may follow the signature


def _written(writer: IncrementalPdfFileWriter) -> bytes:
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def _stamped_on_the_first_page(pdf: bytes) -> bytes:
    """An update that draws "APPROVED" on the first page: a content stream added to it."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    stamp = generic.StreamObject(stream_data=b"BT /F1 48 Tf 100 400 Td (APPROVED) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(stamp))
    return _written(writer)


def _snapshot_replaced(pdf: bytes) -> bytes:
    """An update that puts another plan-snapshot.json where the signed one was."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    files = names[list(names).index(packets.ATTACHMENT_NAME) + 1]["/EF"]
    data = json.loads(files["/F"].data)
    data["plan"]["title"] = "Another plan"
    files["/F"] = writer.add_object(
        generic.StreamObject(
            {"/Type": generic.NameObject("/EmbeddedFile")}, stream_data=json.dumps(data).encode()
        )
    )
    writer.update_container(files)
    return _written(writer)


def test_an_update_after_the_signature_that_is_not_validation_data_is_refused(
    plan, owner, viewer, client_for, signing_with, tmp_path
):
    pki = signing_with("B-LTA")
    pdf = pdf_of(issue(plan, owner))
    root = write(tmp_path, "root.pem", pki.certificate("root"))
    for name, tamper in (
        ("stamped", _stamped_on_the_first_page),
        ("swapped", _snapshot_replaced),
    ):
        changed = tamper(pdf)
        assert len(_revisions(changed)) == len(_revisions(pdf)) + 1

        done = verify(write(tmp_path, f"{name}.pdf", changed), "--trust", str(root))
        assert done.returncode == 1, done.stdout + done.stderr
        # The signature and its timestamps are intact, and the snapshot and digest are read from
        # the signed revision: only the update after them gives the file away.
        assert "ok    signature" in done.stdout and "ok    plan digest" in done.stdout, name
        assert "FAIL  coverage     Content was added to the file after it was signed." in (
            done.stdout
        )
        assert "NOT VERIFIED" in done.stdout

        check = pdfsign.check(changed)
        assert check.intact and check.ours and not check.covers_whole_file, name
        assert not check.valid
        page = client_for(viewer).post(reverse("packets:verify"), {"file": upload(changed)})
        assert "The signature is intact, but content was added to the file after signing." in (
            page.content.decode()
        )


def test_a_tagged_b_lta_packet_is_checked_within_the_default_time_limit(
    plan, owner, viewer, client_for, signing_with, settings, tmp_path
):
    pki = signing_with("B-LTA")
    pdf = pdf_of(issue(plan, owner))
    reader = PdfFileReader(io.BytesIO(pdf))
    # Tagged, with the structure tree that pyHanko's own analysis walked for half a minute;
    # signed, then the validation data and a document timestamp, then the timestamp's own.
    assert "/StructTreeRoot" in reader.root and reader.xrefs.total_revisions == 4
    assert settings.PACKET_VERIFY_SECONDS <= 20  # the default, not raised for this test

    check = pdfsign.check(pdf)
    assert check.valid and check.level == "B-LTA", check.summary
    body = client_for(viewer).post(reverse("packets:verify"), {"file": upload(pdf)}).content
    assert "PAdES B-LTA: a timestamp authority attests" in body.decode()

    # The command's own work, counted in CPU time so that a busy machine does not decide: about
    # a second (mostly importing pyHanko), where pyHanko's standard analysis took half a minute.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = verify(
        write(tmp_path, "packet.pdf", pdf),
        "--trust",
        str(write(tmp_path, "root.pem", pki.certificate("root"))),
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, done.stdout + done.stderr
    spent = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert spent < 5, spent
