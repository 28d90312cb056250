"""Who may use each of a plan's planning URLs (the harness is tests/access.py)."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from guardian.shortcuts import assign_perm, get_perms

from planning import services
from planning.access import get_plan_for_user
from tests.access import ANY_CHANGE, PlanAccessTests, PlanURL, database_state
from tests.factories import make_plan
from truststream import services as team_services

INVITED = "ivy@example.com"


def viewer_membership(plan):
    return [plan.memberships.get(role="viewer").pk]


def invitation(plan):
    return [plan.invitations.get(email=INVITED).pk]


def plan_team(plan):
    return [plan.plan_teams.get().pk]


def add_team(plan, actor, name):
    team = team_services.team_create(actor=actor, name=name)
    services.plan_team_add(plan=plan, actor=actor, team=team, role="viewer")


def first_phase(plan):
    return [plan.phases.get(number=1).pk]


def first_task(plan):
    return [plan.tasks.order_by("id").first().pk]


def first_document(plan):
    return [plan.documents.order_by("id").first().pk]


def optional_document(plan):
    return [plan.documents.get(key="multi-cloud-strategy").pk]


def first_contact(plan):
    return [plan.support_contacts.order_by("id").first().pk]


def performance(plan):
    return ["performance"]


URLS = [
    PlanURL("planning:plan_detail", "get", "view"),
    PlanURL("planning:plan_edit", "get", "change"),
    PlanURL("planning:plan_edit", "post", "change"),
    PlanURL("planning:plan_next", "get", "change"),
    PlanURL("planning:plan_next", "post", "change"),
    PlanURL("planning:plan_archive", "post", "manage"),
    PlanURL("planning:plan_restore", "post", "manage"),
    PlanURL("planning:member_add", "post", "manage"),
    PlanURL("planning:member_role", "post", "manage", viewer_membership),
    PlanURL("planning:member_remove", "post", "manage", viewer_membership),
    PlanURL("planning:invitation_withdraw", "post", "manage", invitation),
    PlanURL("planning:plan_team_add", "post", "manage"),
    PlanURL("planning:plan_team_role", "post", "manage", plan_team),
    PlanURL("planning:plan_team_remove", "post", "manage", plan_team),
    PlanURL("planning:board", "get", "view"),
    PlanURL("planning:live", "get", "view", signed_out_reloads=True),
    PlanURL("planning:activity", "get", "view"),
    PlanURL("planning:audit", "get", "view"),
    PlanURL("planning:audit_csv", "get", "view"),
    PlanURL("planning:task_add", "post", "change", first_phase),
    PlanURL("planning:task_edit", "get", "view", first_task),
    PlanURL("planning:task_edit", "post", "change", first_task),
    PlanURL("planning:task_status", "post", "change", first_task),
    PlanURL("planning:task_move", "post", "change", first_task),
    PlanURL("planning:task_delete", "post", "change", first_task),
    PlanURL("planning:documents", "get", "view"),
    PlanURL("planning:document_edit", "get", "change", first_document),
    PlanURL("planning:document_edit", "post", "change", first_document),
    PlanURL("planning:document_include", "post", "change", optional_document),
    PlanURL("planning:contacts", "get", "view"),
    PlanURL("planning:contact_add", "post", "change"),
    PlanURL("planning:contact_edit", "get", "change", first_contact),
    PlanURL("planning:contact_edit", "post", "change", first_contact),
    PlanURL("planning:contact_delete", "post", "change", first_contact),
    PlanURL("planning:requirements", "get", "view", performance),
    PlanURL("planning:requirement_save", "post", "change", performance),
    PlanURL("planning:requirement_export", "get", "view", performance),
    PlanURL("planning:requirement_import", "post", "change", performance),
]


@pytest.fixture
def plan(plan, owner):
    """The shared plan, with an invitation and a team in play for the URLs that act on one."""
    services.invitation_create(plan=plan, actor=owner, email=INVITED, role="viewer")
    add_team(plan, owner, "Platform")
    return plan


class TestPlanningAccess(PlanAccessTests):
    urls = URLS


# A part of another plan (a membership, a task, ...) is not found through this one.
OF_ANOTHER_PLAN = [url for url in URLS if url.parts not in (None, performance)]


@pytest.mark.parametrize("url", OF_ANOTHER_PLAN, ids=str)
def test_an_id_of_another_plans_part_is_404(client_for, plan, owner, outsider, url):
    other = make_plan(outsider, title="Someone else's")
    services.membership_add(plan=other, actor=outsider, email="vera@example.com", role="viewer")
    services.invitation_create(plan=other, actor=outsider, email=INVITED, role="viewer")
    add_team(other, outsider, "Security")
    before = database_state()
    address = reverse(url.name, args=[plan.pk, *url.parts(other)])
    response = getattr(client_for(owner), url.method)(address, ANY_CHANGE)
    assert response.status_code == 404
    assert database_state() == before


def test_the_one_query_read_of_permissions_is_guardians_answer(
    plan, owner, editor, viewer, outsider
):
    """get_plan_for_user reads guardian's tables itself, in the query that loads the plan."""

    def read(user):
        return get_plan_for_user(user, plan.pk).permissions

    for member in (owner, editor, viewer):
        assert read(member) == frozenset(get_perms(member, plan))
    team = Group.objects.create(name="Release team")
    outsider.groups.add(team)
    assign_perm("view_deploymentplan", team, plan)
    assert read(outsider) == frozenset(get_perms(outsider, plan)) == {"view_deploymentplan"}
    outsider.is_superuser = True
    outsider.save()
    assert read(outsider) == frozenset(get_perms(outsider, plan))
