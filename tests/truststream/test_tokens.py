"""Personal API tokens: the tokens page, creation shown once, revocation, authentication."""

import datetime
import hashlib

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory
from truststream.models import ApiToken
from truststream.services import token_authenticate, token_create, token_revoke

TOKENS = "/accounts/tokens/"


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


def test_a_new_token_is_shown_once_and_only_its_sha256_is_stored(client_for, owner):
    client = client_for(owner)
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


def test_a_blank_name_is_refused_with_a_field_error(client_for, owner):
    response = client_for(owner).post(TOKENS, {"name": "   "})
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert response.context["created"] is None
    assert not ApiToken.objects.exists()


def test_an_expiry_in_the_past_is_refused(client_for, owner):
    past = (timezone.now() - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client_for(owner).post(TOKENS, {"name": "deploy pipeline", "expires_at": past})
    assert response.status_code == 400
    assert "expires_at" in response.context["form"].errors
    assert response.context["created"] is None
    assert not ApiToken.objects.exists()


def test_an_expiry_in_the_future_is_kept(client_for, owner):
    future = timezone.now() + datetime.timedelta(days=30)
    response = client_for(owner).post(
        TOKENS, {"name": "nightly", "expires_at": future.strftime("%Y-%m-%dT%H:%M")}
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(user=owner)
    assert token.expires_at is not None
    assert abs(token.expires_at - future) < datetime.timedelta(minutes=1)


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
