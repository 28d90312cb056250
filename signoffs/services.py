"""Writes of approval roles and signatures. Callers have checked the acting user's access."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from planning.models import DeploymentPlan
from planning.services import plan_lock_writable
from signoffs import snapshot
from signoffs.models import Signoff, SignoffRequirement
from signoffs.selectors import signoff_state
from signoffs.status import status_sync
from signoffs.tasks import role_assigned_notify
from truststream.audit import seal_take


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
    if assignee is not None and not plan.memberships.filter(user=assignee).exists():
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
    if assignee is not None:
        transaction.on_commit(lambda: role_assigned_notify.delay(requirement.pk))
    return requirement


def roles_release(*, plan: DeploymentPlan, user, **kwargs) -> None:
    """Whoever leaves a plan holds none of its approval roles any more (the receiver of
    `member_removed`, inside the removal's transaction). Their signatures stay on record."""
    SignoffRequirement.objects.filter(plan=plan, assignee=user).update(assignee=None)


@transaction.atomic
def role_set_required(*, requirement: SignoffRequirement, required: bool) -> SignoffRequirement:
    plan_lock_writable(requirement.plan)
    if not requirement.conditional and not required:
        raise ValidationError("Only a conditional role can be made not required.")
    SignoffRequirement.objects.filter(pk=requirement.pk).update(required=required)
    return SignoffRequirement.objects.get(pk=requirement.pk)


def meaning(requirement: SignoffRequirement, decision: str) -> str:
    environment = requirement.plan.get_environment_display().lower()
    verb = "approve" if decision == Signoff.Decision.APPROVE else "reject"
    return f"I {verb} this plan for {environment} deployment as {requirement.title}"


def role_digest(requirement: SignoffRequirement) -> str:
    """The digest of what the role covers, as the plan is now."""
    return snapshot.digest(
        snapshot.covered(snapshot.sections(requirement.plan), requirement.covers)
    )


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
    requirement = SignoffRequirement.objects.select_related("plan").get(pk=requirement.pk)
    if requirement.assignee_id != signer.pk:
        raise ValidationError("Only the person who holds this role can sign for it.")
    if decision not in Signoff.Decision.values:
        raise ValidationError({"decision": "Choose approve or reject."})
    reason, comment = reason.strip(), comment.strip()
    if decision == Signoff.Decision.REJECT and not reason:
        raise ValidationError({"reason": "Say why you reject the plan."})
    # One snapshot, taken under the plan's lock, gives both the digest and its sections'.
    covered = snapshot.covered(snapshot.sections(plan), requirement.covers)
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
        printed_name=signer.get_full_name() or signer.email,
        role_title=requirement.title,
        decision=decision,
        meaning=meaning(requirement, decision),
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
    url = settings.SITE_URL + reverse("signoffs:signoffs", args=[plan.pk])
    for role in signoff_state(plan).roles:
        signoff = role.latest
        if role.state != "stale" or signoff.stale_notified_at is not None:
            continue
        # Compare-and-set, so that two workers never send the same notice.
        if Signoff.objects.filter(pk=signoff.pk, stale_notified_at__isnull=True).update(
            stale_notified_at=timezone.now()
        ):
            send_mail(
                subject=f"[TrustStram] Your signature on {plan} is stale",
                message=(
                    f'Hello,\n\nThe plan "{plan.title}" changed in a part your signature as '
                    f"{signoff.role_title} covers, so that signature no longer applies. Review "
                    f"the plan and sign again:\n\n{url}\n\n— TrustStram Readiness\n"
                ),
                from_email=None,
                recipient_list=[signoff.signer.email],
            )
