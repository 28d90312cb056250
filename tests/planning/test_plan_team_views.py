"""The members panel's teams: shown beside people, added, changed and taken off by owners."""

import pytest
from django.urls import reverse

from planning import services
from planning.models import PlanTeam
from tests.factories import UserFactory
from truststream import services as team_services


@pytest.fixture
def security(owner):
    team = team_services.team_create(actor=owner, name="Security")
    for name in ("sam", "sid"):
        person = UserFactory(username=name)
        team_services.team_member_add(team=team, actor=owner, email=person.email, role="member")
    return team


def overview(client, plan):
    return client.get(reverse("planning:plan_detail", args=[plan.pk])).content.decode()


def test_every_member_sees_the_team_beside_the_people(client_for, plan, viewer, owner, security):
    services.plan_team_add(plan=plan, actor=owner, team=security, role="editor")
    page = overview(client_for(viewer), plan)
    assert reverse("team_detail", args=["security"]) in page
    assert 'Security</a> <span class="badge badge-muted">team</span>' in page
    assert 'data-label="Role">Editor</td>' in page
    assert "Add team" not in page  # a viewer manages nothing


def test_an_owner_adds_a_team_with_a_role(client_for, plan, owner, security):
    client = client_for(owner)
    assert "Add team" in overview(client, plan)
    response = client.post(
        reverse("planning:plan_team_add", args=[plan.pk]),
        {"team-team": security.pk, "team-role": "editor"},
    )
    assert response.status_code == 302
    assert PlanTeam.objects.get(plan=plan).role == "editor"


@pytest.mark.parametrize(
    ("sent", "error"),
    [
        ({"team-team": "999999", "team-role": "editor"}, "Choose a team that is not on this plan"),
        (
            {"team-team": "x" * 5000, "team-role": "editor"},
            "Choose a team that is not on this plan",
        ),
        ({"team-role": "editor"}, "This field is required."),
        ({"team-team": "{security}", "team-role": "boss"}, "Select a valid choice."),
    ],
)
def test_bad_team_input_shows_the_field_error(client_for, plan, owner, security, sent, error):
    sent = {key: value.format(security=security.pk) for key, value in sent.items()}
    response = client_for(owner).post(reverse("planning:plan_team_add", args=[plan.pk]), sent)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not PlanTeam.objects.exists()


def test_a_team_already_on_the_plan_is_not_offered_again(client_for, plan, owner, security):
    services.plan_team_add(plan=plan, actor=owner, team=security, role="viewer")
    response = client_for(owner).post(
        reverse("planning:plan_team_add", args=[plan.pk]),
        {"team-team": security.pk, "team-role": "owner"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200  # the panel, for htmx, with the error in it
    assert "Choose a team that is not on this plan yet." in response.content.decode()
    assert PlanTeam.objects.get().role == "viewer"


def test_an_owner_changes_the_teams_role_and_takes_it_off(client_for, plan, owner, security):
    plan_team = services.plan_team_add(plan=plan, actor=owner, team=security, role="viewer")
    client = client_for(owner)
    response = client.post(
        reverse("planning:plan_team_role", args=[plan.pk, plan_team.pk]), {"role": "owner"}
    )
    assert response.status_code == 302
    assert PlanTeam.objects.get().role == "owner"
    response = client.post(reverse("planning:plan_team_role", args=[plan.pk, plan_team.pk]), {})
    assert response.status_code == 400
    response = client.post(reverse("planning:plan_team_remove", args=[plan.pk, plan_team.pk]))
    assert response["Location"] == reverse("planning:plan_detail", args=[plan.pk])
    assert not PlanTeam.objects.exists()


def test_an_owner_through_a_team_who_takes_it_off_goes_to_the_plan_list(
    client_for, plan, owner, security
):
    sam = security.memberships.get(user__username="sam").user
    plan_team = services.plan_team_add(plan=plan, actor=owner, team=security, role="owner")
    response = client_for(sam).post(
        reverse("planning:plan_team_remove", args=[plan.pk, plan_team.pk]),
        headers={"HX-Request": "true"},
    )
    assert response["HX-Redirect"] == reverse("planning:plan_list")
    assert client_for(sam).get(reverse("planning:plan_detail", args=[plan.pk])).status_code == 404


@pytest.mark.parametrize("teams", [1, 5])
def test_the_overview_costs_the_same_queries_with_one_team_or_five(
    client_for, plan, owner, editor, django_assert_num_queries, teams
):
    for number in range(teams):
        team = team_services.team_create(actor=owner, name=f"Team {number}")
        for person in range(3):
            member = UserFactory(username=f"t{number}p{person}")
            team_services.team_member_add(team=team, actor=owner, email=member.email, role="member")
        team_services.team_member_add(team=team, actor=owner, email=editor.email, role="member")
        services.plan_team_add(plan=plan, actor=owner, team=team, role="viewer")
    client = client_for(editor)
    url = reverse("planning:plan_detail", args=[plan.pk])
    client.get(url)
    # As tests/checklists/test_views.py pins it for an editor, and the plan's teams.
    with django_assert_num_queries(21):
        assert client.get(url).status_code == 200
