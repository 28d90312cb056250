"""Invitations: everyone added to a plan is invited by email, signs up if need be, and joins
once they accept with a verified address; owners see and withdraw pending invitations, and the
audit trail records all of it."""

import datetime
import re

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail, signing
from django.urls import reverse
from django.utils import timezone

from planning import services
from planning.models import Invitation
from tests.conftest import wait_for
from truststream import activity, audit

NEWCOMER = "newcomer@example.com"
NEW_PASSWORD = "a-long-and-new-passphrase-42"


def link_path(message) -> str:
    return re.search(r"https?://[^/\s]+(/invitations/\S+/)", message.body)[1]


def invite(plan, owner, email=NEWCOMER, role="editor") -> Invitation:
    return services.invitation_create(plan=plan, actor=owner, email=email, role=role)


def invitation_path(invitation) -> str:
    return reverse("planning:invitation", args=[invitation.token])


@pytest.mark.django_db(transaction=True)
def test_a_newcomer_follows_the_emailed_link_signs_up_confirms_and_lands_in_the_plan(
    client_for, plan, owner, celery_worker
):
    response = client_for(owner).post(
        reverse("planning:member_add", args=[plan.pk]), {"email": NEWCOMER, "role": "editor"}
    )
    assert response.status_code == 302
    [message] = wait_for(lambda: [m for m in mail.outbox if m.to == [NEWCOMER]])
    path = link_path(message)

    newcomer = client_for(None)
    page = newcomer.get(path)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Join “Checkout service rollout”" in body
    assert f"invites <strong>{NEWCOMER}</strong>" in body
    assert "as editor" in body

    signup = newcomer.post(
        reverse("account_signup"),
        {"email": NEWCOMER, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert signup.status_code == 302
    confirmation = wait_for(
        lambda: [m for m in mail.outbox if m.to == [NEWCOMER] and "confirm-email" in m.body]
    )[0]
    confirm_path = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", confirmation.body)
    assert newcomer.post(confirm_path[1]).status_code == 302
    assert EmailAddress.objects.get(email=NEWCOMER).verified

    login = newcomer.post(reverse("account_login"), {"login": NEWCOMER, "password": NEW_PASSWORD})
    assert login["Location"] == path  # back to the invitation after all that
    assert "Accept and open the plan" in newcomer.get(path).content.decode()
    accepted = newcomer.post(path)
    assert accepted["Location"] == reverse("planning:plan_detail", args=[plan.pk])

    membership = plan.memberships.get(user__email=NEWCOMER)
    assert membership.role == "editor"
    assert membership.added_by == owner
    welcome = newcomer.get(accepted["Location"])
    assert welcome.status_code == 200
    assert "Welcome to “Checkout service rollout 4.4.0”: you are its editor." in (
        welcome.content.decode()
    )
    invitation = plan.invitations.get(email=NEWCOMER)
    assert (invitation.state, invitation.accepted_by) == ("accepted", membership.user)
    # The link is used up.
    assert newcomer.get(path).status_code == 410


def test_someone_with_an_account_accepts_while_logged_in(client_for, plan, owner, outsider):
    invitation = invite(plan, owner, email=outsider.email.upper(), role="viewer")
    client = client_for(outsider)
    assert "Accept and open the plan" in client.get(invitation_path(invitation)).content.decode()
    response = client.post(invitation_path(invitation))
    assert response.status_code == 302
    assert plan.memberships.get(user=outsider).role == "viewer"
    assert client.get(reverse("planning:plan_detail", args=[plan.pk])).status_code == 200


def test_an_anonymous_post_is_sent_to_log_in_and_changes_nothing(client_for, plan, owner):
    invitation = invite(plan, owner)
    response = client_for(None).post(invitation_path(invitation))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert Invitation.objects.get(pk=invitation.pk).state == "pending"


def test_another_account_cannot_accept_it(client_for, plan, owner, outsider):
    invitation = invite(plan, owner)  # for NEWCOMER, not for outsider
    client = client_for(outsider)
    page = client.get(invitation_path(invitation)).content.decode()
    assert "Accept and open the plan" not in page
    assert f"this invitation is for {NEWCOMER}" in page
    response = client.post(invitation_path(invitation))
    assert response.status_code == 400
    assert f"This invitation is for {NEWCOMER}" in response.content.decode()
    assert not plan.memberships.filter(user=outsider).exists()
    assert Invitation.objects.get(pk=invitation.pk).state == "pending"


def test_an_unconfirmed_address_of_ones_own_is_not_enough(client_for, plan, owner, outsider):
    EmailAddress.objects.create(user=outsider, email=NEWCOMER, verified=False, primary=False)
    invitation = invite(plan, owner)
    assert client_for(outsider).post(invitation_path(invitation)).status_code == 400
    assert not plan.memberships.filter(user=outsider).exists()
    EmailAddress.objects.filter(email=NEWCOMER).update(verified=True)
    assert client_for(outsider).post(invitation_path(invitation)).status_code == 302
    assert plan.memberships.get(user=outsider).role == "editor"


def test_a_member_who_accepts_keeps_their_role(client_for, plan, owner, viewer):
    EmailAddress.objects.create(user=viewer, email=NEWCOMER, verified=True, primary=False)
    invitation = invite(plan, owner, role="owner")
    response = client_for(viewer).post(invitation_path(invitation), follow=True)
    assert "You were already a member of this plan, as viewer." in response.content.decode()
    assert plan.memberships.get(user=viewer).role == "viewer"
    assert Invitation.objects.get(pk=invitation.pk).state == "accepted"


def test_an_expired_invitation_shows_a_clear_page(client_for, plan, owner, outsider):
    invitation = invite(plan, owner, email=outsider.email)
    later = timezone.now() + datetime.timedelta(days=7, seconds=1)
    with time_machine.travel(later, tick=False):
        client = client_for(outsider)
        page = client.get(invitation_path(invitation))
        assert page.status_code == 410
        assert "This invitation has expired" in page.content.decode()
        assert owner.email in page.content.decode()  # whom to ask for a new one
        assert client.post(invitation_path(invitation)).status_code == 410
    assert not plan.memberships.filter(user=outsider).exists()


def test_a_day_before_it_expires_it_still_works(client_for, plan, owner, outsider):
    invitation = invite(plan, owner, email=outsider.email)
    with time_machine.travel(timezone.now() + datetime.timedelta(days=6), tick=False):
        assert client_for(outsider).post(invitation_path(invitation)).status_code == 302
    assert plan.memberships.filter(user=outsider).exists()


def test_a_withdrawn_invitation_shows_a_clear_page(client_for, plan, owner, outsider):
    invitation = invite(plan, owner, email=outsider.email)
    services.invitation_withdraw(invitation=invitation)
    client = client_for(outsider)
    page = client.get(invitation_path(invitation))
    assert page.status_code == 410
    assert "This invitation was withdrawn" in page.content.decode()
    assert client.post(invitation_path(invitation)).status_code == 410
    assert not plan.memberships.filter(user=outsider).exists()


def test_a_replaced_invitations_old_link_stops_working(client_for, plan, owner, outsider):
    old = invite(plan, owner, email=outsider.email, role="owner")
    new = invite(plan, owner, email=outsider.email, role="viewer")
    client = client_for(outsider)
    assert client.post(invitation_path(old)).status_code == 410
    assert client.post(invitation_path(new)).status_code == 302
    assert plan.memberships.get(user=outsider).role == "viewer"


def test_a_used_invitation_says_so_and_links_its_member_to_the_plan(
    client_for, plan, owner, outsider
):
    invitation = invite(plan, owner, email=outsider.email)
    client = client_for(outsider)
    client.post(invitation_path(invitation))
    page = client.get(invitation_path(invitation))
    assert page.status_code == 410
    body = page.content.decode()
    assert "This invitation was already accepted" in body
    assert reverse("planning:plan_detail", args=[plan.pk]) in body
    # Anyone else holding the link learns nothing more.
    assert reverse("planning:plan_detail", args=[plan.pk]) not in (
        client_for(None).get(invitation_path(invitation)).content.decode()
    )


@pytest.mark.parametrize(
    "token",
    [
        "x",
        "1:abc",
        "MQ:1tVbNq:" + "A" * 43,
        signing.dumps(1, salt="another.purpose"),
        signing.dumps("1", salt=Invitation.TOKEN_SALT),
        signing.dumps(10**30, salt=Invitation.TOKEN_SALT),
        "٣" * 5000,
    ],
)
def test_a_link_we_did_not_make_shows_a_clear_page(client_for, db, token):
    page = client_for(None).get(f"/invitations/{token}/")
    assert page.status_code == 404
    assert "This invitation link is not valid" in page.content.decode()


def test_a_withdrawn_invitation_cannot_be_withdrawn_again(plan, owner):
    from django.core.exceptions import ValidationError

    invitation = invite(plan, owner)
    services.invitation_withdraw(invitation=invitation)
    with pytest.raises(ValidationError):
        services.invitation_withdraw(invitation=invitation)


def test_the_audit_trail_records_invitations_withdrawals_and_acceptances(
    client_for, plan, owner, outsider
):
    from truststream.audit.history import context

    with context(user=owner.pk):
        withdrawn = invite(plan, owner, email="gone@example.com", role="viewer")
        services.invitation_withdraw(invitation=withdrawn)
        accepted = invite(plan, owner, email=outsider.email, role="editor")
    with context(user=outsider.pk):
        services.invitation_accept(invitation=accepted, user=outsider)

    assert any(m._meta.label == "planning.InvitationEvent" for m in audit.plan_event_models())
    events = audit.plan_events_feed(plan.pk).filter(pgh_obj_model="planning.Invitation")
    assert sorted(events.values_list("pgh_label", flat=True)) == [
        "insert",
        "insert",
        "update",
        "update",
    ]
    feed = activity.describe(activity.plan_activity(plan.pk, kind="members"), plan_id=plan.pk)
    sentences = [entry.sentence for entry in feed]
    name = owner.get_full_name()
    assert f"{name} invited gone@example.com as viewer" in sentences
    assert f"{name} withdrew the invitation of gone@example.com" in sentences
    assert f"{name} invited {outsider.email} as editor" in sentences
    who = outsider.get_full_name()
    assert f"{who} accepted the invitation sent to {outsider.email}" in sentences
    assert f"{who} joined the plan as editor" in sentences

    # A seal taken now covers the invitations' events, and still verifies.
    seal = audit.seal_take(plan_id=plan.pk, reason="test")
    assert seal.marks.get("planning.InvitationEvent")
    assert audit.verify(plan.pk)[1] is None
