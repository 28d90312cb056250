from django.core import mail
from django.urls import reverse

from tests.conftest import wait_for


def test_adding_a_member_emails_them_through_the_worker(
    celery_worker, client_for, plan, owner, outsider
):
    client_for(owner).post(
        reverse("planning:member_add", args=[plan.pk]), {"email": outsider.email, "role": "editor"}
    )

    def invitation():
        return [message for message in mail.outbox if outsider.email in message.to]

    [message] = wait_for(invitation)
    assert message.subject == "[TrustStram] You were added to Checkout service rollout 4.4.0"
    assert "as editor" in message.body
    assert f"http://127.0.0.1:8000/plans/{plan.pk}/" in message.body
    assert owner.email in message.body


def test_a_member_removed_before_the_worker_runs_gets_no_email(celery_worker, plan, editor, viewer):
    from planning.tasks import membership_added_notify

    wait_for(lambda: len(mail.outbox) == 2)  # the invitations of the plan fixture
    mail.outbox.clear()
    removed = plan.memberships.get(user=editor)
    plan.memberships.filter(pk=removed.pk).delete()

    membership_added_notify.delay(removed.pk)
    # The worker runs one task at a time, in order: once the second email is out, the first
    # task has run too.
    membership_added_notify.delay(plan.memberships.get(user=viewer).pk)
    wait_for(lambda: mail.outbox)

    assert [message.to for message in mail.outbox] == [[viewer.email]]
