import pytest
from django.core import mail
from django.urls import reverse

from planning import services
from planning.models import DeploymentPlan, PlanMembership
from planning.selectors import default_playbook
from tests.factories import make_plan

INVITED = "ivy@example.com"


@pytest.fixture
def plan(plan, owner):
    """The shared plan, with an invitation in play for the URLs that act on one."""
    services.invitation_create(plan=plan, actor=owner, email=INVITED, role="viewer")
    return plan


def snapshot(plan) -> tuple:
    """Everything about a plan that a request could change."""
    plan.refresh_from_db()
    return (
        (plan.title, plan.archived_at),
        list(plan.memberships.values_list("user_id", "role").order_by("id")),
        list(plan.invitations.values_list("email", "role", "withdrawn_at").order_by("id")),
        list(plan.tasks.values_list("id", "title", "status", "position").order_by("id")),
        list(plan.documents.values_list("id", "status").order_by("id")),
        list(plan.requirements.values_list("id", "values").order_by("id")),
        list(plan.support_contacts.values_list("id", "topic").order_by("id")),
    )


def test_an_unknown_requirement_template_is_404(client_for, plan, viewer):
    url = reverse("planning:requirements", args=[plan.pk, "finance"])
    assert client_for(viewer).get(url).status_code == 404


def test_an_unknown_plan_id_is_404(client_for, owner):
    assert client_for(owner).get("/plans/999999/").status_code == 404


def test_a_membership_of_another_plan_is_404(client_for, plan, owner, outsider):
    other = make_plan(outsider, title="Someone else's")
    foreign = other.memberships.get()
    response = client_for(owner).post(reverse("planning:member_remove", args=[plan.pk, foreign.pk]))
    assert response.status_code == 404
    assert PlanMembership.objects.filter(pk=foreign.pk).exists()


# Plan list


def test_the_list_shows_only_my_plans_with_my_role(client_for, plan, viewer, outsider):
    make_plan(outsider, title="Outsider's secret plan")
    response = client_for(viewer).get(reverse("planning:plan_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Checkout service rollout" in body
    assert "Viewer" in body
    assert "secret plan" not in body


def test_the_list_filters_and_searches(client_for, owner):
    make_plan(owner, title="Payments cutover", environment="production")
    make_plan(owner, title="Search reindex", release_version="9.1-rc2")
    client = client_for(owner)

    production = client.get(reverse("planning:plan_list"), {"environment": "production"})
    assert "Payments cutover" in production.content.decode()
    assert "Search reindex" not in production.content.decode()

    by_release = client.get(reverse("planning:plan_list"), {"q": "9.1-RC"})
    assert "Search reindex" in by_release.content.decode()
    assert "Payments cutover" not in by_release.content.decode()

    nothing = client.get(reverse("planning:plan_list"), {"status": "deployed"})
    assert "No plans match these filters" in nothing.content.decode()


def test_archived_plans_leave_the_list_and_can_be_shown(client_for, plan, owner):
    services.plan_archive(plan=plan)
    client = client_for(owner)
    assert "Checkout service rollout" not in client.get("/plans/").content.decode()
    archived = client.get("/plans/", {"archived": "on"}).content.decode()
    assert "Checkout service rollout" in archived


def test_the_list_ignores_filter_values_it_does_not_know(client_for, plan, owner):
    response = client_for(owner).get("/plans/", {"environment": "moon", "page": "abc"})
    assert response.status_code == 200
    assert "Checkout service rollout" in response.content.decode()


def test_a_newcomer_sees_what_to_do_first(client_for, outsider):
    body = client_for(outsider).get("/plans/").content.decode()
    assert "You are not part of any deployment plan yet" in body
    assert reverse("planning:plan_create") in body


@pytest.mark.parametrize("count", [5, 50])
def test_the_list_costs_the_same_queries_for_5_plans_as_for_50(
    client_for, owner, django_assert_num_queries, settings, count
):
    settings.PLANS_PER_PAGE = 100
    for number in range(count):
        make_plan(owner, title=f"Plan {number}")
    client = client_for(owner)
    client.get("/plans/")  # the session and the user are loaded and cached once
    # the user, the page's count, the page's rows, the page's latest decisions and required
    # roles and open documentation sign-offs, the bell's unread count (the session comes from
    # the Redis cache)
    with django_assert_num_queries(7):
        response = client.get("/plans/")
    assert response.content.decode().count("/plans/") >= count


# Create and edit


def test_it_creates_a_plan_and_makes_me_its_owner(client_for, outsider):
    response = client_for(outsider).post(
        reverse("planning:plan_create"),
        {
            "playbook": default_playbook().pk,
            "title": "  Ledger migration ",
            "release_version": "2.0.0",
            "environment": "production",
            "week1_start": "2026-12-07",
            "target_go_live": "2027-01-04",
            "description": "Move the ledger to the new cluster.",
        },
    )
    plan = DeploymentPlan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("planning:plan_detail", args=[plan.pk])
    assert plan.title == "Ledger migration"
    assert plan.memberships.get().role == "owner"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": ""}, "title", "This field is required."),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
        ({"release_version": "   "}, "release_version", "This field is required."),
        ({"environment": "moon"}, "environment", "Select a valid choice"),
        ({"week1_start": "31/31/2026"}, "week1_start", "Enter a valid date"),
        ({"target_go_live": "2026-12-01"}, "target_go_live", "cannot be before week 1"),
        ({"description": "d" * 5001}, "description", "at most 5000 characters"),
        ({"playbook": "999999"}, "playbook", "Select a valid choice"),
        (
            {"week1_start": "9999-12-01", "target_go_live": "9999-12-31"},
            "week1_start",
            "before 2101",
        ),
        ({"playbook": "abc"}, "playbook", "Select a valid choice"),
    ],
)
def test_bad_input_shows_the_field_error_and_creates_nothing(
    client_for, outsider, data, field, message
):
    valid = {
        "playbook": default_playbook().pk,
        "title": "Ledger migration",
        "release_version": "2.0.0",
        "environment": "production",
        "week1_start": "2026-12-07",
        "target_go_live": "2027-01-04",
    }
    response = client_for(outsider).post(reverse("planning:plan_create"), {**valid, **data})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not DeploymentPlan.objects.exists()


def test_an_editor_edits_the_header(client_for, plan, editor):
    response = client_for(editor).post(
        reverse("planning:plan_edit", args=[plan.pk]),
        {
            "title": "Checkout service rollout",
            "release_version": "4.4.1",
            "environment": "production",
            "week1_start": "2026-11-02",
            "target_go_live": "2026-12-01",
        },
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert (plan.release_version, plan.environment) == ("4.4.1", "production")


def test_an_archived_plan_cannot_be_edited(client_for, plan, owner):
    services.plan_archive(plan=plan)
    response = client_for(owner).post(
        reverse("planning:plan_edit", args=[plan.pk]), {"title": "Changed"}, follow=True
    )
    assert "archived" in response.content.decode()
    assert DeploymentPlan.objects.get(pk=plan.pk).title == "Checkout service rollout"


def test_the_owner_archives_and_restores(client_for, plan, owner):
    client = client_for(owner)
    client.post(reverse("planning:plan_archive", args=[plan.pk]))
    assert DeploymentPlan.objects.get(pk=plan.pk).archived_at is not None
    client.post(reverse("planning:plan_restore", args=[plan.pk]))
    assert DeploymentPlan.objects.get(pk=plan.pk).archived_at is None


def test_the_plan_page_shows_the_header_and_its_panels(client_for, plan, viewer):
    body = client_for(viewer).get(reverse("planning:plan_detail", args=[plan.pk])).content
    body = body.decode()
    for text in (
        "Checkout service rollout",
        "4.4.0",
        "Staging",
        "Four-week plan",
        "Checklists",
        "Readiness",
        "Sign-offs",
        "Members",
    ):
        assert text in body
    assert "Add a member" not in body  # a viewer manages nobody
    assert reverse("planning:plan_edit", args=[plan.pk]) not in body


def test_user_text_is_escaped_on_the_plan_page(client_for, owner):
    plan = make_plan(owner, title="<script>alert(1)</script>", description="<img src=x>")
    body = client_for(owner).get(reverse("planning:plan_detail", args=[plan.pk])).content
    assert b"<script>alert(1)</script>" not in body
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert b"<img src=x>" not in body


# Members


def test_the_owner_invites_an_address_and_it_is_listed_as_pending(
    client_for, plan, owner, outsider, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(owner).post(
            reverse("planning:member_add", args=[plan.pk]),
            {"email": f"  {outsider.email.upper()} ", "role": "viewer"},
        )
    assert response.status_code == 302
    # Invited, not added: they join once they accept.
    assert not plan.memberships.filter(user=outsider).exists()
    invitation = plan.invitations.get(email=outsider.email.upper())
    assert (invitation.role, invitation.invited_by) == ("viewer", owner)
    assert invitation.state == "pending"
    # the invitation email is queued once the change is committed, and open pages refresh
    assert len(callbacks) == 2
    page = client_for(owner).get(reverse("planning:plan_detail", args=[plan.pk])).content.decode()
    assert "Invitations" in page
    assert outsider.email.upper() in page


def test_the_owner_is_told_the_same_whether_or_not_the_address_has_an_account(
    client_for, plan, owner, outsider
):
    client = client_for(owner)
    for email in (outsider.email, "nobody-here@example.com"):
        response = client.post(
            reverse("planning:member_add", args=[plan.pk]), {"email": email, "role": "editor"}
        )
        assert response.status_code == 302
        page = client.get(response["Location"])
        [message] = [str(m) for m in page.context["messages"]]
        assert message == (
            f"Invitation sent to {email} as editor. They join the plan once they accept it."
        )
        row = page.content.decode().split(f"<td>{email}</td>", 1)[1].split("</tr>", 1)[0]
        assert "Pending" in row
    # Neither is a member yet; both wait the same way.
    assert not plan.memberships.filter(user=outsider).exists()
    assert plan.invitations.filter(withdrawn_at=None, accepted_at=None).count() == 3


def test_inviting_an_address_again_replaces_its_invitation(client_for, plan, owner):
    old = plan.invitations.get(email=INVITED)
    response = client_for(owner).post(
        reverse("planning:member_add", args=[plan.pk]), {"email": INVITED, "role": "editor"}
    )
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.state == "withdrawn"
    new = plan.invitations.get(email=INVITED, withdrawn_at=None)
    assert new.role == "editor"
    assert new.token != old.token


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email", "role": "viewer"}, "Enter a valid email address"),
        ({"email": "", "role": "viewer"}, "This field is required"),
        ({"email": "vera@example.com", "role": "viewer"}, "already a member"),
        ({"email": "VERA@example.com ", "role": "owner"}, "already a member"),
        ({"email": "oscar@example.com", "role": "superuser"}, "Select a valid choice"),
        ({"email": "a@example.com\r\nBcc: b@example.com", "role": "viewer"}, "valid email"),
    ],
)
def test_inviting_refuses_bad_input(client_for, plan, owner, outsider, data, message):
    before = snapshot(plan)
    response = client_for(owner).post(reverse("planning:member_add", args=[plan.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert snapshot(plan) == before


def test_inviting_with_htmx_returns_the_panel(client_for, plan, owner, outsider):
    response = client_for(owner).post(
        reverse("planning:member_add", args=[plan.pk]),
        {"email": outsider.email, "role": "editor"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert f"Invitation sent to {outsider.email} as editor" in body
    assert "Withdraw" in body


def test_the_owner_withdraws_an_invitation(client_for, plan, owner):
    invitation = plan.invitations.get(email=INVITED)
    url = reverse("planning:invitation_withdraw", args=[plan.pk, invitation.pk])
    response = client_for(owner).post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert f"Invitation of {INVITED} withdrawn" in body
    invitation.refresh_from_db()
    assert invitation.state == "withdrawn"
    # Withdrawn twice: told so, and nothing changes.
    again = client_for(owner).post(url)
    assert again.status_code == 400
    assert "already accepted or withdrawn" in again.content.decode()


def test_only_owners_see_the_pending_invitations(client_for, plan, editor):
    page = client_for(editor).get(reverse("planning:plan_detail", args=[plan.pk]))
    assert INVITED not in page.content.decode()


def test_the_owner_changes_a_role(client_for, plan, owner, viewer, membership_of):
    response = client_for(owner).post(
        reverse("planning:member_role", args=[plan.pk, membership_of(plan, viewer).pk]),
        {"role": "editor"},
    )
    assert response.status_code == 302
    assert membership_of(plan, viewer).role == "editor"


def test_a_role_that_is_not_one_of_the_three_is_refused(
    client_for, plan, owner, viewer, membership_of
):
    response = client_for(owner).post(
        reverse("planning:member_role", args=[plan.pk, membership_of(plan, viewer).pk]),
        {"role": "god"},
    )
    assert response.status_code == 400
    assert membership_of(plan, viewer).role == "viewer"


def test_the_last_owner_cannot_demote_or_remove_themselves(client_for, plan, owner, membership_of):
    client = client_for(owner)
    mine = membership_of(plan, owner)
    demote = client.post(
        reverse("planning:member_role", args=[plan.pk, mine.pk]), {"role": "viewer"}
    )
    remove = client.post(reverse("planning:member_remove", args=[plan.pk, mine.pk]))
    assert demote.status_code == remove.status_code == 400
    assert "last owner" in remove.content.decode()
    assert membership_of(plan, owner).role == "owner"


def test_a_removed_member_loses_access(client_for, plan, owner, editor, membership_of):
    client_for(owner).post(
        reverse("planning:member_remove", args=[plan.pk, membership_of(plan, editor).pk])
    )
    assert (
        client_for(editor).get(reverse("planning:plan_detail", args=[plan.pk])).status_code == 404
    )
    assert mail.outbox == []
