"""Writes of signatures: recording one, and what follows a change to the plan (its status,
and telling the holders whose signature went stale). Callers have checked the acting user's
access."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from planning.models import DeploymentPlan
from planning.services import plan_lock_writable
from signoffs import snapshot
from signoffs.models import Signoff, SignoffRequirement
from signoffs.selectors import signoff_state
from signoffs.signals import send_on_commit, signature_stale, signoff_recorded
from signoffs.status import status_sync
from truststream.audit import seal_take
from truststream.models import NotificationKind
from truststream.services import notification_send


def meaning(requirement: SignoffRequirement, decision: str) -> str:
    environment = requirement.plan.get_environment_display().lower()
    verb = "approve" if decision == Signoff.Decision.APPROVE else "reject"
    return f"I {verb} this plan for {environment} deployment as {requirement.title}"


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
    for role in signoff_state(plan).roles:
        signoff = role.latest
        if role.state != "stale" or signoff.stale_notified_at is not None:
            continue
        if not plan.memberships.filter(user_id=signoff.signer_id).exists():
            continue  # they left the plan: nothing to tell them, nothing they could do
        # Compare-and-set, so that two workers never send the same notice.
        with transaction.atomic():
            if Signoff.objects.filter(pk=signoff.pk, stale_notified_at__isnull=True).update(
                stale_notified_at=timezone.now()
            ):
                send_on_commit(signature_stale, Signoff, plan_id=plan.pk, signoff_id=signoff.pk)
                notification_send(
                    user=signoff.signer,
                    kind=NotificationKind.SIGNATURE_STALE,
                    key=f"signoff:{signoff.pk}:stale",
                    text=f"Your signature on {plan} is stale: the plan changed in a part your "
                    f"signature as {signoff.role_title} covers. Review it and sign again",
                    url=reverse("signoffs:signoffs", args=[plan.pk]),
                    plan_id=plan.pk,
                )
