"""Evidence files on S3-compatible storage: a real S3 API (moto's server) on loopback."""

import hashlib

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from checklists.models import EvidenceFile
from tests.checklists.test_views import PDF, item_of


def test_an_uploaded_file_is_stored_in_the_bucket_and_nowhere_else(
    s3_storage, settings, plan, editor, client_for
):
    item = item_of(plan)
    response = client_for(editor).post(
        reverse("checklists:file_add", args=[plan.pk, item.pk]),
        {"file": SimpleUploadedFile("Load test report.pdf", PDF)},
    )
    assert response.status_code == 302
    evidence = item.files.get()
    assert (evidence.name, evidence.size) == ("Load_test_report.pdf", len(PDF))
    assert evidence.sha256 == hashlib.sha256(PDF).hexdigest()
    # What S3 itself holds, read back past the application.
    assert s3_storage.keys() == [evidence.file.name]
    assert evidence.file.name.startswith(f"evidence/plan-{plan.pk}/")
    assert s3_storage.read(evidence.file.name) == PDF
    assert not settings.MEDIA_ROOT.exists()


def test_members_download_from_the_bucket_outsiders_get_404_anonymous_log_in(
    s3_storage, plan, editor, viewer, outsider, client_for
):
    client_for(editor).post(
        reverse("checklists:file_add", args=[plan.pk, item_of(plan).pk]),
        {"file": SimpleUploadedFile("report.pdf", PDF)},
    )
    evidence = EvidenceFile.objects.get()
    url = reverse("checklists:file_download", args=[plan.pk, evidence.item_id, evidence.pk])

    response = client_for(viewer).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert response["Content-Length"] == str(len(PDF))
    assert b"".join(response.streaming_content) == PDF

    assert client_for(outsider).get(url).status_code == 404
    anonymous = client_for(None).get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))


def test_a_file_gone_from_the_bucket_is_404_not_an_error(s3_storage, plan, editor, client_for):
    client_for(editor).post(
        reverse("checklists:file_add", args=[plan.pk, item_of(plan).pk]),
        {"file": SimpleUploadedFile("report.pdf", PDF)},
    )
    evidence = EvidenceFile.objects.get()
    s3_storage.client.delete_object(Bucket=s3_storage.name, Key=evidence.file.name)
    url = reverse("checklists:file_download", args=[plan.pk, evidence.item_id, evidence.pk])
    assert client_for(editor).get(url).status_code == 404
