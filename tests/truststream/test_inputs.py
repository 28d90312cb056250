"""Input that cannot hurt the service: uploads refused before they are stored, numbers in
other scripts or of 5,000 digits, odd ETags, and control characters in one-line fields."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from checklists.models import ChecklistItem, Comment
from planning import services
from planning.models import DeploymentPlan
from tests.factories import PASSWORD
from truststream import services as truststream_services
from truststream.parsing import parse_id
from truststream.uploads import LimitedUploadHandler, RefusedUpload

HUGE = "9" * 5000
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def arabic_indic(number: int) -> str:
    """`number` in Arabic-Indic digits, which Python's int() reads as the same number."""
    return str(number).translate(ARABIC_INDIC)


# One reading of ids and versions


@pytest.mark.parametrize(
    "text, number",
    [
        ("0", 0),
        ("42", 42),
        ("007", 7),
        (str(2**63 - 1), 2**63 - 1),
        (str(2**63), None),
        ("9" * 20, None),
        (HUGE, None),
        ("²", None),
        ("١٢", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1.0", None),
        ("1_000", None),
        ("", None),
        (None, None),
    ],
)
def test_only_ascii_digits_within_bigint_are_an_id(text, number):
    assert parse_id(text) == number


def live_url(plan):
    return reverse("planning:live", args=[plan.pk])


@pytest.mark.parametrize(
    "sent", ['"².x.0"', '"١٢.x.0"', f'"{HUGE}.x.0"', '"-1.x.0"', 'W/"1"', "*", '""', '"."']
)
def test_an_odd_etag_on_the_live_poll_gets_a_fresh_poller_not_a_500(plan, viewer, client_for, sent):
    response = client_for(viewer).get(live_url(plan), headers={"If-None-Match": sent})
    assert response.status_code == 200
    assert response["ETag"]
    # Not a version the page could have seen: the page is not told to reload its content.
    assert "HX-Trigger" not in response


def members_assigned(plan):
    return dict(plan.roles.values_list("role", "assignee"))


@pytest.mark.parametrize("sent", ["²", "١٢", HUGE, "9" * 20, "-1", "1.0", "abc", "arabic"])
def test_a_role_is_assigned_only_to_a_member_named_by_a_plain_id(
    plan, owner, editor, client_for, sent
):
    before = members_assigned(plan)
    if sent == "arabic":  # the editor's own id, spelled in Arabic-Indic digits
        sent = arabic_indic(editor.pk)
    url = reverse("signoffs:role_assign", args=[plan.pk, "technical_lead"])
    response = client_for(owner).post(url, {"assignee": sent}, follow=True)
    assert response.status_code == 200
    assert "Choose a member of this plan." in response.content.decode()
    assert members_assigned(plan) == before


def first_item(plan) -> ChecklistItem:
    return ChecklistItem.objects.filter(plan=plan).order_by("pk").first()


def test_a_comment_target_in_other_digits_is_not_found(plan, editor, client_for):
    item = first_item(plan)
    url = reverse("checklists:comment_add", args=[plan.pk])
    for target in (f"item:{arabic_indic(item.pk)}", "item:²", f"item:{HUGE}", f"task:{HUGE}"):
        response = client_for(editor).post(url, {"target": target, "body": "Looks fine"})
        assert response.status_code == 404
    assert not Comment.objects.exists()


def test_a_version_in_other_digits_is_refused_and_changes_nothing(plan, editor, client_for):
    item = first_item(plan)
    url = reverse("checklists:item_state", args=[plan.pk, item.pk])
    for version in (arabic_indic(item.version), "²", HUGE):
        response = client_for(editor).post(url, {"state": "passed", "version": version})
        assert response.status_code < 500
        item.refresh_from_db()
        assert (item.state, item.version) == ("open", 1)


def test_an_item_is_assigned_only_to_a_member_named_by_a_plain_id(plan, editor, client_for):
    item = first_item(plan)
    url = reverse("checklists:item_assign", args=[plan.pk, item.pk])
    for sent in (arabic_indic(editor.pk), "²", HUGE):
        response = client_for(editor).post(url, {"assignee": sent, "version": item.version})
        assert response.status_code == 400
        assert "Choose a member of this plan." in response.content.decode()
    item.refresh_from_db()
    assert item.assignee is None


def test_a_task_moved_to_a_phase_in_other_digits_is_refused(plan, editor, client_for):
    task = plan.tasks.order_by("pk").first()
    phase = plan.phases.get(number=2)
    response = client_for(editor).post(
        reverse("planning:task_edit", args=[plan.pk, task.pk]),
        {
            "title": task.title,
            "group": task.group,
            "phase": arabic_indic(phase.pk),
            "due_on": task.due_on.isoformat(),
            "status": task.status,
        },
    )
    assert response.status_code == 400
    task.refresh_from_db()
    assert task.phase.number == 1


@pytest.mark.parametrize("page", ["²", "١٢", HUGE, "-1", "0", "x"])
def test_a_page_number_of_any_kind_gets_a_page(plan, owner, client_for, page):
    client = client_for(owner)
    for url in (
        reverse("planning:plan_list"),
        reverse("planning:activity", args=[plan.pk]),
        reverse("planning:audit", args=[plan.pk]),
        reverse("notifications"),
    ):
        assert client.get(url, {"page": page}).status_code == 200


@pytest.mark.parametrize("number", [HUGE, "9" * 4000, "9" * 20])
def test_an_id_of_thousands_of_digits_in_a_url_is_not_found(plan, owner, client_for, number):
    client = client_for(owner)
    for url in (
        f"/plans/{number}/",
        f"/plans/{number}/live/",
        f"/plans/{plan.pk}/tasks/{number}/",
        f"/plans/{plan.pk}/checklists/items/{number}/",
        f"/plans/{plan.pk}/packets/{number}/download/",
    ):
        assert client.get(url).status_code == 404


def test_the_api_refuses_ids_and_versions_it_cannot_read(plan, editor, client_for):
    _, token = truststream_services.token_create(user=editor, name="ci")
    headers = {"Authorization": f"Bearer {token}"}
    client = client_for(None)
    for number in ("²", "١٢", HUGE):
        assert client.get(f"/api/v1/items/{number}", headers=headers).status_code == 422
    item = first_item(plan)
    response = client.post(
        f"/api/v1/items/{item.pk}/state",
        f'{{"state": "passed", "version": {HUGE}}}',
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 400
    item.refresh_from_db()
    assert item.state == "open"


# Uploads refused before they are stored


def handler_of(response) -> LimitedUploadHandler:
    handler = response.wsgi_request.upload_handlers[0]
    assert isinstance(handler, LimitedUploadHandler)
    return handler


def test_evidence_over_the_limit_is_refused_before_it_is_stored(plan, editor, client_for, settings):
    settings.EVIDENCE_MAX_BYTES = 100 * 1024
    item = first_item(plan)
    upload = SimpleUploadedFile("big.txt", b"x" * (300 * 1024), "text/plain")
    response = client_for(editor).post(
        reverse("checklists:file_add", args=[plan.pk, item.pk]), {"file": upload}
    )
    assert response.status_code == 400
    assert "The file is larger than 100 KB." in response.content.decode()
    # The handlers that store uploads were given no more than the limit, then nothing.
    handler = handler_of(response)
    assert handler.refused == {"file": "big.txt"}
    assert handler.passed <= settings.EVIDENCE_MAX_BYTES
    assert isinstance(response.wsgi_request.FILES["file"], RefusedUpload)
    assert not item.files.exists()


def test_evidence_within_the_limit_is_still_attached(plan, editor, client_for, settings):
    settings.EVIDENCE_MAX_BYTES = 100 * 1024
    item = first_item(plan)
    upload = SimpleUploadedFile("notes.txt", b"x" * (100 * 1024), "text/plain")
    response = client_for(editor).post(
        reverse("checklists:file_add", args=[plan.pk, item.pk]), {"file": upload}
    )
    assert response.status_code == 302
    assert item.files.get().size == 100 * 1024
    assert handler_of(response).refused == {}


def test_a_body_far_over_the_limit_has_none_of_its_file_stored(plan, editor, client_for, settings):
    # Larger than the limit plus what Django accepts for the other fields: refused at the
    # first byte of the file.
    settings.EVIDENCE_MAX_BYTES = 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    item = first_item(plan)
    upload = SimpleUploadedFile("big.txt", b"x" * (64 * 1024), "text/plain")
    response = client_for(editor).post(
        reverse("checklists:file_add", args=[plan.pk, item.pk]), {"file": upload}
    )
    assert response.status_code == 400
    assert "larger than 1 KB" in response.content.decode()
    assert handler_of(response).passed == 0


def test_a_yaml_upload_over_the_limit_is_refused_before_it_is_stored(plan, editor, client_for):
    from planning.requirements import MAX_IMPORT_BYTES

    before = plan.requirements.get(kind="performance").values
    upload = SimpleUploadedFile("perf.yaml", b"# padding\n" * 300_000, "application/yaml")
    response = client_for(editor).post(
        reverse("planning:requirement_import", args=[plan.pk, "performance"]), {"file": upload}
    )
    assert response.status_code == 400
    assert "The file is larger than 2 MB." in response.content.decode()
    assert handler_of(response).passed <= MAX_IMPORT_BYTES
    assert plan.requirements.get(kind="performance").values == before


def test_an_upload_still_needs_the_csrf_token(plan, editor, client_for):
    item = first_item(plan)
    upload = SimpleUploadedFile("notes.txt", b"evidence", "text/plain")
    response = client_for(editor, send_token=False).post(
        reverse("checklists:file_add", args=[plan.pk, item.pk]), {"file": upload}
    )
    assert response.status_code == 403
    assert not item.files.exists()


# One-line fields refuse control characters


PLAN_FIELDS = {
    "title": "Ledger migration",
    "release_version": "2.0.0",
    "environment": "production",
    "week1_start": "2026-12-07",
    "target_go_live": "2027-01-04",
}


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", "Ledger\r\nBcc: everyone@example.com"),
        ("title", "Ledger\nmigration"),
        ("title", "Ledger\u2028migration"),
        ("release_version", "2.0.0\x1b[31m"),
        ("release_version", "2.0\t.0"),
    ],
)
def test_a_plan_title_or_release_on_more_than_one_line_is_refused(
    plan, owner, client_for, field, value
):
    response = client_for(owner).post(
        reverse("planning:plan_edit", args=[plan.pk]), {**PLAN_FIELDS, field: value}
    )
    assert response.status_code == 400
    assert "Write this on one line" in " ".join(response.context["form"].errors[field])
    plan.refresh_from_db()
    assert plan.title == "Checkout service rollout"


def test_the_service_refuses_a_title_with_a_line_break(owner, plan):
    with pytest.raises(ValidationError) as refused:
        services.plan_update(plan=plan, title="Checkout\r\nrollout")
    assert "title" in refused.value.message_dict
    with pytest.raises(ValidationError):
        services.plan_create(
            user=owner,
            playbook=plan.playbook,
            title="New\nplan",
            release_version="1.0",
            environment=DeploymentPlan.Environment.STAGING,
            week1_start=datetime.date(2026, 11, 2),
            target_go_live=datetime.date(2026, 11, 30),
            description="",
        )
    assert DeploymentPlan.objects.count() == 1


def test_task_titles_groups_and_reasons_are_one_line(plan, editor, client_for):
    phase = plan.phases.get(number=1)
    count = plan.tasks.count()
    client = client_for(editor)
    for data in (
        {"title": "Chaos\ndrill", "group": "Infrastructure Planning"},
        {"title": "Chaos drill", "group": "Infra\x07structure"},
        {"title": "Chaos drill", "group": "Infra\x85structure"},
    ):
        response = client.post(reverse("planning:task_add", args=[plan.pk, phase.pk]), data)
        assert response.status_code == 400
        assert "Write this on one line" in response.content.decode()
    assert plan.tasks.count() == count

    task = plan.tasks.order_by("pk").first()
    response = client.post(
        reverse("planning:task_status", args=[plan.pk, task.pk]),
        {"status": "blocked", "blocked_reason": "Waiting\r\nfor the vendor"},
        follow=True,
    )
    assert "Write this on one line" in response.content.decode()
    task.refresh_from_db()
    assert task.status != "blocked"


def test_contact_names_are_one_line(plan, editor, client_for):
    count = plan.support_contacts.count()
    response = client_for(editor).post(
        reverse("planning:contact_add", args=[plan.pk]),
        {"topic": "Database", "name": "Dana\r\nX-Injected: yes", "email": "dana@example.com"},
    )
    assert response.status_code == 400
    assert "Write this on one line" in response.content.decode()
    assert plan.support_contacts.count() == count


def test_a_token_name_is_one_line(owner, client_for):
    client = client_for(owner)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    response = client.post(reverse("tokens"), {"name": "deploy\npipeline"})
    assert response.status_code in (200, 400)
    assert "Write this on one line" in response.content.decode()
    assert not owner.api_tokens.exists()


def test_the_api_refuses_a_reason_on_two_lines(plan, owner, client_for):
    _, token = truststream_services.token_create(user=owner, name="ci")
    item = first_item(plan)
    response = client_for(None).post(
        f"/api/v1/items/{item.pk}/state",
        {"state": "not_applicable", "reason": "Not used\r\nhere", "override": True},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert "Write this on one line" in response.json()["errors"]["reason"][0]
    item.refresh_from_db()
    assert item.state == "open"
