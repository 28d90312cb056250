"""Teams: their members and the guardian group they hold their rights through."""

import pytest
from django.core.exceptions import ValidationError

from tests.factories import UserFactory
from truststream import services
from truststream.models import Team, TeamMembership


@pytest.fixture
def admin(db):
    return UserFactory(username="ada", is_staff=True)


@pytest.fixture
def team(admin):
    return services.team_create(actor=admin, name="Security", sso_group="sec-reviewers")


def test_it_makes_a_team_with_its_own_group(team, admin):
    assert team.slug == "security"
    assert team.group.name == "team:security"
    assert team.created_by == admin


def test_it_refuses_a_second_team_of_the_same_name(team, admin):
    with pytest.raises(ValidationError) as caught:
        services.team_create(actor=admin, name="security")
    assert "A team with this name exists already." in str(caught.value)
    assert Team.objects.count() == 1


def test_it_refuses_a_second_team_on_the_same_sso_group(team, admin):
    with pytest.raises(ValidationError) as caught:
        services.team_create(actor=admin, name="Security two", sso_group="sec-reviewers")
    assert "sso_group" in caught.value.message_dict


def test_it_refuses_an_empty_or_multiline_name(admin):
    with pytest.raises(ValidationError):
        services.team_create(actor=admin, name="   ")
    with pytest.raises(ValidationError):
        services.team_create(actor=admin, name="Ops\nteam")
    assert not Team.objects.exists()


def test_a_member_joins_the_teams_group_and_leaves_it(team, admin, editor):
    membership = services.team_member_add(
        team=team, actor=admin, email=editor.email.upper(), role="member"
    )
    assert list(editor.groups.all()) == [team.group]
    services.team_member_remove(membership=membership)
    assert not editor.groups.exists()
    assert not TeamMembership.objects.exists()


def test_it_refuses_someone_twice_or_an_unknown_address(team, admin, editor):
    services.team_member_add(team=team, actor=admin, email=editor.email, role="member")
    with pytest.raises(ValidationError) as caught:
        services.team_member_add(team=team, actor=admin, email=editor.email, role="maintainer")
    assert "already a member of this team" in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        services.team_member_add(team=team, actor=admin, email="nobody@example.com", role="member")
    assert "No account has this email address." in str(caught.value)
    with pytest.raises(ValidationError):
        services.team_member_add(team=team, actor=admin, email=admin.email, role="boss")


def test_the_events_of_teams_are_recorded_and_append_only(team, admin, editor):
    from django.db import connection

    membership = services.team_member_add(team=team, actor=admin, email=editor.email, role="member")
    services.team_member_change_role(membership=membership, role="maintainer")
    services.team_member_remove(membership=membership)
    events = list(
        TeamMembership.pgh_event_model.objects.order_by("pgh_id").values_list("pgh_label", "role")
    )
    assert events == [("insert", "member"), ("update", "maintainer"), ("delete", "maintainer")]
    with pytest.raises(Exception, match=r"append_only|Cannot"), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TeamMembership.pgh_event_model._meta.db_table}")


def test_sign_in_groups_add_and_remove_only_what_sign_in_added(team, admin, editor):
    platform = services.team_create(actor=admin, name="Platform", sso_group="platform")
    sre = services.team_create(actor=admin, name="SRE")
    services.team_member_add(team=sre, actor=admin, email=editor.email, role="member")

    services.team_memberships_sync(user=editor, groups=["sec-reviewers", "platform", "unknown"])
    teams = dict(editor.team_memberships.values_list("team__name", "source"))
    assert teams == {"Security": "sso", "Platform": "sso", "SRE": "manual"}

    services.team_memberships_sync(user=editor, groups=["platform"])
    teams = dict(editor.team_memberships.values_list("team__name", "source"))
    assert teams == {"Platform": "sso", "SRE": "manual"}
    assert set(editor.groups.all()) == {platform.group, sre.group}
