"""Readiness packets on S3-compatible storage: rendered by a real worker into a bucket on a real
S3 API (moto's server on loopback), downloaded and verified by the web process from there."""

import hashlib

from django.urls import reverse
from django.utils.text import slugify

from signoffs import services
from signoffs.models import ReadinessPacket
from tests.signoffs.test_packets import _kill, _start_worker, ready, upload


def _request_draft(plan, user, client_for) -> ReadinessPacket:
    response = client_for(user).post(
        reverse("signoffs:packet_request", args=[plan.pk]), {"kind": "draft"}
    )
    assert response.status_code == 302
    return ReadinessPacket.objects.get(plan=plan)


def test_a_packet_rendered_by_the_worker_lands_in_the_bucket_and_members_download_it(
    s3_storage, settings, celery_worker, plan, owner, viewer, outsider, client_for
):
    packet = ready(_request_draft(plan, owner, client_for).pk)
    assert s3_storage.keys() == [packet.file.name]
    stored = s3_storage.read(packet.file.name)
    assert hashlib.sha256(stored).hexdigest() == packet.sha256
    assert stored.startswith(b"%PDF-")

    url = reverse("signoffs:packet_download", args=[plan.pk, packet.pk])
    response = client_for(viewer).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{slugify(plan.title)}-revision-1-draft.pdf"'
    )
    assert b"".join(response.streaming_content) == stored

    assert client_for(outsider).get(url).status_code == 404
    anonymous = client_for(None).get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))
    assert not settings.MEDIA_ROOT.exists()


def test_a_worker_process_and_the_web_share_nothing_but_the_bucket(
    transactional_db, s3_storage, settings, plan, owner, viewer, client_for, tmp_path
):
    """The worker is a process of its own with a local folder of its own; the web process
    finds the packet only because both use the same bucket."""
    worker_media = tmp_path / "worker-media"
    worker = _start_worker(MEDIA_ROOT=str(worker_media), **s3_storage.environment)
    try:
        packet = ready(_request_draft(plan, owner, client_for).pk)
    finally:
        _kill(worker)
    response = client_for(viewer).get(
        reverse("signoffs:packet_download", args=[plan.pk, packet.pk])
    )
    assert response.status_code == 200
    pdf = b"".join(response.streaming_content)
    assert hashlib.sha256(pdf).hexdigest() == packet.sha256
    assert s3_storage.read(packet.file.name) == pdf
    assert not worker_media.exists() and not settings.MEDIA_ROOT.exists()


def test_the_verify_page_checks_the_packet_stored_in_the_bucket(
    s3_storage, plan, owner, viewer, outsider, client_for
):
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    services.packet_render(packet_id=packet.pk)
    packet.refresh_from_db()
    pdf = s3_storage.read(packet.file.name)

    # A pasted SHA-256: the signature is checked on the copy read back from the bucket.
    response = client_for(outsider).post(reverse("packets:verify"), {"sha256": packet.sha256})
    result = response.context["result"]
    assert result.packet == packet and result.signature.valid
    assert "A packet of record" in response.content.decode()

    response = client_for(viewer).post(reverse("packets:verify"), {"file": upload(pdf)})
    result = response.context["result"]
    assert result.packet == packet and result.signature.valid and result.member

    # The stored copy gone: the page says so, and the uploaded file can still be checked.
    s3_storage.client.delete_object(Bucket=s3_storage.name, Key=packet.file.name)
    response = client_for(viewer).post(reverse("packets:verify"), {"sha256": packet.sha256})
    assert response.status_code == 200
    assert "stored copy of this packet is missing" in response.content.decode()
    download = reverse("signoffs:packet_download", args=[plan.pk, packet.pk])
    assert client_for(viewer).get(download).status_code == 404
