"""What the plan's outbox emails say (truststream.outbox): read afresh when each is sent, and
not sent once the invitation is no longer pending or the membership is gone."""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from planning.models import Invitation, PlanMembership
from truststream import outbox

INVITATION = "planning.invitation"
MEMBER_ADDED = "planning.member_added"


def invitation_email(email) -> tuple[str, str] | None:
    """An invitation's link, unless it was withdrawn, replaced, accepted or expired meanwhile
    (or its plan deleted)."""
    invitation = (
        Invitation.objects.select_related("plan", "invited_by").filter(pk=email.ref_id).first()
    )
    if invitation is None or invitation.state != "pending":
        return None
    context = {
        "invitation": invitation,
        "plan": invitation.plan,
        "inviter": invitation.invited_by.email if invitation.invited_by else "A plan owner",
        "url": settings.SITE_URL + reverse("planning:invitation", args=[invitation.token]),
    }
    return (
        f"You are invited to {invitation.plan}",
        render_to_string("planning/email/invitation.txt", context),
    )


def member_added_email(email) -> tuple[str, str] | None:
    """Which plan a new member was added to, with a link, unless they were removed meanwhile."""
    membership = (
        PlanMembership.objects.select_related("plan", "user", "added_by")
        .filter(pk=email.ref_id)
        .first()
    )
    if membership is None:
        return None
    context = {
        "membership": membership,
        "plan": membership.plan,
        "plan_url": settings.SITE_URL + reverse("planning:plan_detail", args=[membership.plan_id]),
    }
    return (
        f"You were added to {membership.plan}",
        render_to_string("planning/email/member_added.txt", context),
    )


def register() -> None:
    outbox.register(INVITATION, invitation_email)
    outbox.register(MEMBER_ADDED, member_added_email)
