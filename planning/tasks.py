from celery import shared_task

from planning import emails
from planning.models import Invitation, PlanMembership
from truststream.locks import once_per

# Messages queued before the outbox (truststream.outbox) are handed over to it. Remove these
# two once no worker can hold one of them any more.


@shared_task
def membership_added_notify(membership_id: int) -> None:
    from truststream.services import email_queue

    membership = PlanMembership.objects.select_related("user").filter(pk=membership_id).first()
    if membership is not None:
        email_queue(kind=emails.MEMBER_ADDED, to=membership.user.email, ref_id=membership.pk)


@shared_task
def invitation_send(invitation_id: int) -> None:
    from truststream.services import email_queue

    invitation = Invitation.objects.filter(pk=invitation_id).first()
    if invitation is not None:
        email_queue(kind=emails.INVITATION, to=invitation.email, ref_id=invitation.pk)


@shared_task
@once_per(3600)
def overdue_notify() -> None:
    """Once a day: tell each assignee of the tasks of theirs that fell overdue (once per task
    and due date; a new due date can fall overdue again)."""
    from planning import services

    services.overdue_notify()
