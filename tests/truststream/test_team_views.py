"""Who may do what with teams: everybody signed in reads them, an admin creates them, an admin
or the team's maintainers change its members."""

import pytest
from django.urls import reverse

from planning import services as planning_services
from tests.factories import UserFactory, make_plan
from truststream import services
from truststream.models import Team, TeamMembership


@pytest.fixture
def admin(db):
    return UserFactory(username="ada", is_staff=True)


@pytest.fixture
def team(admin):
    return services.team_create(actor=admin, name="Security", sso_group="sec")


@pytest.fixture
def maintainer(team, admin):
    person = UserFactory(username="mia")
    services.team_member_add(team=team, actor=admin, email=person.email, role="maintainer")
    return person


@pytest.fixture
def member(team, admin):
    person = UserFactory(username="max")
    services.team_member_add(team=team, actor=admin, email=person.email, role="member")
    return person


def member_urls(team):
    membership = team.memberships.get(user__username="max")
    return {
        "add": reverse("team_member_add", args=[team.slug]),
        "role": reverse("team_member_role", args=[team.slug, membership.pk]),
        "remove": reverse("team_member_remove", args=[team.slug, membership.pk]),
    }


def test_anonymous_people_are_sent_to_log_in(client_for, team, member):
    client = client_for(None)
    for url in (reverse("team_list"), reverse("team_detail", args=[team.slug])):
        assert client.get(url)["Location"].startswith(reverse("account_login"))
    for url in member_urls(team).values():
        assert client.post(url, {"email": "x@example.com", "role": "member"}).status_code == 302
    assert TeamMembership.objects.count() == 1


@pytest.mark.parametrize("who", ["outsider", "member", "maintainer", "admin"])
def test_everybody_signed_in_reads_the_teams(client_for, request, team, member, who):
    client = client_for(request.getfixturevalue(who))
    page = client.get(reverse("team_list")).content.decode()
    assert reverse("team_detail", args=[team.slug]) in page
    assert ("Create a team" in page) is (who == "admin")
    page = client.get(reverse("team_detail", args=[team.slug])).content.decode()
    assert "max@example.com" in page or member.get_full_name() in page
    assert ("Add member" in page) is (who in ("maintainer", "admin"))


def test_only_an_admin_creates_a_team(client_for, outsider, admin):
    response = client_for(outsider).post(reverse("team_list"), {"name": "SRE"})
    assert response.status_code == 403
    response = client_for(admin).post(reverse("team_list"), {"name": "SRE", "sso_group": "sre"})
    assert response["Location"] == reverse("team_detail", args=["sre"])
    assert Team.objects.get(slug="sre").sso_group == "sre"


@pytest.mark.parametrize(
    ("sent", "error"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "Security"}, "A team with this name exists already."),
        ({"name": "x" * 101}, "Ensure this value has at most 100 characters"),
        ({"name": "Two\nlines"}, "one line"),
        ({"name": "Other", "sso_group": "sec"}, "Another team is mapped to this SSO group."),
        ({"name": "!!!"}, "short name"),
    ],
)
def test_bad_team_input_shows_the_field_error(client_for, admin, team, sent, error):
    response = client_for(admin).post(reverse("team_list"), sent)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert Team.objects.count() == 1


def test_an_unknown_team_is_404(client_for, outsider, admin):
    assert client_for(outsider).get(reverse("team_detail", args=["nope"])).status_code == 404
    url = reverse("team_member_add", args=["nope"])
    assert client_for(admin).post(url, {"email": "x@example.com"}).status_code == 404


@pytest.mark.parametrize("who", ["outsider", "member"])
def test_people_who_do_not_maintain_the_team_cannot_change_it(
    client_for, request, team, member, who
):
    client = client_for(request.getfixturevalue(who))
    urls = member_urls(team)
    assert client.post(urls["add"], {"email": "x@example.com", "role": "member"}).status_code == 403
    assert client.post(urls["role"], {"role": "maintainer"}).status_code == 403
    assert client.post(urls["remove"]).status_code == 403
    assert list(team.memberships.values_list("user__username", "role")) == [("max", "member")]


@pytest.mark.parametrize("who", ["maintainer", "admin"])
def test_maintainers_and_admins_add_change_and_remove_members(
    client_for, request, team, member, outsider, who
):
    client = client_for(request.getfixturevalue(who))
    urls = member_urls(team)
    response = client.post(urls["add"], {"email": outsider.email, "role": "member"})
    assert response["Location"] == reverse("team_detail", args=[team.slug])
    assert client.post(urls["role"], {"role": "maintainer"}).status_code == 302
    assert team.memberships.get(user=member).role == "maintainer"
    assert client.post(urls["role"], {"role": "owner"}).status_code == 400
    assert client.post(urls["remove"]).status_code == 302
    assert not team.memberships.filter(user=member).exists()
    assert team.memberships.filter(user=outsider).exists()


@pytest.mark.parametrize(
    ("email", "error"),
    [
        ("nobody@example.com", "No account has this email address."),
        ("not an address", "Enter a valid email address."),
        ("max@example.com", "already a member of this team"),
    ],
)
def test_bad_member_input_shows_the_field_error(client_for, team, member, maintainer, email, error):
    response = client_for(maintainer).post(
        reverse("team_member_add", args=[team.slug]), {"email": email, "role": "member"}
    )
    assert response.status_code == 400
    assert error in response.content.decode()


def test_a_membership_of_another_team_is_404(client_for, team, member, maintainer, admin):
    other = services.team_create(actor=admin, name="Platform")
    membership = team.memberships.get(user=member)
    url = reverse("team_member_remove", args=[other.slug, membership.pk])
    assert client_for(admin).post(url).status_code == 404
    assert team.memberships.filter(user=member).exists()


def test_the_team_page_shows_only_the_plans_its_reader_may_open(
    client_for, team, member, outsider, owner
):
    shown = make_plan(owner, title="Payments rollout")
    planning_services.plan_team_add(plan=shown, actor=owner, team=team, role="viewer")
    hidden = make_plan(owner, title="Secret merger")
    planning_services.plan_team_add(plan=hidden, actor=owner, team=team, role="viewer")
    planning_services.plan_team_remove(plan_team=hidden.plan_teams.get())

    page = client_for(member).get(reverse("team_detail", args=[team.slug])).content.decode()
    assert "Payments rollout" in page and "Secret merger" not in page
    page = client_for(outsider).get(reverse("team_detail", args=[team.slug])).content.decode()
    assert "Payments rollout" not in page
    assert "is a member of none of the plans you can open" in page
