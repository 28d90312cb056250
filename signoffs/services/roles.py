"""Writes of a plan's approval roles: created with the plan, assigned to a member, made
required, released when their holder leaves. Callers have checked the acting user's access."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from planning.models import DeploymentPlan
from planning.selectors import is_plan_person
from planning.services import plan_lock_writable
from signoffs.models import SignoffRequirement
from signoffs.status import status_sync
from truststream.models import NotificationKind
from truststream.services import notification_send


def roles_create(*, plan: DeploymentPlan, **kwargs) -> None:
    """Give a new plan its playbook's approval roles (the receiver of `plan_created`)."""
    SignoffRequirement.objects.bulk_create(
        SignoffRequirement(
            plan=plan,
            role=role["key"],
            title=role["title"],
            approves=role["approves"],
            covers=role["covers"],
            conditional=role.get("conditional", False),
            required=not role.get("conditional", False),
            position=position,
        )
        for position, role in enumerate(plan.playbook.definition["approvals"]["roles"], start=1)
    )


@transaction.atomic
def role_assign(*, requirement: SignoffRequirement, assignee) -> SignoffRequirement:
    """Give a role to a member of the plan (or to nobody); they are told by email."""
    plan = plan_lock_writable(requirement.plan)
    if assignee is not None and not is_plan_person(plan, assignee):
        raise ValidationError({"assignee": "Choose a member of this plan."})
    requirement = SignoffRequirement.objects.get(pk=requirement.pk)
    if requirement.assignee_id == (assignee.pk if assignee else None):
        return requirement
    requirement.assignee = assignee
    try:
        with transaction.atomic():
            requirement.save(update_fields=["assignee"])
    except IntegrityError:
        raise ValidationError(
            {"assignee": "This person already holds another approval role on this plan."}
        ) from None
    # Whether the role's latest signature counts depends on who holds the role now.
    status_sync(plan=plan)
    if assignee is not None:
        notification_send(
            user=assignee,
            kind=NotificationKind.ROLE_ASSIGNED,
            key=f"role:{requirement.pk}:{assignee.pk}:{timezone.now().timestamp():.0f}",
            text=f"You are {requirement.title} for {plan} ({requirement.approves}): review it "
            "and record your approval or rejection when it is ready",
            url=reverse("signoffs:signoffs", args=[plan.pk]),
            plan_id=plan.pk,
        )
    return requirement


def roles_release(*, plan: DeploymentPlan, user, **kwargs) -> None:
    """Whoever leaves a plan holds none of its approval roles any more (the receiver of
    `member_removed`, inside the removal's transaction). Their signatures stay on record."""
    if SignoffRequirement.objects.filter(plan=plan, assignee=user).update(assignee=None):
        status_sync(plan=plan)  # their signatures no longer count


@transaction.atomic
def role_set_required(*, requirement: SignoffRequirement, required: bool) -> SignoffRequirement:
    plan_lock_writable(requirement.plan)
    if not requirement.conditional and not required:
        raise ValidationError("Only a conditional role can be made not required.")
    SignoffRequirement.objects.filter(pk=requirement.pk).update(required=required)
    return SignoffRequirement.objects.get(pk=requirement.pk)
