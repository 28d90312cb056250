import datetime

import pytest
from django.core.exceptions import ValidationError
from guardian.shortcuts import get_perms

from planning import services
from planning.models import DeploymentPlan, PlanMembership
from tests.factories import make_plan


def test_it_makes_the_creator_the_owner_with_every_permission(owner):
    plan = make_plan(owner)

    membership = PlanMembership.objects.get(plan=plan)
    assert membership.user == owner
    assert membership.role == "owner"
    assert set(get_perms(owner, plan)) == {
        "view_deploymentplan",
        "change_deploymentplan",
        "manage_deploymentplan",
    }


def test_it_refuses_a_go_live_before_week_one(owner):
    with pytest.raises(ValidationError) as caught:
        make_plan(
            owner,
            week1_start=datetime.date(2026, 12, 7),
            target_go_live=datetime.date(2026, 12, 1),
        )
    assert "target go-live date cannot be before week 1" in str(caught.value)
    assert not DeploymentPlan.objects.exists()


def test_it_refuses_an_unknown_environment(owner):
    with pytest.raises(ValidationError):
        make_plan(owner, environment="moon")
    assert not DeploymentPlan.objects.exists()


def test_it_gives_each_role_its_permissions(plan, editor, viewer, outsider):
    assert set(get_perms(editor, plan)) == {"view_deploymentplan", "change_deploymentplan"}
    assert set(get_perms(viewer, plan)) == {"view_deploymentplan"}
    assert get_perms(outsider, plan) == []


def test_it_refuses_an_unknown_email(plan, owner):
    with pytest.raises(ValidationError) as caught:
        services.membership_add(plan=plan, actor=owner, email="ghost@example.com", role="viewer")
    assert "No user has this email address" in str(caught.value)
    assert plan.memberships.count() == 3


def test_it_refuses_a_duplicate_member(plan, owner, editor):
    with pytest.raises(ValidationError) as caught:
        services.membership_add(plan=plan, actor=owner, email=editor.email.upper(), role="viewer")
    assert "already a member" in str(caught.value)
    assert PlanMembership.objects.get(plan=plan, user=editor).role == "editor"


def test_it_refuses_a_role_that_is_not_one_of_the_three(plan, owner, outsider):
    with pytest.raises(ValidationError):
        services.membership_add(plan=plan, actor=owner, email=outsider.email, role="admin")
    assert not PlanMembership.objects.filter(user=outsider).exists()


def test_changing_a_role_changes_the_permissions_with_it(plan, viewer, membership_of):
    services.membership_change_role(membership=membership_of(plan, viewer), role="editor")

    assert set(get_perms(viewer, plan)) == {"view_deploymentplan", "change_deploymentplan"}


def test_the_last_owner_can_be_neither_demoted_nor_removed(plan, owner, membership_of):
    with pytest.raises(ValidationError):
        services.membership_change_role(membership=membership_of(plan, owner), role="editor")
    with pytest.raises(ValidationError):
        services.membership_remove(membership=membership_of(plan, owner))

    assert membership_of(plan, owner).role == "owner"
    assert "manage_deploymentplan" in get_perms(owner, plan)


def test_an_owner_can_step_down_once_there_is_another_owner(plan, owner, editor, membership_of):
    services.membership_change_role(membership=membership_of(plan, editor), role="owner")
    services.membership_change_role(membership=membership_of(plan, owner), role="viewer")

    assert set(get_perms(owner, plan)) == {"view_deploymentplan"}
    assert set(get_perms(editor, plan)) == {
        "view_deploymentplan",
        "change_deploymentplan",
        "manage_deploymentplan",
    }


def test_removing_a_member_takes_every_permission_away(plan, editor, membership_of):
    services.membership_remove(membership=membership_of(plan, editor))

    assert get_perms(editor, plan) == []
    assert not PlanMembership.objects.filter(plan=plan, user=editor).exists()


def test_an_archived_plan_cannot_be_changed_until_restored(plan):
    services.plan_archive(plan=plan)
    with pytest.raises(ValidationError):
        services.plan_update(plan=plan, title="Renamed")
    assert DeploymentPlan.objects.get(pk=plan.pk).title == "Checkout service rollout"

    services.plan_restore(plan=plan)
    services.plan_update(plan=plan, title="Renamed")
    assert DeploymentPlan.objects.get(pk=plan.pk).title == "Renamed"


def test_archiving_twice_keeps_the_first_time(plan):
    first = services.plan_archive(plan=plan).archived_at
    second = services.plan_archive(plan=plan).archived_at
    assert first == second


def test_membership_changes_are_in_the_audit_trail(plan, owner, viewer, membership_of):
    services.membership_change_role(membership=membership_of(plan, viewer), role="editor")
    services.membership_remove(membership=membership_of(plan, viewer))

    events = PlanMembership.pgh_event_model.objects.filter(user=viewer).order_by("pgh_id")
    assert [(e.pgh_label, e.role) for e in events] == [
        ("insert", "viewer"),
        ("update", "editor"),
        ("delete", "editor"),
    ]


def test_a_user_added_to_two_plans_holds_permissions_on_each_separately(owner, outsider):
    first, second = make_plan(owner), make_plan(owner, title="Second")
    services.membership_add(plan=first, actor=owner, email=outsider.email, role="editor")

    assert "change_deploymentplan" in get_perms(outsider, first)
    assert get_perms(outsider, second) == []
