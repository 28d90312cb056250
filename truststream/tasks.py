from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from truststream.locks import once_per
from truststream.models import Delivery, Notification
from truststream.validators import email_subject

FOOTER = "\n\nChoose how you hear of each kind of thing: {settings_url}\n\n— TrustStram Readiness\n"


def _footer() -> str:
    return FOOTER.format(settings_url=settings.SITE_URL + reverse("notification_settings"))


@shared_task
def notification_email(notification_id: int) -> None:
    """Email one notification its person wanted at once; never twice (compare-and-set), and
    again on a retry if sending failed."""
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None or notification.delivery != Delivery.IMMEDIATELY:
        return
    # Marked and sent in one transaction: when the mail server fails, the mark is undone and the
    # retry sends it; the row stays locked meanwhile, so a repeated message waits, then skips.
    with transaction.atomic():
        # One the sweep gave up on stays unsent: it was logged as such.
        if not Notification.objects.filter(
            pk=notification_id, emailed_at__isnull=True, email_given_up_at__isnull=True
        ).update(emailed_at=timezone.now()):
            return
        send_mail(
            # A header holds one line: titles written elsewhere may carry line breaks.
            subject=email_subject(notification.subject or notification.text),
            message=f"Hello,\n\n{notification.text}\n\n{settings.SITE_URL}{notification.url}"
            + _footer(),
            from_email=None,
            recipient_list=[notification.user.email],
        )


@shared_task
def outbox_email_send(email_id: int) -> None:
    """Send one email of the outbox (truststream.outbox), at most once."""
    from truststream.services import email_send

    email_send(email_id=email_id)


@shared_task
@once_per(
    max(1, settings.CELERY_BEAT_SCHEDULE["notification-emails-requeue"]["schedule"] * 9 // 10)
)
def notification_emails_requeue() -> None:
    """Every five minutes: queue again the emails that were not sent, the immediate
    notifications' and the outbox's (invitations, "you were added", tokens revoked)."""
    from truststream.services import emails_requeue
    from truststream.services import notification_emails_requeue as requeue

    requeue()
    emails_requeue()


@shared_task
@once_per(3600)
def notifications_digest() -> None:
    """Once a day: one email per person with what they chose to hear of in a digest."""
    users = (
        Notification.objects.filter(delivery=Delivery.DAILY, emailed_at__isnull=True)
        .values_list("user_id", flat=True)
        .distinct()
    )
    for user_id in list(users):
        digest_send(user_id)


def digest_send(user_id: int) -> int:
    """Email one person's waiting digest notifications; the rows are locked so that two runs
    never send the same one. Returns how many were sent."""
    with transaction.atomic():
        waiting = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(user_id=user_id, delivery=Delivery.DAILY, emailed_at__isnull=True)
            .order_by("created_at", "id")
        )
        if not waiting:
            return 0
        user = get_user_model().objects.get(pk=user_id)
        lines = "\n".join(
            f"- {n.created_at:%d %b %H:%M} UTC: {n.text}\n  {settings.SITE_URL}{n.url}"
            for n in waiting
        )
        Notification.objects.filter(pk__in=[n.pk for n in waiting]).update(
            emailed_at=timezone.now()
        )
        count = len(waiting)
        send_mail(
            subject=email_subject(
                f"Your daily digest: {count} notification{'s' if count != 1 else ''}"
            ),
            message=f"Hello,\n\nSince your last digest:\n\n{lines}" + _footer(),
            from_email=None,
            recipient_list=[user.email],
        )
    return count


@shared_task
def tokens_revoked_email(user_id: int, names: list[str], reason: str) -> None:
    """Messages queued before the outbox (truststream.outbox) are handed over to it.
    Remove once no worker can hold one of these any more."""
    from truststream import outbox
    from truststream.services import email_queue

    user = get_user_model().objects.filter(pk=user_id).first()
    if user is not None:
        email_queue(
            kind=outbox.TOKENS_REVOKED, to=user.email, context={"names": names, "reason": reason}
        )


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def seal_timestamp(seal_id: int) -> None:
    """Ask the timestamp authority for a seal's token after the seal committed; retried while
    the authority is away, then left to `seals_timestamp`."""
    from truststream.audit import seal_timestamp as seal_timestamp_service

    seal_timestamp_service(seal_id=seal_id)


@shared_task
@once_per(max(1, settings.CELERY_BEAT_SCHEDULE["seals-timestamp"]["schedule"] * 9 // 10))
def seals_timestamp() -> None:
    """Every ten minutes, with an authority configured: queue the seals still without a token."""
    from truststream.audit import seals_without_timestamp

    if not settings.PACKET_TSA_URL:
        return
    for seal_id in seals_without_timestamp(limit=500):
        seal_timestamp.delay(seal_id)
