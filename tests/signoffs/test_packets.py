"""Readiness packets: requested in the web, rendered by a real Celery worker, signed, verified."""

import hashlib
import io
import json
import os
import signal
import subprocess
import sys

import pypdf
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from planning import live
from signoffs import packet_selectors, packets, pdfsign, services
from signoffs.models import ReadinessPacket, Signoff
from tests.conftest import ROLES, wait_for
from tests.signoffs.test_signoffs import move, ready_to_sign, sign
from tests.truststream.test_audit import WHERE_PEOPLE_WERE, change_and_sign_from_somewhere
from truststream import audit
from truststream.models import AuditSeal
from truststream.uploads import LimitedUploadHandler

WATERMARK = "DRAFT — not signed off"


def signed_off(plan, owner, editor, holders):
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    for role in ROLES:
        sign(plan, role, holders[role])
    plan.refresh_from_db()
    assert plan.status == "signed_off"
    return plan


def ready(packet_id: int, timeout: float = 60) -> ReadinessPacket:
    def finished():
        packet = ReadinessPacket.objects.get(pk=packet_id)
        return packet if packet.status in ("ready", "failed") else None

    packet = wait_for(finished, timeout=timeout)
    assert packet.status == "ready", packet.failure
    return packet


def pdf_of(packet) -> bytes:
    with packet.file.open("rb") as handle:
        return handle.read()


def texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


# Rendering by the worker


def test_a_draft_is_rendered_by_the_worker_signed_and_carries_its_snapshot(
    celery_worker, plan, owner, editor
):
    item = ChecklistItem.objects.get(plan=plan, text="Firewall rules configured")
    checklist_services.item_update_note(
        item=item,
        actor=editor,
        note='See <img src="file:///etc/passwd"> and http://169.254.169.254/latest/',
        version=item.version,
    )
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    assert packet.status == "queued" and packet.revision == 1
    packet = ready(packet.pk)

    pdf = pdf_of(packet)
    assert hashlib.sha256(pdf).hexdigest() == packet.sha256
    assert len(pdf) == packet.size
    pages = texts(pdf)
    assert plan.title in pages[0]
    assert "DRAFT — not signed off" in pages[0]
    # The diagonal watermark is on every page, beside the cover's label on the first and the
    # running header on the others.
    assert all(page.count(WATERMARK) >= 2 for page in pages)
    assert all(f"of {len(pages)}" in page for page in pages)
    whole = "\n".join(pages)
    for heading in ("The four weeks", "Requirements", "Validation checklists", "Sign-offs"):
        assert heading in whole
    assert "Infrastructure audit" in whole
    # User text is printed as text; nothing it names was fetched.
    assert 'See <img src="file:///etc/passwd">' in whole.replace("\n", " ")

    reader = pypdf.PdfReader(io.BytesIO(pdf))
    xmp = reader.xmp_metadata.stream.get_data()
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="B"' in xmp
    assert reader.trailer["/Root"]["/OutputIntents"][0]["/S"] == "/GTS_PDFA1"
    attached = reader.attachments[packets.ATTACHMENT_NAME][0]
    assert json.loads(attached) == packet.snapshot
    assert packets.revision_digest(json.loads(attached)) == packet.content_digest

    assert pdfsign.check(pdf).valid
    changed = bytearray(pdf)
    changed[len(changed) // 2] ^= 0x01
    assert not pdfsign.check(bytes(changed)).intact


def test_a_final_packet_has_the_signatures_and_no_watermark(
    celery_worker, plan, owner, editor, holders
):
    signed_off(plan, owner, editor, holders)
    packet = ready(services.packet_request(plan=plan, requested_by=owner, kind="final").pk)
    pages = texts(pdf_of(packet))
    whole = "\n".join(pages)
    assert "FINAL" in pages[0]
    assert WATERMARK not in whole
    for role in ROLES:
        person = holders[role]
        assert (person.get_full_name() or person.email) in whole
    environment = plan.get_environment_display().lower()
    meaning = f"I approve this plan for {environment} deployment as Security Officer"
    assert meaning in whole.replace("\n", " ")
    assert packet.seal_digest in whole.replace("\n", "")
    assert audit.verify(plan.pk)[1] is None


def test_the_printed_trail_is_exactly_the_sealed_one(plan, owner, editor):
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    item = ChecklistItem.objects.get(plan=plan, text="Firewall rules configured")
    checklist_services.item_set_state(item=item, actor=editor, state="passed", version=1)
    printed = {(e.pgh_model, e.pgh_id) for e in packet_selectors.packet_audit_events(packet)}
    assert printed
    models = {model for model, _ in printed}
    assert "signoffs.ReadinessPacketEvent" not in models  # made after the seal
    seal = AuditSeal.objects.get(plan_id=plan.pk, number=packet.seal_number)
    assert len(printed) == seal.event_count
    marks = audit.current_marks(seal.marks)  # a renamed table's events, under today's label
    assert all(pgh_id <= marks[model] for model, pgh_id in printed)


def test_the_printed_trail_leaves_out_where_people_were(
    celery_worker, plan, owner, editor, client_for
):
    """Every member may download a packet, so its trail names who did what and when, but not
    the addresses and browsers recorded with the changes: those stay in the sealed trail, for
    plan owners on the audit page."""
    signoff = change_and_sign_from_somewhere(plan, editor, client_for)
    # A signature's row edited outside the application (the admin, SQL): the trail has the
    # change of those two fields, which the appendix would otherwise print before and after.
    Signoff.objects.filter(pk=signoff.pk).update(
        ip_address="198.51.100.4", user_agent="OtherBrowser/2.0"
    )
    packet = ready(services.packet_request(plan=plan, requested_by=owner, kind="draft").pk)
    whole = "\n".join(texts(pdf_of(packet)))
    assert f"signoff #{signoff.pk} changed" in whole  # the edit itself is printed
    for text in (*WHERE_PEOPLE_WERE, "198.51.100.4", "OtherBrowser"):
        assert text not in whole


def test_the_renderer_fetches_only_static_files():
    fetcher = packets.StaticFilesOnly()
    for url in (
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        settings.SITE_URL + "/static/../../etc/passwd",
        settings.SITE_URL + "/media/packets/x.pdf",
        "data:text/plain,hello",
    ):
        with pytest.raises(ValueError, match="fetches only static files"):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 5
    css = fetcher.fetch(settings.SITE_URL + "/static/css/packet.css")
    assert b"@page" in css.read()


def test_markup_in_a_rendering_never_reaches_the_file_system_or_network(plan, owner):
    fetcher = packets.StaticFilesOnly()
    html = (
        '<html><body><img src="file:///etc/passwd">'
        '<img src="http://169.254.169.254/latest/"><p>x</p></body></html>'
    )
    pdf = packets.render_pdf(html, {"format": packets.FORMAT}, fetcher=fetcher)
    assert pdf.startswith(b"%PDF-")
    assert fetcher.refused == ["file:///etc/passwd", "http://169.254.169.254/latest/"]


# Requests


def test_the_same_revision_and_kind_is_made_once(plan, owner):
    first = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    again = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    assert again.pk == first.pk
    assert ReadinessPacket.objects.count() == 1


def test_a_changed_plan_is_a_new_revision_and_the_old_packet_is_superseded(
    plan, owner, editor, client_for
):
    first = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    item = ChecklistItem.objects.get(plan=plan, text="Firewall rules configured")
    checklist_services.item_set_state(item=item, actor=editor, state="passed", version=1)
    second = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    assert (first.revision, second.revision) == (1, 2)
    page = client_for(owner).get(reverse("signoffs:packet_list", args=[plan.pk]))
    rows = page.context["packets"]
    assert [(p.revision, p.superseded) for p in rows] == [(2, False), (1, True)]


def test_moving_a_signed_off_plan_to_deployed_does_not_supersede_its_final_packet(
    plan, owner, editor, holders
):
    signed_off(plan, owner, editor, holders)
    final = services.packet_request(plan=plan, requested_by=owner, kind="final")
    move(plan, "deployed")
    plan.refresh_from_db()
    assert packets.revision_digest(packet_selectors.packet_contents(plan)) == final.content_digest
    assert services.packet_request(plan=plan, requested_by=owner, kind="final").pk == final.pk


def test_a_final_packet_needs_a_signed_off_plan(plan, owner):
    with pytest.raises(ValidationError, match="needs a signed-off plan"):
        services.packet_request(plan=plan, requested_by=owner, kind="final")
    assert not ReadinessPacket.objects.exists()


def test_a_signature_gone_stale_takes_final_away(plan, owner, editor, holders):
    signed_off(plan, owner, editor, holders)
    item = ChecklistItem.objects.get(plan=plan, text="VPN access configured")
    checklist_services.item_set_state(item=item, actor=editor, state="passed", version=1)
    with pytest.raises(ValidationError, match="needs a signed-off plan"):
        services.packet_request(plan=plan, requested_by=owner, kind="final")


def test_an_unknown_kind_or_an_archived_plan_is_refused(plan, owner):
    with pytest.raises(ValidationError, match="final or a draft"):
        services.packet_request(plan=plan, requested_by=owner, kind="signed")
    from planning import services as planning_services

    planning_services.plan_archive(plan=plan)
    with pytest.raises(ValidationError, match="archived"):
        services.packet_request(plan=plan, requested_by=owner, kind="draft")
    assert not ReadinessPacket.objects.exists()


def test_every_packet_request_seals_the_trail(plan, owner):
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    seal = AuditSeal.objects.get(plan_id=plan.pk, number=packet.seal_number)
    assert seal.digest == packet.seal_digest
    assert "Packet requested" in seal.reason
    assert audit.verify(plan.pk) == (1, None)


def test_a_packet_request_after_a_change_reads_the_trail_in_few_queries(
    plan, owner, editor, django_assert_num_queries
):
    """The seal marks every event table in one query and chains only the tables with events
    since the last seal (61 queries before, one per table for each); the packet's
    contents are read once, with the score history (three queries: the scores, the approvals,
    the plan's entries into "signed off"). The chain still verifies."""
    services.packet_request(plan=plan, requested_by=owner, kind="draft")
    item = ChecklistItem.objects.get(plan=plan, text="Firewall rules configured")
    checklist_services.item_set_state(item=item, actor=editor, state="passed", version=1)
    with django_assert_num_queries(31):
        services.packet_request(plan=plan, requested_by=owner, kind="draft")
    assert audit.verify(plan.pk) == (2, None)


# Bounds and failures


def test_a_plan_too_large_to_render_fails_with_the_reason(plan, owner, settings):
    settings.PACKET_MAX_SNAPSHOT_BYTES = 1000
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    services.packet_render(packet_id=packet.pk)
    packet.refresh_from_db()
    assert packet.status == "failed"
    assert "too large to render" in packet.failure
    assert not packet.file


def test_a_packet_over_the_size_limit_fails_and_can_be_asked_for_again(plan, owner, settings):
    settings.PACKET_MAX_BYTES = 10_000
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    services.packet_render(packet_id=packet.pk)
    packet.refresh_from_db()
    assert packet.status == "failed" and "MB allowed" in packet.failure

    settings.PACKET_MAX_BYTES = 50_000_000
    again = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    assert (again.pk, again.status, again.failure) == (packet.pk, "queued", "")
    services.packet_render(packet_id=packet.pk)
    packet.refresh_from_db()
    assert packet.status == "ready"


def test_a_packet_that_kept_killing_its_worker_fails_instead_of_killing_another(plan, owner):
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    # What three workers that died mid-render leave behind.
    ReadinessPacket.objects.filter(pk=packet.pk).update(status="rendering", attempts=3)
    services.packet_render(packet_id=packet.pk)
    packet.refresh_from_db()
    assert packet.status == "failed"
    assert "stopped while rendering this packet 3 times" in packet.failure


def test_a_packet_whose_message_was_lost_is_queued_again(
    plan, owner, django_capture_on_commit_callbacks
):
    import datetime

    import time_machine

    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.packet_request(plan=plan, requested_by=owner, kind="draft") == packet
        assert services.packets_requeue() == 0
    assert callbacks == []  # still fresh: its message is presumably on its way
    later = datetime.timedelta(seconds=settings.PACKET_QUEUED_SECONDS + 1)
    with time_machine.travel(packet.queued_at + later, tick=False):
        with django_capture_on_commit_callbacks() as callbacks:
            assert services.packets_requeue() == 1
        assert len(callbacks) == 1
        again = ReadinessPacket.objects.get(pk=packet.pk)
        assert again.queued_at == packet.queued_at + later
        with django_capture_on_commit_callbacks() as callbacks:
            services.packet_request(plan=plan, requested_by=owner, kind="draft")
        assert callbacks == []  # queued again just now


def test_rendering_again_a_ready_packet_changes_nothing(plan, owner):
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    services.packet_render(packet_id=packet.pk)
    packet.refresh_from_db()
    services.packet_render(packet_id=packet.pk)
    again = ReadinessPacket.objects.get(pk=packet.pk)
    assert (again.sha256, again.file.name, again.attempts) == (packet.sha256, packet.file.name, 1)


def _database_url() -> str:
    db = connection.settings_dict
    return (
        f"postgresql://{db['USER']}:{db['PASSWORD']}@localhost:{db['PORT'] or 5432}/"
        f"{db['NAME']}?host={db['HOST'] or 'localhost'}"
    )


def _start_worker(**extra) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PACKET_SIGNING_DIR": str(settings.PACKET_SIGNING_DIR),
        # A message taken by a worker that died comes back after two seconds, and the
        # packet's lease runs out after three.
        "CELERY_VISIBILITY_TIMEOUT": "2",
        "PACKET_LEASE_SECONDS": "3",
        **extra,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "truststream",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
            "-Q",
            "packets",
        ],
        env=environment,
        cwd=settings.BASE_DIR,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


def test_a_worker_killed_mid_render_does_not_lose_the_packet(transactional_db, plan, owner):
    first = _start_worker()
    second = None
    try:
        packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
        wait_for(
            lambda: ReadinessPacket.objects.filter(pk=packet.pk, status="rendering").exists(),
            timeout=60,
        )
        _kill(first)  # the whole worker, mid-render, without a chance to acknowledge
        assert ReadinessPacket.objects.get(pk=packet.pk).status == "rendering"
        second = _start_worker()

        def rendered_after_the_sweep():
            # What beat runs every PACKET_SWEEP_SECONDS: the dead worker's lease runs out.
            services.packets_requeue()
            return ReadinessPacket.objects.filter(pk=packet.pk, status="ready").first()

        packet = wait_for(rendered_after_the_sweep, timeout=90)
        assert packet.attempts == 2
        assert pdfsign.check(pdf_of(packet)).valid
    finally:
        _kill(first)
        if second is not None:
            _kill(second)


def test_a_worker_stopped_with_sigterm_mid_render_finishes_the_packet_first(
    transactional_db, plan, owner
):
    worker = _start_worker()
    try:
        packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
        wait_for(
            lambda: ReadinessPacket.objects.filter(pk=packet.pk, status="rendering").exists(),
            timeout=60,
        )
        # What an orchestrator sends first, to the main process only (as Kubernetes and
        # docker do): Celery's warm shutdown lets the render in the pool's child finish.
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=120)
        packet = ReadinessPacket.objects.get(pk=packet.pk)
        assert packet.status == "ready"
        assert packet.attempts == 1
        assert pdfsign.check(pdf_of(packet)).valid
    finally:
        _kill(worker)


def test_a_render_over_the_time_limit_fails_with_the_reason(transactional_db, plan, owner):
    worker = _start_worker(PACKET_RENDER_SECONDS="1")
    try:
        packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")

        def failed():
            return ReadinessPacket.objects.filter(pk=packet.pk, status="failed").first()

        packet = wait_for(failed, timeout=60)
        # Celery's soft time limit, or the check after WeasyPrint returns, whichever comes
        # first (WeasyPrint may be inside C code when the limit strikes).
        assert "longer than the 1 seconds allowed" in packet.failure
        assert not packet.file
    finally:
        _kill(worker)


# Pages


def test_editors_ask_for_a_packet_and_the_page_follows_it(plan, editor, client_for):
    client = client_for(editor)
    response = client.post(reverse("signoffs:packet_request", args=[plan.pk]), {"kind": "draft"})
    assert response.status_code == 302
    packet = ReadinessPacket.objects.get()
    assert (packet.kind, packet.requested_by) == ("draft", editor)
    fragment = client.get(
        reverse("signoffs:packet_list", args=[plan.pk]), headers={"HX-Request": "true"}
    )
    assert b"Queued" in fragment.content
    assert b'hx-trigger="every 2s"' in fragment.content  # polls while it is pending


def test_asking_for_a_final_packet_too_early_shows_why(plan, owner, client_for):
    response = client_for(owner).post(
        reverse("signoffs:packet_request", args=[plan.pk]), {"kind": "final"}
    )
    assert response.status_code == 400
    assert "needs a signed-off plan" in response.content.decode()
    assert not ReadinessPacket.objects.exists()


def test_a_bad_kind_is_a_field_error(plan, owner, client_for):
    response = client_for(owner).post(
        reverse("signoffs:packet_request", args=[plan.pk]), {"kind": "<script>"}
    )
    assert response.status_code == 400
    assert not ReadinessPacket.objects.exists()


def test_viewers_download_but_do_not_ask(plan, owner, viewer, client_for):
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    client = client_for(viewer)
    download = reverse("signoffs:packet_download", args=[plan.pk, packet.pk])
    assert client.get(download).status_code == 404  # not rendered yet
    services.packet_render(packet_id=packet.pk)
    packet.refresh_from_db()
    response = client.get(download)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == pdf_of(packet)
    asked = client.post(reverse("signoffs:packet_request", args=[plan.pk]), {"kind": "draft"})
    assert asked.status_code == 403


def test_a_packet_of_another_plan_is_404(plan, owner, client_for):
    from tests.factories import make_plan

    other = make_plan(owner)
    packet = services.packet_request(plan=other, requested_by=owner, kind="draft")
    services.packet_render(packet_id=packet.pk)
    url = reverse("signoffs:packet_download", args=[plan.pk, packet.pk])
    assert client_for(owner).get(url).status_code == 404


def test_the_packet_page_costs_the_same_queries_with_more_packets(plan, owner, editor, client_for):
    client = client_for(owner)
    url = reverse("signoffs:packet_list", args=[plan.pk])
    services.packet_request(plan=plan, requested_by=owner, kind="draft")
    client.get(url)
    # Each measured read is the first after a change (the test's changes never commit, so
    # the version is raised by hand): nothing is answered from the cache.
    live.bump(plan.pk)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for version in range(2, 11):
        item = ChecklistItem.objects.get(plan=plan, text="Firewall rules configured")
        state = "passed" if version % 2 == 0 else "failed"
        checklist_services.item_set_state(
            item=item, actor=editor, state=state, version=item.version
        )
        services.packet_request(plan=plan, requested_by=owner, kind="draft")
    live.bump(plan.pk)
    with CaptureQueriesContext(connection) as ten:
        client.get(url)
    assert ReadinessPacket.objects.count() == 10
    assert len(ten) == len(one)


# Verifying


@pytest.fixture
def issued(plan, owner):
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    services.packet_render(packet_id=packet.pk)
    packet.refresh_from_db()
    return packet


def upload(pdf: bytes, name: str = "packet.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, pdf, content_type="application/pdf")


def test_an_issued_packet_is_of_record_by_file_or_sha256_until_the_plan_moves_on(
    issued, viewer, editor, outsider, client_for
):
    response = client_for(viewer).post(reverse("packets:verify"), {"file": upload(pdf_of(issued))})
    result = response.context["result"]
    assert result.of_record and result.packet == issued
    assert result.signature.valid and not result.superseded
    page = response.content.decode()
    assert "A packet of record" in page and issued.plan.title in page

    # A pasted SHA-256 (in capitals, as some tools print it) checks the stored file.
    response = client_for(outsider).post(
        reverse("packets:verify"), {"sha256": issued.sha256.upper()}
    )
    result = response.context["result"]
    assert result.packet == issued and result.signature.valid and not result.member
    # Whether the plan changed since is the plan's state today: members only.
    assert "has not changed since" not in response.content.decode()

    item = ChecklistItem.objects.get(plan=issued.plan, text="Firewall rules configured")
    checklist_services.item_set_state(item=item, actor=editor, state="passed", version=1)
    result = packet_selectors.packet_verify(upload=None, sha256=issued.sha256, user=editor)
    assert result.of_record and result.superseded and result.member


def test_a_file_changed_by_one_byte_is_not_a_packet_of_record(issued, outsider, client_for):
    changed = bytearray(pdf_of(issued))
    changed[len(changed) // 3] ^= 0x01
    response = client_for(outsider).post(reverse("packets:verify"), {"file": upload(changed)})
    result = response.context["result"]
    assert not result.of_record
    assert not result.signature.valid
    page = response.content.decode()
    assert "Not a packet of record" in page
    assert issued.plan.title not in page


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "one of the two"),
        ({"sha256": "not-a-digest"}, "64 hexadecimal characters"),
        ({"file": "text"}, "not a PDF"),
        ({"file": "pdf", "sha256": "a" * 64}, "one of the two"),
    ],
)
def test_bad_input_on_the_verify_page_gets_a_message(viewer, client_for, data, message):
    if data.get("file") == "text":
        data = {"file": upload(b"hello, not a pdf", "x.pdf")}
    elif data.get("file") == "pdf":
        data = {**data, "file": upload(b"%PDF-1.7\n%%EOF\n")}
    response = client_for(viewer).post(reverse("packets:verify"), data)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_an_upload_over_the_limit_is_refused_before_it_is_stored(viewer, client_for, settings):
    settings.PACKET_VERIFY_MAX_BYTES = 256 * 1024
    response = client_for(viewer).post(
        reverse("packets:verify"), {"file": upload(b"%PDF-1.7\n" + b"0" * (1024 * 1024))}
    )
    assert response.status_code == 400
    assert "larger than any packet this page checks (256 KB at most)" in response.content.decode()
    # The upload handler stopped passing the file on at the limit: no more than 256 KB of it
    # was ever held in memory or written to a temporary file.
    handler = response.wsgi_request.upload_handlers[0]
    assert isinstance(handler, LimitedUploadHandler)
    assert handler.refused == {"file": "packet.pdf"}
    assert handler.passed <= settings.PACKET_VERIFY_MAX_BYTES


class ChunksOnly(File):
    """An uploaded file that may be read a chunk at a time, never whole."""

    def read(self, size=-1):
        assert 0 < size <= 1024 * 1024, "read whole"
        return super().read(size)


def test_an_upload_is_hashed_a_chunk_at_a_time(viewer, tmp_path):
    data = b"%PDF-1.7\n" + os.urandom(3 * 1024 * 1024)
    path = tmp_path / "large.pdf"
    path.write_bytes(data)
    with open(path, "rb") as handle:
        result = packet_selectors.packet_verify(upload=ChunksOnly(handle), sha256="", user=viewer)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert not result.of_record and not result.signature.present


def test_a_signature_that_takes_too_long_to_check_is_reported_not_waited_for(
    viewer, client_for, settings
):
    settings.PACKET_VERIFY_SECONDS = 0.05
    pdf = packets.render_pdf("<p>hello</p>", {"format": packets.FORMAT})
    response = client_for(viewer).post(reverse("packets:verify"), {"file": upload(pdf)})
    assert response.status_code == 200
    result = response.context["result"]
    assert not result.signature.valid
    assert "could not be checked in time" in response.content.decode()


def test_verifying_is_limited_per_person_and_minute(
    viewer, editor, client_for, settings, time_machine
):
    settings.PACKET_VERIFY_PER_MINUTE = 2
    time_machine.move_to("2026-11-30 12:00:05Z")
    client = client_for(viewer)
    digest = {"sha256": "a" * 64}
    for _ in range(2):
        assert client.post(reverse("packets:verify"), digest).status_code == 200
    response = client.post(reverse("packets:verify"), digest)
    assert response.status_code == 429
    assert response["Retry-After"] == "55"
    assert "try again in 55 seconds" in response.content.decode()
    assert "result" not in response.context
    # Reading the page is not verifying, and the limit is each person's own.
    assert client.get(reverse("packets:verify")).status_code == 200
    assert client_for(editor).post(reverse("packets:verify"), digest).status_code == 200
    time_machine.move_to("2026-11-30 12:01:00Z")
    assert client.post(reverse("packets:verify"), digest).status_code == 200


def test_a_pdf_that_is_not_a_packet_is_not_of_record(viewer, client_for):
    pdf = packets.render_pdf("<p>hello</p>", {"format": packets.FORMAT})
    response = client_for(viewer).post(reverse("packets:verify"), {"file": upload(pdf)})
    result = response.context["result"]
    assert not result.of_record and not result.signature.present


def test_the_verify_page_needs_a_login(client_for):
    response = client_for(None).get(reverse("packets:verify"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_the_overview_offers_a_packet_to_editors_and_shows_the_latest(
    plan, owner, editor, viewer, client_for
):
    url = reverse("planning:plan_detail", args=[plan.pk])
    page = client_for(editor).get(url).content.decode()
    assert "Ask for a draft packet" in page and "No packet yet." in page
    assert "Ask for a" not in client_for(viewer).get(url).content.decode()
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    services.packet_render(packet_id=packet.pk)
    page = client_for(viewer).get(url).content.decode()
    assert "Revision 1, draft: ready" in page
    assert reverse("signoffs:packet_download", args=[plan.pk, packet.pk]) in page


def _broker_queue(name: str) -> str:
    return settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] + name


def test_a_packet_whose_message_redis_lost_is_rendered_once_by_the_sweep(
    transactional_db, plan, owner, settings
):
    import redis

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    assert broker.llen(_broker_queue("packets")) == 1
    broker.delete(_broker_queue("packets"))  # Redis restarted empty before a worker took it
    settings.PACKET_QUEUED_SECONDS = 0
    worker = _start_worker()
    try:
        assert services.packets_requeue() == 1
        packet = ready(packet.pk, timeout=90)
        assert packet.attempts == 1
        assert services.packets_requeue() == 0  # ready: nothing more to do
    finally:
        _kill(worker)


def test_a_late_message_does_not_render_a_packet_twice(transactional_db, plan, owner, settings):
    """The sweep queued a packet whose first message was only late: both reach a worker, one
    renders it and the other finds it taken."""
    settings.PACKET_QUEUED_SECONDS = 0
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    assert services.packets_requeue() == 1
    worker = _start_worker()
    try:
        packet = ready(packet.pk, timeout=90)
        first = (packet.file.name, packet.sha256)
        import redis

        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        wait_for(lambda: broker.llen(_broker_queue("packets")) == 0, timeout=30)
        packet.refresh_from_db()
        assert packet.attempts == 1
        assert (packet.file.name, packet.sha256) == first
        assert len(os.listdir(settings.MEDIA_ROOT / "packets" / f"plan-{plan.pk}")) == 1
    finally:
        _kill(worker)


def test_two_sweeps_at_once_queue_a_lost_packet_once(transactional_db, plan, owner, settings):
    import datetime
    import threading

    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    lost_since = packet.queued_at - datetime.timedelta(seconds=settings.PACKET_QUEUED_SECONDS + 1)
    ReadinessPacket.objects.filter(pk=packet.pk).update(queued_at=lost_since)
    counts = []
    threads = [
        threading.Thread(target=lambda: counts.append(services.packets_requeue())) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == [0, 0, 0, 1]
