import datetime
import re

import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.conftest import wait_for


def test_an_invitation_is_emailed_through_the_worker(celery_worker, client_for, plan, owner):
    client_for(owner).post(
        reverse("planning:member_add", args=[plan.pk]),
        {"email": "newcomer@example.com", "role": "editor"},
    )

    def invitation():
        return [message for message in mail.outbox if "newcomer@example.com" in message.to]

    [message] = wait_for(invitation)
    assert message.subject == "[TrustStram] You are invited to Checkout service rollout 4.4.0"
    assert "as editor" in message.body
    # The link's token carries the second it was signed, so compare what it opens, not its text.
    link = re.search(r"http://127\.0\.0\.1:8000(/invitations/\S+/)", message.body).group(1)
    page = client_for(owner).get(link)
    assert page.status_code == 200 and b"newcomer@example.com" in page.content
    assert owner.email in message.body


def test_an_invitation_withdrawn_before_the_worker_runs_is_not_emailed(celery_worker, plan, owner):
    from django.db import transaction

    from planning import services

    with transaction.atomic():  # its email is queued when this commits, withdrawn by then
        withdrawn = services.invitation_create(
            plan=plan, actor=owner, email="late@example.com", role="viewer"
        )
        services.invitation_withdraw(invitation=withdrawn)
    services.invitation_create(plan=plan, actor=owner, email="kept@example.com", role="viewer")
    # The worker runs one task at a time, in order: once the later email is out, the
    # withdrawn invitation's task has run too.
    wait_for(lambda: [m for m in mail.outbox if m.to == ["kept@example.com"]])
    assert [m for m in mail.outbox if m.to == ["late@example.com"]] == []


def test_a_member_removed_before_their_email_is_sent_gets_none(plan, editor, viewer):
    from planning import services
    from planning.emails import MEMBER_ADDED
    from truststream.models import OutboxEmail
    from truststream.services import email_send, emails_requeue

    # No worker here: the emails of the plan fixture wait in the outbox.
    removed = OutboxEmail.objects.get(kind=MEMBER_ADDED, to=editor.email)
    kept = OutboxEmail.objects.get(kind=MEMBER_ADDED, to=viewer.email)
    services.membership_remove(membership=plan.memberships.get(user=editor))

    assert email_send(email_id=removed.pk) is False  # what the worker runs
    assert email_send(email_id=kept.pk) is True
    assert [message.to for message in mail.outbox] == [[viewer.email]]
    removed.refresh_from_db()
    assert removed.cancelled_at is not None and removed.sent_at is None
    emails_requeue()  # a cancelled email is not queued again either
    assert OutboxEmail.objects.get(pk=removed.pk).attempts == 1

    with time_machine.travel(timezone.now() + datetime.timedelta(days=31)):
        emails_requeue()  # sent and cancelled ones are kept 30 days, then deleted
    assert not OutboxEmail.objects.filter(pk__in=[removed.pk, kept.pk]).exists()


def test_a_title_stored_with_a_line_break_still_gets_its_email_out(plan, viewer):
    """Rows from before titles were refused line breaks still email on one subject line."""
    from planning.emails import MEMBER_ADDED
    from planning.models import DeploymentPlan
    from truststream.models import OutboxEmail
    from truststream.services import email_send

    DeploymentPlan.objects.filter(pk=plan.pk).update(title="Checkout\r\nBcc: someone@evil.test")
    mail.outbox.clear()
    email = OutboxEmail.objects.get(kind=MEMBER_ADDED, to=viewer.email)
    email_send(email_id=email.pk)  # what the worker runs

    [message] = mail.outbox
    assert message.subject == "[TrustStram] You were added to Checkout Bcc: someone@evil.test 4.4.0"
    assert message.to == [viewer.email]


def test_an_invitation_email_still_unsent_after_a_day_is_given_up_and_logged(plan, owner, caplog):
    from planning import services
    from truststream.models import OutboxEmail
    from truststream.services import email_send, emails_requeue

    # No worker here: the email waits in the outbox, as when Redis stays away.
    invitation = services.invitation_create(
        plan=plan, actor=owner, email="newcomer@example.com", role="viewer"
    )
    email = OutboxEmail.objects.get(to="newcomer@example.com")
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=25)):
        emails_requeue()
    email.refresh_from_db()
    assert email.given_up_at is not None and email.sent_at is None
    # The plan fixture's "you were added" emails wait too, and are given up with it.
    assert "Gave up sending 3 outbox email(s), still unsent after 24 hours" in caplog.text
    assert f"{email.pk}]" in caplog.text
    assert invitation.pk == email.ref_id
    assert email_send(email_id=email.pk) is False  # a late message does not send it either
    assert [m for m in mail.outbox if m.to == ["newcomer@example.com"]] == []
