"""Who belongs to a plan: memberships, invitations and plan teams, and letting go of those
who leave it."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from planning import emails, live, selectors
from planning.access import sync_permissions, sync_team_permissions
from planning.models import DeploymentPlan, Invitation, PlanMembership, PlanTeam
from planning.services._common import Role
from planning.services.locks import _lock_plan
from planning.signals import member_removed, plan_content_changed, team_removed
from truststream.models import Team
from truststream.services import email_queue


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": f"{role!r} is not a role; choose owner, editor or viewer."})


@transaction.atomic
def membership_add(*, plan: DeploymentPlan, actor, email: str, role: str) -> PlanMembership:
    """Add an existing user, found by email, to the plan at once; they are told by email.

    For the demo data and tools run by operators: the plan's pages invite instead
    (`invitation_create`), so that an owner never learns whether an address has an account.
    """
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
    membership = _member_join(plan=plan, user=user, role=role, added_by=actor)
    # In the outbox, with the membership: sent once Redis is there, not if they leave first.
    email_queue(kind=emails.MEMBER_ADDED, to=user.email, ref_id=membership.pk)
    return membership


def _member_join(*, plan: DeploymentPlan, user, role: str, added_by) -> PlanMembership:
    # The caller holds the plan's lock and has checked that the user is not a member yet.
    membership = PlanMembership.objects.create(plan=plan, user=user, role=role, added_by=added_by)
    sync_permissions(plan=plan, user=user, role=role)
    live.bump_on_commit(plan.pk)
    return membership


@transaction.atomic
def invitation_create(*, plan: DeploymentPlan, actor, email: str, role: str) -> Invitation:
    """Invite an email address to the plan with `role`; the invitation is emailed once this
    commits. The same happens whether or not the address has an account, so that nothing here
    tells the owner which addresses do. An open invitation of the same address is replaced
    (its link stops working), which is how an owner sends one again."""
    _check_role(role)
    email = email.strip()
    plan = _lock_plan(plan)
    if plan.memberships.filter(user__email__iexact=email).exists():
        # Only members' addresses are compared: the owner sees those on the members list.
        raise ValidationError({"email": f"{email} is already a member of this plan."})
    now = timezone.now()
    plan.invitations.filter(
        email__iexact=email, accepted_at__isnull=True, withdrawn_at__isnull=True
    ).update(withdrawn_at=now)
    invitation = Invitation(
        plan=plan,
        email=email,
        role=role,
        invited_by=actor,
        expires_at=now + Invitation.VALID_FOR,
    )
    invitation.full_clean()
    invitation.save()
    # In the outbox, with the invitation: with Redis away the email is sent once it is back
    # (the sweep), and not at all if the invitation is withdrawn or replaced first.
    email_queue(kind=emails.INVITATION, to=invitation.email, ref_id=invitation.pk)
    live.bump_on_commit(plan.pk)
    return invitation


@transaction.atomic
def invitation_withdraw(*, invitation: Invitation) -> None:
    """Withdraw an invitation not yet accepted (or expired): its link stops working."""
    withdrawn = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, withdrawn_at__isnull=True
    ).update(withdrawn_at=timezone.now())
    if not withdrawn:
        raise ValidationError(
            f"The invitation of {invitation.email} was already accepted or withdrawn."
        )
    live.bump_on_commit(invitation.plan_id)


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user) -> tuple[PlanMembership, bool]:
    """`user` joins the plan with the invitation's role; (membership, joined now).

    Only the person the invitation was sent to may accept it: one of the account's verified
    email addresses must be the invited one, so that a forwarded or intercepted link is of no
    use to an account that does not prove it holds that address. Someone already a member
    keeps their role, and the invitation is used up all the same.
    """
    plan = _lock_plan(invitation.plan)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    state = invitation.state
    if state != "pending":
        raise ValidationError(f"This invitation is {state}: it can no longer be accepted.")
    if not selectors.has_verified_address(user, invitation.email):
        raise ValidationError(
            f"This invitation is for {invitation.email}. Confirm that address on your account, "
            "or sign in with the account that has it, to accept it."
        )
    Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now(), accepted_by=user)
    membership = PlanMembership.objects.filter(plan=plan, user=user).first()
    if membership is not None:
        live.bump_on_commit(plan.pk)
        return membership, False
    membership = _member_join(
        plan=plan, user=user, role=invitation.role, added_by=invitation.invited_by
    )
    return membership, True


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
    live.bump_on_commit(membership.plan_id)
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
    # Someone who is still in one of the plan's teams keeps what the team gives them.
    _release_if_gone(membership.plan, [membership.user])
    live.bump_on_commit(membership.plan_id)


def _release_if_gone(plan: DeploymentPlan, users) -> None:
    """Of `users`, whoever is no longer a member of the plan, themselves or through a team,
    stops being responsible for its tasks and documents and lets go of what other apps gave
    them (`member_removed`: checklist items, approval roles). The caller holds the plan's lock
    and has already taken away the membership that let them in."""
    remaining = set(selectors.plan_people(plan).values_list("pk", flat=True))
    gone = [user for user in users if user.pk not in remaining]
    for user in gone:
        plan.tasks.filter(assignee=user).update(assignee=None)
        plan.documents.filter(owner=user).update(owner=None)
        member_removed.send(sender=DeploymentPlan, plan=plan, user=user)
    if gone:
        # Their tasks and documents lost their assignee: content that signatures may cover.
        plan_id = plan.pk
        transaction.on_commit(
            lambda: plan_content_changed.send_robust(sender=DeploymentPlan, plan_id=plan_id)
        )


@transaction.atomic
def plan_team_add(*, plan: DeploymentPlan, actor, team: Team, role: str) -> PlanTeam:
    """Make a team a member of the plan with `role`: each of its members holds at least it."""
    _check_role(role)
    plan = _lock_plan(plan)
    if PlanTeam.objects.filter(plan=plan, team=team).exists():
        raise ValidationError({"team": f"{team.name} is already a member of this plan."})
    plan_team = PlanTeam.objects.create(plan=plan, team=team, role=role, added_by=actor)
    sync_team_permissions(plan=plan, team=team, role=role)
    live.bump_on_commit(plan.pk)
    return plan_team


@transaction.atomic
def plan_team_change_role(*, plan_team: PlanTeam, role: str) -> PlanTeam:
    _check_role(role)
    _lock_plan(plan_team.plan)
    plan_team = PlanTeam.objects.select_related("plan", "team").get(pk=plan_team.pk)
    if plan_team.role != role:
        plan_team.role = role
        plan_team.save(update_fields=["role"])
        sync_team_permissions(plan=plan_team.plan, team=plan_team.team, role=role)
        live.bump_on_commit(plan_team.plan_id)
    return plan_team


@transaction.atomic
def plan_team_remove(*, plan_team: PlanTeam) -> None:
    """Take a team off the plan: its members keep only what their own membership or another
    team gives them, and whoever that leaves outside lets go of the plan's work and roles."""
    _lock_plan(plan_team.plan)
    plan_team = PlanTeam.objects.select_related("plan", "team").get(pk=plan_team.pk)
    sync_team_permissions(plan=plan_team.plan, team=plan_team.team, role=None)
    plan_team.delete()
    team_removed.send(sender=DeploymentPlan, plan=plan_team.plan, team=plan_team.team)
    users = [m.user for m in plan_team.team.memberships.select_related("user")]
    _release_if_gone(plan_team.plan, users)
    live.bump_on_commit(plan_team.plan_id)


def plan_teams_release(*, team: Team, user, **kwargs) -> None:
    """Someone left a team (the receiver of `truststream.signals.team_left`, inside that
    transaction): on each plan the team is a member of, they let go of its work and roles
    unless they are still a member of it in their own right or through another team."""
    for plan in DeploymentPlan.objects.filter(plan_teams__team=team).order_by("pk"):
        plan = _lock_plan(plan)
        _release_if_gone(plan, [user])
        live.bump_on_commit(plan.pk)
