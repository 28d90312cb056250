"""Checklist evidence carried into the next environment's plan, its confirmation, and the page
that compares the two plans."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from checklists import selectors, services
from checklists.models import ChecklistItem, EvidenceFile
from planning import services as planning_services
from signoffs import policies as signoff_policies
from tests.factories import UserFactory

SSL = "SSL certificates installed"  # critical, infrastructure
CDN = "CDN configured"  # conditional
DNS = "DNS records configured"


def item(plan, text) -> ChecklistItem:
    return ChecklistItem.objects.select_related("checklist").get(plan=plan, text=text)


def set_state(plan, text, actor, state, **extra):
    current = item(plan, text)
    return services.item_set_state(
        item=current, actor=actor, state=state, version=current.version, **extra
    )


@pytest.fixture
def staging(plan, owner, editor, tmp_path, settings):
    """The shared staging plan with evidence: SSL passed with a note, a link and a file; CDN
    not applicable; DNS failed; the rest open."""
    settings.MEDIA_ROOT = tmp_path / "media"
    set_state(
        plan,
        SSL,
        editor,
        "passed",
        note="Issued by the internal CA.",
        links=["https://ci.example.com/ssl/1"],
    )
    services.file_add(
        item=item(plan, SSL),
        actor=editor,
        upload=SimpleUploadedFile("chain.txt", b"-----BEGIN CERTIFICATE-----\n"),
    )
    set_state(plan, CDN, editor, "not_applicable", reason="No CDN in front of the API.")
    set_state(plan, DNS, editor, "failed")
    return plan


@pytest.fixture
def production(staging, owner):
    return planning_services.plan_create_next(
        plan=staging, user=owner, week1_start=datetime.date(2026, 12, 7)
    )


def test_decided_items_are_carried_open_with_their_evidence(staging, production):
    ssl = item(production, SSL)
    assert (ssl.state, ssl.carried_state, ssl.carried_from) == ("open", "passed", "staging")
    assert ssl.note == "Issued by the internal CA."
    assert [link.url for link in ssl.links.all()] == ["https://ci.example.com/ssl/1"]
    [carried_file] = ssl.files.all()
    [original] = item(staging, SSL).files.all()
    # The same stored content, by reference, with its digest.
    assert (carried_file.file.name, carried_file.sha256) == (original.file.name, original.sha256)
    assert carried_file.plan_id == production.pk
    with carried_file.file.open("rb") as stored:
        assert stored.read().startswith(b"-----BEGIN CERTIFICATE")
    cdn = item(production, CDN)
    assert (cdn.carried_state, cdn.carried_reason) == (
        "not_applicable",
        "No CDN in front of the API.",
    )
    assert item(production, DNS).carried_state == "failed"
    assert ssl.previous_item == item(staging, SSL)
    # An item left open in staging starts afresh.
    untouched = item(production, "Load balancers configured")
    assert (untouched.carried_state, untouched.previous_item) == ("", None)
    assert ChecklistItem.objects.filter(plan=production).exclude(carried_state="").count() == 3
    # The staging plan is untouched.
    assert item(staging, SSL).state == "passed"


def test_carried_items_count_for_nothing_until_confirmed(staging, production, editor):
    readiness = selectors.readiness(production)
    infrastructure = next(c for c in readiness.categories if c.key == "infrastructure")
    assert infrastructure.passed == 0
    assert item(production, SSL) in readiness.blockers
    [documentation] = [c for c in selectors.plan_checklists(production) if c.key == "security"]
    assert documentation.done == 0
    assert signoff_policies.signoff_state(production).documentation_open

    confirmed = set_state(production, SSL, editor, "passed")
    assert (confirmed.state, confirmed.carried_state, confirmed.changed_by) == (
        "passed",
        "",
        editor,
    )
    readiness = selectors.readiness(production)
    infrastructure = next(c for c in readiness.categories if c.key == "infrastructure")
    assert infrastructure.passed == 1
    assert confirmed not in readiness.blockers


def test_any_state_set_here_ends_the_carry(production, editor):
    changed = set_state(production, DNS, editor, "passed")
    assert (changed.state, changed.carried_state) == ("passed", "")


def test_confirming_is_audited_and_told_in_the_activity(client_for, production, editor):
    client = client_for(editor)
    ssl = item(production, SSL)
    client.post(
        reverse("checklists:item_state", args=[production.pk, ssl.pk]),
        {"state": "passed", "version": ssl.version, "reason": ""},
    )
    event = ChecklistItem.pgh_event_model.objects.filter(pgh_obj_id=ssl.pk).latest("pgh_id")
    assert (event.state, event.carried_state) == ("passed", "")
    assert event.pgh_context.metadata["user"] == editor.pk
    feed = client.get(reverse("planning:activity", args=[production.pk])).content.decode()
    assert "carried &#x27;SSL certificates installed&#x27; forward from staging as passed" in feed
    assert "confirmed &#x27;SSL certificates installed&#x27; passed in this plan" in feed
    assert "with no changes" not in feed


def test_the_row_says_carried_and_offers_confirmation_to_editors_only(
    client_for, production, editor, viewer
):
    checklists = reverse("checklists:checklists", args=[production.pk])
    as_editor = client_for(editor).get(checklists).content.decode()
    assert "Carried from staging — confirm" in as_editor
    assert "Confirm passed" in as_editor
    as_viewer = client_for(viewer).get(checklists).content.decode()
    assert "Carried from staging — confirm" in as_viewer
    assert "Confirm passed" not in as_viewer


def test_a_viewer_cannot_confirm(client_for, production, viewer):
    ssl = item(production, SSL)
    response = client_for(viewer).post(
        reverse("checklists:item_state", args=[production.pk, ssl.pk]),
        {"state": "passed", "version": ssl.version},
    )
    assert response.status_code == 403
    assert item(production, SSL).carried_state == "passed"


def test_a_carried_file_is_served_only_through_a_plan_one_may_see(
    client_for, production, staging, owner
):
    newcomer = UserFactory(username="nina")
    planning_services.membership_add(
        plan=production, actor=owner, email=newcomer.email, role="viewer"
    )
    ssl = item(production, SSL)
    carried = ssl.files.get()
    client = client_for(newcomer)
    download = reverse("checklists:file_download", args=[production.pk, ssl.pk, carried.pk])
    assert client.get(download).status_code == 200
    original = item(staging, SSL)
    theirs = reverse(
        "checklists:file_download", args=[staging.pk, original.pk, original.files.get().pk]
    )
    assert client.get(theirs).status_code == 404
    assert EvidenceFile.objects.filter(file=carried.file.name).count() == 2


# The comparison


def compare(plan, query=""):
    return reverse("checklists:compare", args=[plan.pk]) + query


def test_the_comparison_marks_differences_in_words(client_for, staging, production, owner, editor):
    spec = production.requirements.get(kind="infrastructure")
    values = spec.values
    values["compute"]["cpu_cores"] = 96
    planning_services.requirement_update(spec=spec, values=values)
    set_state(production, SSL, editor, "passed")
    set_state(production, DNS, editor, "passed")

    response = client_for(owner).get(compare(production))
    assert response.status_code == 200
    comparison = response.context["comparison"]
    rows = {
        row.label: row
        for section in comparison.checklists + comparison.requirements
        for row in section.rows
    }
    assert (rows["CPU cores"].before, rows["CPU cores"].after) == ("32 cores", "96 cores")
    assert rows["CPU cores"].difference == "changed"
    assert rows["Memory"].difference == "same"
    assert rows[SSL].difference == "same"
    assert (rows[DNS].before, rows[DNS].after, rows[DNS].difference) == (
        "Failed",
        "Passed",
        "changed",
    )
    assert rows[CDN].difference == "carried"
    assert rows[CDN].before == "Not applicable: No CDN in front of the API."
    assert comparison.carried == 1
    body = response.content.decode()
    assert "Carried, to confirm" in body and "Changed" in body
    only = client_for(owner).get(compare(production, "?show=differences")).content.decode()
    assert "Load balancers configured" not in only
    assert DNS in only


@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("editor", 200), ("viewer", 200)])
def test_members_of_both_plans_see_the_comparison(client_for, production, request, who, status):
    assert client_for(request.getfixturevalue(who)).get(compare(production)).status_code == status


def test_a_member_of_one_plan_only_gets_404(client_for, production, staging, owner, outsider):
    planning_services.membership_add(
        plan=production, actor=owner, email=outsider.email, role="owner"
    )
    client = client_for(outsider)
    assert client.get(reverse("planning:plan_detail", args=[production.pk])).status_code == 200
    assert client.get(compare(production)).status_code == 404
    # Nor is the staging plan named or linked on the overview.
    page = client.get(reverse("planning:plan_detail", args=[production.pk])).content.decode()
    assert f"/plans/{staging.pk}/" not in page
    assert compare(production) not in page


def test_outsiders_and_anonymous(client_for, production, outsider):
    assert client_for(outsider).get(compare(production)).status_code == 404
    response = client_for(None).get(compare(production))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_plan_made_from_no_other_has_no_comparison(client_for, staging, owner):
    assert client_for(owner).get(compare(staging)).status_code == 404


@pytest.mark.parametrize("times", [1, 10])
def test_the_comparison_costs_the_same_queries_for_ten_times_the_items(
    client_for, staging, owner, editor, django_assert_num_queries, times
):
    for _ in range(times - 1):
        for source in list(ChecklistItem.objects.filter(plan=staging)[:30]):
            ChecklistItem.objects.create(
                plan=staging,
                checklist_id=source.checklist_id,
                text=f"{source.text} ({_})",
                position=source.position + 100 * (_ + 1),
                state="passed",
            )
    production = planning_services.plan_create_next(
        plan=staging, user=owner, week1_start=datetime.date(2026, 12, 7)
    )
    client = client_for(editor)
    client.get(compare(production))
    # The user, this plan with the user's permissions, the bell's unread count, the previous
    # plan with them, both plans' requirement templates, both plans' items.
    with django_assert_num_queries(6):
        assert client.get(compare(production)).status_code == 200


def test_the_api_shows_the_carry_and_a_pipeline_confirms_it(production, editor):
    from tests.checklists.test_api import call, token_of

    token = token_of(editor)
    ssl = item(production, SSL)
    shown = call("get", f"/items/{ssl.pk}", token).json()
    assert (shown["state"], shown["carried_state"], shown["carried_from"]) == (
        "open",
        "passed",
        "staging",
    )
    response = call("post", f"/items/{ssl.pk}/state", token, {"state": "passed"})
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["carried_state"]) == ("passed", None)
