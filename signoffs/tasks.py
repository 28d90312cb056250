from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from signoffs.models import SignoffRequirement


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def role_assigned_notify(requirement_id: int) -> None:
    """Tell a member which approval role they now hold, with a link to sign."""
    requirement = (
        SignoffRequirement.objects.select_related("plan", "assignee")
        .filter(pk=requirement_id, assignee__isnull=False)
        .first()
    )
    if requirement is None:
        return
    url = settings.SITE_URL + reverse("signoffs:signoffs", args=[requirement.plan_id])
    send_mail(
        subject=f"[TrustStram] You are {requirement.title} for {requirement.plan}",
        message=(
            f"Hello,\n\nYou now hold the {requirement.title} role ({requirement.approves}) on "
            f'the deployment plan "{requirement.plan.title}". When the plan is ready, review '
            f"it and record your approval or rejection:\n\n{url}\n\n— TrustStram Readiness\n"
        ),
        from_email=None,
        recipient_list=[requirement.assignee.email],
    )


@shared_task
def plan_changed(plan_id: int) -> None:
    """After a plan's content changed: leave "signed off" if a signature went stale, and tell
    each holder whose signature did."""
    from signoffs import services  # services queue this module's tasks: import late

    services.after_plan_change(plan_id=plan_id)
