"""Writes of a plan's approval roles: created with the plan, assigned to a member, made
required, released when their holder leaves. Callers have checked the acting user's access."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from planning.models import DeploymentPlan, PlanTeam
from planning.selectors import is_plan_person
from planning.services import plan_lock_writable
from signoffs.models import Delegation, SignoffRequirement
from signoffs.status import status_sync
from truststream.models import NotificationKind, Team, TeamMembership
from truststream.services import notification_send

# The bounds of a role's policy (also the database's check constraints).
MAX_QUORUM = 20
MAX_APPROVAL_DAYS = 3650


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
    if assignee is not None:
        # A person's role: whatever team held it lets go, and a person's quorum is one.
        requirement.team, requirement.quorum = None, 1
    try:
        with transaction.atomic():
            requirement.save(update_fields=["assignee", "team", "quorum"])
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


@transaction.atomic
def role_policy_set(
    *,
    requirement: SignoffRequirement,
    team: Team | None,
    quorum: int = 1,
    approval_days: int | None = None,
) -> SignoffRequirement:
    """Set who holds the role and how it is approved: a person (then `role_assign` names them)
    or a team of the plan, any `quorum` of whose members approve it; and after how many days
    an approval stops counting (None: never). The guide's default is one person, no expiry."""
    plan = plan_lock_writable(requirement.plan)
    requirement = SignoffRequirement.objects.select_related("team").get(pk=requirement.pk)
    errors = {}
    if approval_days is not None and not 1 <= approval_days <= MAX_APPROVAL_DAYS:
        errors["approval_days"] = f"Approvals may count for 1 to {MAX_APPROVAL_DAYS} days."
    if team is not None:
        members = TeamMembership.objects.filter(team=team).count()
        if not PlanTeam.objects.filter(plan=plan, team=team).exists():
            errors["team"] = f"Add {team.name} to this plan's members first."
        elif not 1 <= quorum <= MAX_QUORUM:
            errors["quorum"] = f"The quorum is 1 to {MAX_QUORUM} approvals."
        elif quorum > members:
            errors["quorum"] = (
                f"{team.name} has {members} member{'s' if members != 1 else ''}: a quorum of "
                f"{quorum} could never be reached."
            )
    if errors:
        raise ValidationError(errors)
    newly_held = team is not None and requirement.team_id != team.pk
    if team is not None:
        requirement.assignee, requirement.team, requirement.quorum = None, team, quorum
    else:
        requirement.team, requirement.quorum = None, 1
    requirement.approval_days = approval_days
    requirement.save(update_fields=["assignee", "team", "quorum", "approval_days"])
    # Who counts, how many, and for how long all change whether the plan is signed off.
    status_sync(plan=plan)
    if newly_held:
        for membership in TeamMembership.objects.filter(team=team).select_related("user"):
            notification_send(
                user=membership.user,
                kind=NotificationKind.ROLE_ASSIGNED,
                key=f"role:{requirement.pk}:team:{membership.user_id}:"
                f"{timezone.now().timestamp():.0f}",
                text=f"{team.name} holds {requirement.title} for {plan} ({requirement.approves}):"
                f" any {quorum} of you approve it",
                url=reverse("signoffs:signoffs", args=[plan.pk]),
                plan_id=plan.pk,
            )
    return requirement


MAX_DELEGATION_DAYS = 90


@transaction.atomic
def delegation_create(
    *, requirement: SignoffRequirement, holder, deputy, starts_on, ends_on
) -> Delegation:
    """The role's holder names a deputy among the plan's members for a range of days. The
    caller has checked that `holder` is the one asking."""
    plan = plan_lock_writable(requirement.plan)
    requirement = SignoffRequirement.objects.get(pk=requirement.pk)
    if requirement.assignee_id != holder.pk:
        raise ValidationError("Only the person who holds this role can name a deputy for it.")
    errors = {}
    if deputy is None or not is_plan_person(plan, deputy):
        errors["deputy"] = "Choose a member of this plan."
    elif deputy.pk == holder.pk:
        errors["deputy"] = "Choose somebody else: you hold the role yourself."
    elif plan.roles.filter(assignee=deputy).exists():
        errors["deputy"] = "This person holds another role on this plan: one person, one role."
    if ends_on < starts_on:
        errors["ends_on"] = "The last day comes on or after the first."
    elif ends_on < timezone.localdate():
        errors["ends_on"] = "This range is over already."
    elif (ends_on - starts_on).days + 1 > MAX_DELEGATION_DAYS:
        errors["ends_on"] = f"A deputy stands in for {MAX_DELEGATION_DAYS} days at most."
    if errors:
        raise ValidationError(errors)
    delegation = Delegation.objects.create(
        plan=plan,
        requirement=requirement,
        holder=holder,
        deputy=deputy,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    notification_send(
        user=deputy,
        kind=NotificationKind.ROLE_ASSIGNED,
        key=f"delegation:{delegation.pk}",
        text=f"{holder.get_full_name() or holder.email} named you deputy {requirement.title} "
        f"for {plan} from {starts_on:%d %b %Y} to {ends_on:%d %b %Y}: you may sign on their behalf",
        url=reverse("signoffs:signoffs", args=[plan.pk]),
        plan_id=plan.pk,
    )
    return delegation


@transaction.atomic
def delegation_end(*, delegation: Delegation) -> None:
    """End a delegation now; signatures the deputy gave meanwhile stay as they are."""
    plan_lock_writable(delegation.plan)
    Delegation.objects.filter(pk=delegation.pk, ended_at__isnull=True).update(
        ended_at=timezone.now()
    )


def roles_release_team(*, plan: DeploymentPlan, team: Team, **kwargs) -> None:
    """A team taken off a plan holds none of its roles any more (the receiver of
    `team_removed`, inside that transaction). Its members' signatures stay on record."""
    if SignoffRequirement.objects.filter(plan=plan, team=team).update(team=None, quorum=1):
        status_sync(plan=plan)


def team_roles_resync(*, team: Team, **kwargs) -> None:
    """Someone left a team (the receiver of `team_left`): on the plans where the team holds a
    role, their approvals no longer count, which may take the plan out of "signed off"."""
    plan_ids = SignoffRequirement.objects.filter(team=team).values_list("plan_id", flat=True)
    for plan in DeploymentPlan.objects.filter(pk__in=plan_ids).order_by("pk"):
        status_sync(plan=plan)


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
