"""Personal API tokens: the tokens page, creation shown once after a fresh re-authentication,
revocation (by hand, and on a password change or reset), authentication, and the second factor
SIGNOFF_REQUIRE_MFA asks of role-holders."""

import datetime
import hashlib
import re
import time

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import wait_for
from tests.factories import PASSWORD, UserFactory
from tests.truststream.test_accounts import totp_code
from truststream.models import ApiToken
from truststream.services import token_authenticate, token_create, token_revoke

TOKENS = "/accounts/tokens/"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def fresh_client(client_for):
    """`fresh_client(user)`: logged in, and re-authenticated with the password just now."""

    def make(user):
        client = client_for(user)
        client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
        return client

    return make


def revoke_url(token):
    return f"/accounts/tokens/{token.pk}/revoke/"


def test_the_tokens_page_shows_to_a_logged_in_user(client_for, owner):
    response = client_for(owner).get(TOKENS)
    assert response.status_code == 200
    assert "API tokens" in response.content.decode()


def test_an_anonymous_visitor_is_sent_to_log_in(client_for, db):
    response = client_for(None).get(TOKENS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_new_token_is_shown_once_and_only_its_sha256_is_stored(fresh_client, owner):
    client = fresh_client(owner)
    response = client.post(TOKENS, {"name": "deploy pipeline"})
    assert response.status_code == 200
    plain = response.context["created"]
    assert plain.startswith("tsr_")
    assert plain in response.content.decode()

    [token] = ApiToken.objects.filter(user=owner)
    assert token.name == "deploy pipeline"
    assert token.digest == hashlib.sha256(plain.encode()).hexdigest()
    assert plain.startswith(token.prefix)
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert not any(plain in str(value) for value in row.values())

    again = client.get(TOKENS)
    assert again.status_code == 200
    page = again.content.decode()
    assert "deploy pipeline" in page
    assert plain not in page
    assert token_authenticate(plain) == owner


def test_a_blank_name_is_refused_with_a_field_error(fresh_client, owner):
    response = fresh_client(owner).post(TOKENS, {"name": "   "})
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert response.context["created"] is None
    assert not ApiToken.objects.exists()


def test_an_expiry_in_the_past_is_refused(fresh_client, owner):
    past = (timezone.now() - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = fresh_client(owner).post(TOKENS, {"name": "deploy pipeline", "expires_at": past})
    assert response.status_code == 400
    assert "expires_at" in response.context["form"].errors
    assert response.context["created"] is None
    assert not ApiToken.objects.exists()


def test_an_expiry_in_the_future_is_kept(fresh_client, owner):
    future = timezone.now() + datetime.timedelta(days=30)
    response = fresh_client(owner).post(
        TOKENS, {"name": "nightly", "expires_at": future.strftime("%Y-%m-%dT%H:%M")}
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(user=owner)
    assert token.expires_at is not None
    assert abs(token.expires_at - future) < datetime.timedelta(minutes=1)


def test_creating_a_token_needs_a_fresh_reauthentication(client_for, owner):
    client = client_for(owner)
    page = client.get(TOKENS)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Creating a token needs your password again" in body
    assert "Create token" not in body

    response = client.post(TOKENS, {"name": "deploy pipeline"})
    assert response.status_code == 302
    reauthenticate = reverse("account_reauthenticate")
    assert response["Location"] == f"{reauthenticate}?next=%2Faccounts%2Ftokens%2F"
    assert not ApiToken.objects.exists()

    # The password again, and the page asks no more; the re-authentication sends them back.
    back = client.post(f"{reverse('account_reauthenticate')}?next={TOKENS}", {"password": PASSWORD})
    assert back["Location"] == TOKENS
    assert "Create token" in client.get(TOKENS).content.decode()
    assert client.post(TOKENS, {"name": "deploy pipeline"}).status_code == 200
    assert ApiToken.objects.filter(user=owner).count() == 1

    # Five minutes later, it is asked again.
    with time_machine.travel(time.time() + 301, tick=False):
        late = client.post(TOKENS, {"name": "another"})
    assert late["Location"].startswith(reverse("account_reauthenticate"))
    assert ApiToken.objects.filter(user=owner).count() == 1


def test_someone_with_a_second_factor_gives_it_too(fresh_client, owner):
    TOTP.activate(owner, SECRET)
    client = fresh_client(owner)  # the password alone
    response = client.post(TOKENS, {"name": "deploy pipeline"})
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    assert not ApiToken.objects.exists()
    client.post(reverse("mfa_reauthenticate"), {"code": totp_code(SECRET, time.time())})
    assert client.post(TOKENS, {"name": "deploy pipeline"}).status_code == 200
    assert ApiToken.objects.filter(user=owner).count() == 1


def test_a_role_holder_without_a_second_factor_cannot_create_a_token_when_required(
    fresh_client, holders, editor, settings
):
    officer = holders["security_officer"]
    settings.SIGNOFF_REQUIRE_MFA = True
    client = fresh_client(officer)
    page = client.get(TOKENS)
    assert "asks every role-holder for two-factor authentication" in page.content.decode()
    response = client.post(TOKENS, {"name": "deploy pipeline"})
    assert response["Location"] == reverse("mfa_index")
    assert not ApiToken.objects.filter(user=officer).exists()

    # Someone without an approval role is not asked; a role-holder with a factor may go on.
    assert fresh_client(editor).post(TOKENS, {"name": "ci"}).status_code == 200
    TOTP.activate(officer, SECRET)
    client.post(reverse("mfa_reauthenticate"), {"code": totp_code(SECRET, time.time())})
    assert client.post(TOKENS, {"name": "deploy pipeline"}).status_code == 200
    assert ApiToken.objects.filter(user=officer).count() == 1


def test_the_setting_off_lets_a_role_holder_create_a_token(fresh_client, holders):
    officer = holders["security_officer"]
    assert fresh_client(officer).post(TOKENS, {"name": "ci"}).status_code == 200
    assert ApiToken.objects.filter(user=officer).count() == 1


def api_readiness(plan, plain):
    return Client().get(
        f"/api/v1/plans/{plan.pk}/readiness", headers={"Authorization": f"Bearer {plain}"}
    )


def test_a_role_holders_token_is_refused_while_they_lack_a_required_second_factor(
    plan, holders, viewer, settings
):
    officer = holders["security_officer"]
    _, officers = token_create(user=officer, name="ci")
    _, viewers = token_create(user=viewer, name="ci")
    assert api_readiness(plan, officers).status_code == 200  # the setting is off

    settings.SIGNOFF_REQUIRE_MFA = True
    refused = api_readiness(plan, officers)
    assert refused.status_code == 403
    assert refused["Content-Type"].startswith("application/json")
    assert "requires two-factor authentication" in refused.json()["detail"]
    assert api_readiness(plan, viewers).status_code == 200  # no role, no question

    TOTP.activate(officer, SECRET)
    assert api_readiness(plan, officers).status_code == 200


def change_password(client, new):
    return client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )


def revocation_mails(user):
    return [m for m in mail.outbox if m.to == [user.email] and "revoked" in m.subject]


@pytest.mark.django_db(transaction=True)
def test_a_password_change_revokes_the_tokens_and_says_so_by_email(client_for, celery_worker):
    person = UserFactory()
    _, deploy_plain = token_create(user=person, name="deploy pipeline")
    nightly, _ = token_create(user=person, name="nightly checks")
    token_revoke(token=nightly)
    someone_else = UserFactory()
    _, theirs = token_create(user=someone_else, name="theirs")

    response = change_password(client_for(person), "a-brand-new-passphrase-77")
    assert response.status_code == 302
    assert token_authenticate(deploy_plain) is None
    assert token_authenticate(theirs) == someone_else

    [message] = wait_for(lambda: revocation_mails(person))
    assert message.subject == "[TrustStram] Your API token was revoked"
    assert "Your password was changed" in message.body
    assert "- deploy pipeline" in message.body
    assert "nightly checks" not in message.body  # revoked before: nothing to tell
    assert "http://127.0.0.1:8000/accounts/tokens/" in message.body


@pytest.mark.django_db(transaction=True)
def test_a_password_reset_revokes_the_tokens_and_says_so_by_email(client_for, celery_worker):
    person = UserFactory()
    _, first = token_create(user=person, name="deploy pipeline")
    _, second = token_create(user=person, name="release checks")
    client = client_for(None)
    client.post(reverse("account_reset_password"), {"email": person.email})
    [reset] = [m for m in mail.outbox if "/accounts/password/reset/key/" in m.body]
    key_path = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", reset.body)[1]
    form = client.get(key_path, follow=True)
    new = "a-brand-new-passphrase-77"
    done = client.post(form.redirect_chain[-1][0], {"password1": new, "password2": new})
    assert done.status_code == 302
    assert token_authenticate(first) is None
    assert token_authenticate(second) is None

    [message] = wait_for(lambda: revocation_mails(person))
    assert message.subject == "[TrustStram] Your API tokens were revoked"
    assert "Your password was reset" in message.body
    assert "- deploy pipeline\n- release checks" in message.body


@pytest.mark.django_db(transaction=True)
def test_a_password_change_without_tokens_sends_no_revocation_email(client_for, celery_worker):
    person = UserFactory()
    other = UserFactory()
    token_create(user=other, name="theirs")
    change_password(client_for(person), "a-brand-new-passphrase-77")
    # The worker runs one task at a time, in order: once a later email is out, any earlier
    # one would be out too.
    change_password(client_for(other), "a-brand-new-passphrase-77")
    wait_for(lambda: revocation_mails(other))
    assert revocation_mails(person) == []


def test_revoking_a_token_marks_it_revoked_and_it_stops_working(client_for, owner):
    token, plain = token_create(user=owner, name="deploy pipeline")
    response = client_for(owner).post(revoke_url(token))
    assert response.status_code == 302
    assert response["Location"] == TOKENS
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token_authenticate(plain) is None


def test_nobody_can_revoke_someone_elses_token(client_for, owner, outsider):
    token, plain = token_create(user=owner, name="deploy pipeline")
    response = client_for(outsider).post(revoke_url(token))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert token_authenticate(plain) == owner


def test_revoking_needs_a_post(client_for, owner):
    token, _ = token_create(user=owner, name="deploy pipeline")
    response = client_for(owner).get(revoke_url(token))
    assert response.status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_needs_the_csrf_token(client_for, owner):
    token, _ = token_create(user=owner, name="deploy pipeline")
    response = client_for(owner, send_token=False).post(revoke_url(token))
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_a_good_token_authenticates_its_owner_and_records_its_use(owner):
    token, plain = token_create(user=owner, name="deploy pipeline")
    assert token.last_used_at is None
    assert token_authenticate(plain) == owner
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_revoked_token_does_not_authenticate(owner):
    token, plain = token_create(user=owner, name="deploy pipeline")
    token_revoke(token=token)
    assert token_authenticate(plain) is None


def test_an_expired_token_does_not_authenticate(owner, time_machine):
    now = timezone.now()
    _, plain = token_create(
        user=owner, name="short-lived", expires_at=now + datetime.timedelta(hours=1)
    )
    assert token_authenticate(plain) == owner
    time_machine.move_to(now + datetime.timedelta(hours=1, seconds=1))
    assert token_authenticate(plain) is None


def test_an_inactive_users_token_does_not_authenticate(owner):
    _, plain = token_create(user=owner, name="deploy pipeline")
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    assert token_authenticate(plain) is None


@pytest.mark.parametrize(
    "garbage",
    ["", "x" * 500, "tsr_", "tsr_unknown-token", "tsr_" + "x" * 500, "Bearer tsr_abc"],
)
def test_unknown_and_garbage_tokens_do_not_authenticate(owner, garbage):
    token_create(user=owner, name="deploy pipeline")
    assert token_authenticate(garbage) is None


def test_a_token_only_authenticates_its_own_user(owner):
    other = UserFactory()
    _, mine = token_create(user=owner, name="mine")
    _, theirs = token_create(user=other, name="theirs")
    assert token_authenticate(mine) == owner
    assert token_authenticate(theirs) == other
