"""Teams as members of a plan: their rights through guardian's group permissions, and what
leaving gives up."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from planning import access, services
from planning.models import PlanTeam
from planning.selectors import plan_people
from signoffs import services as signoff_services
from signoffs.models import Signoff
from tests.factories import UserFactory, make_plan
from tests.signoffs.test_signoffs import sign
from truststream import services as team_services


@pytest.fixture
def admin(db):
    return UserFactory(username="ada", is_staff=True)


@pytest.fixture
def security(admin):
    return team_services.team_create(actor=admin, name="Security")


@pytest.fixture
def sam(security, admin):
    """A member of the Security team, not of any plan in their own right."""
    sam = UserFactory(username="sam")
    team_services.team_member_add(team=security, actor=admin, email=sam.email, role="member")
    return sam


def held(user, plan):
    try:
        return access.get_plan_for_user(user, plan.pk).permissions
    except Http404:
        return "404"


def test_a_teams_members_hold_its_role_on_the_plan(plan, owner, security, sam):
    assert held(sam, plan) == "404"
    services.plan_team_add(plan=plan, actor=owner, team=security, role="editor")
    assert held(sam, plan) == {access.VIEW, access.CHANGE}
    with pytest.raises(PermissionDenied):
        access.get_plan_for_user(sam, plan.pk, access.MANAGE)


def test_a_person_holds_the_highest_of_their_own_role_and_their_teams(
    plan, owner, viewer, security, admin
):
    team_services.team_member_add(team=security, actor=admin, email=viewer.email, role="member")
    plan_team = services.plan_team_add(plan=plan, actor=owner, team=security, role="owner")
    assert held(viewer, plan) == set(access.ALL_PERMISSIONS)
    services.plan_team_change_role(plan_team=plan_team, role="viewer")
    assert held(viewer, plan) == {access.VIEW}


def test_a_teams_role_on_one_plan_gives_nothing_on_another(plan, owner, security, sam):
    other = make_plan(owner, title="Other plan")
    services.plan_team_add(plan=plan, actor=owner, team=security, role="owner")
    assert held(sam, other) == "404"


def test_it_refuses_a_team_twice_and_an_unknown_role(plan, owner, security):
    services.plan_team_add(plan=plan, actor=owner, team=security, role="viewer")
    with pytest.raises(ValidationError) as caught:
        services.plan_team_add(plan=plan, actor=owner, team=security, role="editor")
    assert "Security is already a member of this plan." in str(caught.value)
    with pytest.raises(ValidationError):
        services.plan_team_change_role(plan_team=PlanTeam.objects.get(), role="admin")
    assert PlanTeam.objects.get().role == "viewer"


def test_leaving_the_team_removes_the_rights_it_gave(plan, owner, security, sam):
    services.plan_team_add(plan=plan, actor=owner, team=security, role="editor")
    team_services.team_member_remove(membership=sam.team_memberships.get())
    assert held(sam, plan) == "404"
    assert sam not in plan_people(plan)


def test_a_team_member_may_hold_a_role_and_loses_it_with_the_team(plan, owner, security, sam):
    services.plan_team_add(plan=plan, actor=owner, team=security, role="viewer")
    requirement = plan.roles.get(role="security_officer")
    signoff_services.role_assign(requirement=requirement, assignee=sam)
    sign(plan, "security_officer", sam)

    team_services.team_member_remove(membership=sam.team_memberships.get())

    requirement.refresh_from_db()
    assert requirement.assignee is None
    # The signature stays on record; it no longer counts, as nobody holds the role.
    assert Signoff.objects.filter(signer=sam, requirement=requirement).exists()


def test_taking_the_team_off_the_plan_releases_its_members_work(plan, owner, security, sam):
    plan_team = services.plan_team_add(plan=plan, actor=owner, team=security, role="editor")
    task = plan.tasks.first()
    services.task_update(task=task, actor=owner, assignee=sam)
    signoff_services.role_assign(requirement=plan.roles.get(role="technical_lead"), assignee=sam)

    services.plan_team_remove(plan_team=plan_team)

    task.refresh_from_db()
    assert task.assignee is None
    assert plan.roles.get(role="technical_lead").assignee is None
    assert held(sam, plan) == "404"


def test_someone_still_in_the_plan_otherwise_keeps_their_work(plan, owner, editor, security, admin):
    team_services.team_member_add(team=security, actor=admin, email=editor.email, role="member")
    services.plan_team_add(plan=plan, actor=owner, team=security, role="viewer")
    signoff_services.role_assign(requirement=plan.roles.get(role="technical_lead"), assignee=editor)

    # Leaving the team: still a member in their own right.
    team_services.team_member_remove(membership=editor.team_memberships.get())
    assert plan.roles.get(role="technical_lead").assignee == editor

    # Leaving the plan themselves while a team still lets them in: the team's rights remain.
    team_services.team_member_add(team=security, actor=admin, email=editor.email, role="member")
    services.membership_remove(membership=plan.memberships.get(user=editor))
    assert plan.roles.get(role="technical_lead").assignee == editor
    assert held(editor, plan) == {access.VIEW}


def test_the_plans_activity_tells_of_its_teams(plan, owner, security):
    from truststream import activity

    plan_team = services.plan_team_add(plan=plan, actor=owner, team=security, role="viewer")
    services.plan_team_change_role(plan_team=plan_team, role="editor")
    services.plan_team_remove(plan_team=plan_team)
    entries = activity.describe(activity.plan_activity(plan.pk, kind="members"), plan_id=plan.pk)
    # One test is one transaction: its events share a time, so their order is not compared.
    actions = {entry.action for entry in entries if "team" in entry.action}
    assert actions == {
        "removed the team 'Security' from the plan",
        "changed the role of the team 'Security' to editor",
        "added the team 'Security' as viewer",
    }


def test_the_plan_list_shows_team_plans_with_the_highest_role(plan, owner, viewer, security, sam):
    from planning.selectors import plans_for_user

    team_services.team_member_add(team=security, actor=owner, email=viewer.email, role="member")
    services.plan_team_add(plan=plan, actor=owner, team=security, role="editor")
    assert [(p.pk, p.my_role) for p in plans_for_user(sam)] == [(plan.pk, "editor")]
    assert [(p.pk, p.my_role) for p in plans_for_user(viewer)] == [(plan.pk, "editor")]
    assert [(p.pk, p.my_role) for p in plans_for_user(owner)] == [(plan.pk, "owner")]


def test_my_work_lists_a_team_members_tasks_until_they_leave(plan, owner, security, sam):
    from planning.selectors import open_tasks_of

    services.plan_team_add(plan=plan, actor=owner, team=security, role="editor")
    task = plan.tasks.order_by("pk").first()
    services.task_update(task=task, actor=owner, assignee=sam)
    assert [t.pk for t in open_tasks_of(sam)] == [task.pk]
    team_services.team_member_remove(membership=sam.team_memberships.get())
    assert open_tasks_of(sam) == []
