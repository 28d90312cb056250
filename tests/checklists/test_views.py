import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from checklists import services
from checklists.models import ChecklistItem, EvidenceLink, ReadinessScore
from tests.factories import make_plan

PDF = b"%PDF-1.7\n%%EOF\n"


def item_of(plan, text="DNS records configured") -> ChecklistItem:
    return ChecklistItem.objects.get(plan=plan, text=text)


def evidence_file(plan, editor):
    return services.file_add(
        item=item_of(plan), actor=editor, upload=SimpleUploadedFile("report.pdf", PDF)
    )


@pytest.fixture
def evidence(settings, tmp_path, plan, editor):
    settings.MEDIA_ROOT = tmp_path
    return evidence_file(plan, editor)


def test_another_plans_item_is_404(client_for, plan, owner, outsider):
    other = make_plan(outsider, title="Other")
    foreign = ChecklistItem.objects.filter(plan=other).first()
    url = reverse("checklists:item_state", args=[plan.pk, foreign.pk])
    response = client_for(owner).post(url, {"state": "passed", "version": 1})
    assert response.status_code == 404
    assert ChecklistItem.objects.get(pk=foreign.pk).state == "open"


def state_url(plan, item):
    return reverse("checklists:item_state", args=[plan.pk, item.pk])


def test_an_editor_ticks_an_item_in_place(client_for, plan, editor):
    item = item_of(plan)
    response = client_for(editor).post(
        state_url(plan, item), {"state": "passed", "version": 1}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith("<tr") and f'id="item-{item.pk}"' in body
    assert "state-row-passed" in body
    assert item_of(plan).state == "passed"


def test_the_second_of_two_simultaneous_changes_is_told_and_shown_the_first(
    client_for, plan, editor, owner
):
    item = item_of(plan)
    client_for(owner).post(state_url(plan, item), {"state": "failed", "version": 1})
    response = client_for(editor).post(
        state_url(plan, item), {"state": "passed", "version": 1}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert "changed this item in the meantime: it is now failed" in body
    assert "Nothing of yours was saved" in body
    assert 'value="2"' in body  # the row now carries the current version
    assert item_of(plan).state == "failed"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"state": "not_applicable", "version": 1}, "Say why this item does not apply."),
        ({"state": "not_applicable", "version": 1, "reason": "No"}, "Only conditional items"),
        ({"state": "done", "version": 1}, "Select a valid choice"),
        ({"state": "passed", "version": "abc"}, "Enter a whole number"),
        ({"state": "passed"}, "This field is required"),
    ],
)
def test_bad_state_changes_are_explained_and_change_nothing(
    client_for, plan, editor, data, message
):
    item = item_of(plan)
    response = client_for(editor).post(state_url(plan, item), data, headers={"HX-Request": "true"})
    assert message in response.content.decode()
    assert (item_of(plan).state, item_of(plan).version) == ("open", 1)


def test_an_owner_may_override_with_a_reason(client_for, plan, owner):
    item = item_of(plan)
    client_for(owner).post(
        state_url(plan, item),
        {"state": "not_applicable", "version": 1, "reason": "Internal only", "override": "on"},
    )
    assert item_of(plan).state == "not_applicable"


def test_notes_are_markdown_with_html_shown_as_text(client_for, plan, editor):
    item = item_of(plan)
    note = "**Checked** with `dig`\n\n<script>alert(1)</script> [x](javascript:alert(1))"
    client_for(editor).post(
        reverse("checklists:item_note", args=[plan.pk, item.pk]), {"note": note, "version": 1}
    )
    body = (
        client_for(editor)
        .get(reverse("checklists:item_detail", args=[plan.pk, item.pk]))
        .content.decode()
    )
    assert "<strong>Checked</strong>" in body and "<code>dig</code>" in body
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body
    assert 'href="javascript:' not in body


def test_a_member_downloads_a_file_as_an_attachment(client_for, plan, evidence, viewer):
    response = client_for(viewer).get(
        reverse("checklists:file_download", args=[plan.pk, evidence.item_id, evidence.pk])
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF


def test_an_upload_of_a_forbidden_type_shows_the_field_error(
    client_for, plan, editor, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    item = item_of(plan)
    response = client_for(editor).post(
        reverse("checklists:file_add", args=[plan.pk, item.pk]),
        {"file": SimpleUploadedFile("../../etc/passwd", b"root:x:0:0")},
    )
    assert response.status_code == 400
    assert "This type of file is not accepted" in response.content.decode()
    assert not item.files.exists()


def test_scoring_from_the_page(client_for, plan, editor):
    url = reverse("checklists:score_set", args=[plan.pk, "security"])
    client_for(editor).post(url, {"score": "8", "rationale": "Pen test passed"})
    body = client_for(editor).get(reverse("checklists:readiness", args=[plan.pk])).content.decode()
    assert "20" in body and "Pen test passed" in body
    assert ReadinessScore.objects.get().score == 8


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"score": "11", "rationale": "x"}, "less than or equal to 10"),
        ({"score": "0", "rationale": "x"}, "greater than or equal to 1"),
        ({"score": "seven", "rationale": "x"}, "Enter a whole number"),
        ({"score": "7", "rationale": ""}, "This field is required"),
    ],
)
def test_bad_scores_are_refused_with_a_message(client_for, plan, editor, data, message):
    response = client_for(editor).post(
        reverse("checklists:score_set", args=[plan.pk, "security"]), data
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ReadinessScore.objects.exists()


def test_an_unknown_category_is_404(client_for, plan, editor):
    response = client_for(editor).post(
        reverse("checklists:score_set", args=[plan.pk, "vibes"]), {"score": "5", "rationale": "x"}
    )
    assert response.status_code == 404


def test_the_readiness_page_shows_the_decision_blockers_and_the_picture(client_for, plan, viewer):
    body = client_for(viewer).get(reverse("checklists:readiness", args=[plan.pk])).content.decode()
    assert "Not ready for deployment" in body
    assert "Blockers" in body and "SSL certificates installed" in body
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in body
    assert "Suggested score = 1 + 9" in body
    assert 'name="score"' not in body  # a viewer reads


def _grow(plan, times: int):
    items = list(ChecklistItem.objects.filter(plan=plan))
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            plan=plan,
            checklist_id=i.checklist_id,
            text=f"{i.text} {n}",
            position=100 * n + i.position,
            critical=i.critical,
            state="passed" if n % 2 else "open",
        )
        for n in range(1, times)
        for i in items
    )
    for item in ChecklistItem.objects.filter(plan=plan)[:20]:
        EvidenceLink.objects.create(plan=plan, item=item, url="https://ci.example.com/x")


@pytest.mark.parametrize("times", [1, 10])
@pytest.mark.parametrize(
    "page", ["checklists:checklists", "checklists:readiness", "planning:plan_detail"]
)
def test_pages_cost_the_same_queries_for_ten_times_the_items(
    client_for, plan, editor, owner, django_assert_num_queries, times, page
):
    _grow(plan, times)
    services.score_set(plan=plan, actor=owner, category="security", score=5, rationale="x")
    client = client_for(editor)
    url = reverse(page, args=[plan.pk])
    client.get(url)
    # The user, the plan with the user's permissions on it, the bell's unread count, then each
    # page's own reads (the overview's comment thread: its comments and the members to
    # mention; the plans of the other environments linked to it; the members panel's people
    # and teams), none per item. The readiness page's score history chart costs three more
    # (the scores, the approvals, the plan's entries into "signed off") until it is cached
    # under the plan's version.
    expected = {"checklists:checklists": 7, "checklists:readiness": 10, "planning:plan_detail": 21}
    with django_assert_num_queries(expected[page]):
        assert client.get(url).status_code == 200
    if page == "checklists:readiness":
        # The next reader: the page's body, chart included, comes from the cache.
        with django_assert_num_queries(3):
            assert client.get(url).status_code == 200
