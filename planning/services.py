"""Writes to plans and memberships. Callers have already checked the acting user's access."""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from planning.access import sync_permissions
from planning.models import DeploymentPlan, PlanMembership
from planning.tasks import membership_added_notify

Role = PlanMembership.Role


@transaction.atomic
def plan_create(
    *,
    user,
    title: str,
    release_version: str,
    environment: str,
    week1_start: datetime.date,
    target_go_live: datetime.date,
    description: str = "",
) -> DeploymentPlan:
    """Create a plan; its creator becomes its first owner."""
    plan = DeploymentPlan(
        title=title,
        release_version=release_version,
        environment=environment,
        week1_start=week1_start,
        target_go_live=target_go_live,
        description=description,
        created_by=user,
    )
    plan.full_clean()
    plan.save()
    PlanMembership.objects.create(plan=plan, user=user, role=Role.OWNER, added_by=user)
    sync_permissions(plan=plan, user=user, role=Role.OWNER)
    return plan


PLAN_EDITABLE_FIELDS = (
    "title",
    "release_version",
    "environment",
    "week1_start",
    "target_go_live",
    "description",
)


@transaction.atomic
def plan_update(*, plan: DeploymentPlan, **changes) -> DeploymentPlan:
    """Change the plan's header fields. An archived plan is read-only until restored."""
    unknown = set(changes) - set(PLAN_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    plan = DeploymentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.is_archived:
        raise ValidationError("This plan is archived. Restore it before changing it.")
    for field, value in changes.items():
        setattr(plan, field, value)
    plan.full_clean()
    plan.save()
    return plan


@transaction.atomic
def plan_archive(*, plan: DeploymentPlan) -> DeploymentPlan:
    # Compare-and-set: archiving twice (two tabs, a double click) changes nothing the second time.
    DeploymentPlan.objects.filter(pk=plan.pk, archived_at__isnull=True).update(
        archived_at=timezone.now(), updated_at=timezone.now()
    )
    return DeploymentPlan.objects.get(pk=plan.pk)


@transaction.atomic
def plan_restore(*, plan: DeploymentPlan) -> DeploymentPlan:
    DeploymentPlan.objects.filter(pk=plan.pk, archived_at__isnull=False).update(
        archived_at=None, updated_at=timezone.now()
    )
    return DeploymentPlan.objects.get(pk=plan.pk)


def _lock_plan(plan: DeploymentPlan) -> DeploymentPlan:
    # Membership changes of one plan are serialised on the plan row, so that two owners
    # demoting each other at the same moment cannot leave the plan without an owner.
    return DeploymentPlan.objects.select_for_update().get(pk=plan.pk)


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": f"{role!r} is not a role; choose owner, editor or viewer."})


@transaction.atomic
def membership_add(*, plan: DeploymentPlan, actor, email: str, role: str) -> PlanMembership:
    """Add an existing user, found by email, to the plan; they are told by email."""
    _check_role(role)
    plan = _lock_plan(plan)
    User = get_user_model()
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        raise ValidationError(
            {"email": "No user has this email address. Ask them to sign up first."}
        )
    if PlanMembership.objects.filter(plan=plan, user=user).exists():
        raise ValidationError({"email": f"{user.email} is already a member of this plan."})
    membership = PlanMembership.objects.create(plan=plan, user=user, role=role, added_by=actor)
    sync_permissions(plan=plan, user=user, role=role)
    transaction.on_commit(lambda: membership_added_notify.delay(membership.pk))
    return membership


def _other_owners(membership: PlanMembership) -> bool:
    return (
        PlanMembership.objects.filter(plan_id=membership.plan_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def membership_change_role(*, membership: PlanMembership, role: str) -> PlanMembership:
    _check_role(role)
    _lock_plan(membership.plan)
    membership = PlanMembership.objects.select_related("plan", "user").get(pk=membership.pk)
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER and not _other_owners(membership):
        raise ValidationError(
            {"role": "The last owner cannot be demoted. Make another member an owner first."}
        )
    membership.role = role
    membership.full_clean()
    membership.save(update_fields=["role"])
    sync_permissions(plan=membership.plan, user=membership.user, role=role)
    return membership


@transaction.atomic
def membership_remove(*, membership: PlanMembership) -> None:
    _lock_plan(membership.plan)
    membership = PlanMembership.objects.select_related("plan", "user").get(pk=membership.pk)
    if membership.role == Role.OWNER and not _other_owners(membership):
        raise ValidationError(
            "The last owner cannot be removed. Make another member an owner first."
        )
    sync_permissions(plan=membership.plan, user=membership.user, role=None)
    membership.delete()
