from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from planning.models import Invitation, PlanMembership
from truststream.locks import once_per
from truststream.validators import email_subject


@shared_task
def membership_added_notify(membership_id: int) -> None:
    """Tell a new member which plan they were added to, with a link to it."""
    membership = (
        PlanMembership.objects.select_related("plan", "user", "added_by")
        .filter(pk=membership_id)
        .first()
    )
    if membership is None:  # removed again before the worker got to it
        return
    context = {
        "membership": membership,
        "plan": membership.plan,
        "plan_url": settings.SITE_URL + reverse("planning:plan_detail", args=[membership.plan_id]),
    }
    send_mail(
        subject=email_subject(f"You were added to {membership.plan}"),
        message=render_to_string("planning/email/member_added.txt", context),
        from_email=None,
        recipient_list=[membership.user.email],
    )


@shared_task
def invitation_send(invitation_id: int) -> None:
    """Email an invitation its link, unless it was withdrawn or replaced meanwhile."""
    invitation = (
        Invitation.objects.select_related("plan", "invited_by").filter(pk=invitation_id).first()
    )
    if invitation is None or invitation.state != "pending":
        return
    context = {
        "invitation": invitation,
        "plan": invitation.plan,
        "inviter": invitation.invited_by.email if invitation.invited_by else "A plan owner",
        "url": settings.SITE_URL + reverse("planning:invitation", args=[invitation.token]),
    }
    send_mail(
        subject=email_subject(f"You are invited to {invitation.plan}"),
        message=render_to_string("planning/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


@shared_task
@once_per(3600)
def overdue_notify() -> None:
    """Once a day: tell each assignee of the tasks of theirs that fell overdue (once per task
    and due date; a new due date can fall overdue again)."""
    from planning import services

    services.overdue_notify()
