"""Writes of signatures: recording one, and what follows a change to the plan (its status,
and telling the holders whose signature went stale). Callers have checked the acting user's
access."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from planning.models import DeploymentPlan
from planning.selectors import plan_people
from planning.services import plan_lock_writable
from signoffs import snapshot
from signoffs.models import Signoff, SignoffRequirement
from signoffs.policies import active_delegation, expires_at, signoff_state
from signoffs.signals import send_on_commit, signature_stale, signoff_recorded
from signoffs.status import status_sync
from truststream.audit import seal_take
from truststream.models import NotificationKind, TeamMembership
from truststream.services import notification_send

# Holders hear of an approval that is about to expire this long before it does.
EXPIRY_NOTICE = datetime.timedelta(days=3)


def _name(user) -> str:
    return user.get_full_name() or user.email


def _printed_name(signer, on_behalf_of) -> str:
    if on_behalf_of is None:
        return _name(signer)
    return f"{_name(signer)} on behalf of {_name(on_behalf_of)}"


def meaning(requirement: SignoffRequirement, decision: str, on_behalf_of=None) -> str:
    environment = requirement.plan.get_environment_display().lower()
    verb = "approve" if decision == Signoff.Decision.APPROVE else "reject"
    deputy = f" on behalf of {_name(on_behalf_of)}" if on_behalf_of is not None else ""
    return f"I {verb} this plan for {environment} deployment as {requirement.title}{deputy}"


def _check_signer(plan: DeploymentPlan, requirement: SignoffRequirement, signer, sections: dict):
    """Nobody signs for somebody else, and one person counts for one role of a plan. Returns
    the holder a deputy signs for (None when the signer signs in their own right)."""
    on_behalf_of = None
    if requirement.team_id is None:
        if requirement.assignee_id != signer.pk:
            delegation = active_delegation(requirement, signer)
            if delegation is None:
                raise ValidationError("Only the person who holds this role can sign for it.")
            on_behalf_of = delegation.holder
    elif not TeamMembership.objects.filter(team=requirement.team, user=signer).exists():
        raise ValidationError(f"Only a member of {requirement.team.name} can sign for this role.")
    held = plan.roles.filter(assignee=signer).exclude(pk=requirement.pk).first()
    if held is not None:
        raise ValidationError(
            f"You hold {held.title} on this plan, and one person counts for one role."
        )
    for role in signoff_state(plan, sections).roles:
        if role.requirement.pk != requirement.pk and any(
            approval.signer_id == signer.pk for approval in role.approvals
        ):
            raise ValidationError(
                f"Your approval counts for {role.requirement.title} on this plan, and one "
                "person counts for one role."
            )
    return on_behalf_of


@transaction.atomic
def signoff_record(
    *,
    requirement: SignoffRequirement,
    signer,
    decision: str,
    seen_digest: str,
    comment: str = "",
    reason: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
) -> Signoff:
    """Record a signature bound to the digest the signer saw.

    The caller has checked that the signer re-authenticated in the last few minutes. Nobody
    signs for somebody else, and a plan that changed since the signer looked is not signed.
    """
    plan = plan_lock_writable(requirement.plan)
    requirement = SignoffRequirement.objects.select_related("plan", "team").get(pk=requirement.pk)
    # One snapshot, taken under the plan's lock, serves the one-role check, the digest and its
    # sections'.
    sections = snapshot.sections(plan)
    on_behalf_of = _check_signer(plan, requirement, signer, sections)
    if decision not in Signoff.Decision.values:
        raise ValidationError({"decision": "Choose approve or reject."})
    reason, comment = reason.strip(), comment.strip()
    if decision == Signoff.Decision.REJECT and not reason:
        raise ValidationError({"reason": "Say why you reject the plan."})
    covered = snapshot.covered(sections, requirement.covers)
    current = snapshot.digest(covered)
    if seen_digest != current:
        raise ValidationError(
            "The plan changed since you opened this page, so what you reviewed is not what "
            "would be signed. Review it again and sign the current version."
        )
    signoff = Signoff(
        plan=plan,
        requirement=requirement,
        signer=signer,
        printed_name=_printed_name(signer, on_behalf_of),
        role_title=requirement.title,
        decision=decision,
        meaning=meaning(requirement, decision, on_behalf_of),
        on_behalf_of=on_behalf_of,
        comment=comment,
        reason=reason if decision == Signoff.Decision.REJECT else "",
        sections=requirement.covers,
        digest=current,
        section_digests={name: snapshot.digest(data) for name, data in covered.items()},
        ip_address=ip_address,
        user_agent=user_agent[:300],
    )
    signoff.full_clean()
    signoff.save()
    send_on_commit(signoff_recorded, Signoff, plan_id=plan.pk, signoff_id=signoff.pk)
    status_sync(plan=plan)
    # Seal the trail with the signature inside it: what was signed can be shown unedited.
    seal_take(
        plan_id=plan.pk,
        reason=f"{signoff.get_decision_display()} by {signoff.printed_name}"
        f" as {signoff.role_title}",
    )
    return signoff


def after_plan_change(*, plan_id: int) -> None:
    """Sync the plan's status with its signatures and tell holders whose signature went stale.

    Each stale signature is reported once (`stale_notified_at`).
    """
    plan = DeploymentPlan.objects.filter(pk=plan_id).first()
    if plan is None:
        return
    status_sync(plan=plan)
    now = timezone.now()
    for role in signoff_state(plan).roles:
        for signoff in role.stale_signoffs:
            if signoff.stale_notified_at is not None:
                continue
            if not plan_people(plan).filter(pk=signoff.signer_id).exists():
                continue  # they left the plan: nothing to tell them, nothing they could do
            # Compare-and-set, so that two workers never send the same notice.
            with transaction.atomic():
                if Signoff.objects.filter(pk=signoff.pk, stale_notified_at__isnull=True).update(
                    stale_notified_at=now
                ):
                    send_on_commit(signature_stale, Signoff, plan_id=plan.pk, signoff_id=signoff.pk)
                    notification_send(
                        user=signoff.signer,
                        kind=NotificationKind.SIGNATURE_STALE,
                        key=f"signoff:{signoff.pk}:stale",
                        text=f"Your signature on {plan} is stale: the plan changed in a part "
                        f"your signature as {signoff.role_title} covers. Review it and sign "
                        "again",
                        url=reverse("signoffs:signoffs", args=[plan.pk]),
                        plan_id=plan.pk,
                    )
        for signoff in role.approvals:
            until = expires_at(signoff, role.requirement)
            if until is None or until - now > EXPIRY_NOTICE or signoff.expiry_warned_at:
                continue
            with transaction.atomic():
                if Signoff.objects.filter(pk=signoff.pk, expiry_warned_at__isnull=True).update(
                    expiry_warned_at=now
                ):
                    notification_send(
                        user=signoff.signer,
                        kind=NotificationKind.APPROVAL_EXPIRING,
                        key=f"signoff:{signoff.pk}:expiry",
                        subject=f"Your approval of {plan} expires on {until:%d %b %Y}",
                        text=f"Your approval of {plan} as {signoff.role_title} expires on "
                        f"{until:%d %b %Y %H:%M} UTC, as the role's policy has it. Review the "
                        "plan and approve it again before then: once it expires, it no longer "
                        "counts and the plan is no longer signed off",
                        url=reverse("signoffs:signoffs", args=[plan.pk]),
                        plan_id=plan.pk,
                    )
