"""Single sign-on settings and SSO_ONLY, without a provider (the browser tests in
tests/browser/test_single_sign_on.py sign in through a real one)."""

import pytest
from django.contrib.auth import get_user_model

from tests.factories import PASSWORD, UserFactory
from truststream.settings import oidc_origin, oidc_providers

ISSUER = "https://id.example.com/realms/acme"


@pytest.fixture
def sso_configured(settings):
    settings.SOCIALACCOUNT_PROVIDERS = oidc_providers(
        ISSUER, "client", "secret", "Sign in with Acme", ["openid", "email"]
    )


def test_it_is_off_unless_issuer_client_and_secret_are_all_set():
    assert oidc_providers("", "client", "secret", "label", ["openid"]) == {}
    assert oidc_providers(ISSUER, "client", "", "label", ["openid"]) == {}
    app = oidc_providers(ISSUER, "client", "secret", "label", ["openid"])["openid_connect"]
    assert app["APPS"][0]["settings"]["oauth_pkce_enabled"] is True
    assert app["APPS"][0]["settings"]["server_url"] == ISSUER
    assert oidc_origin(ISSUER) == ["https://id.example.com"]
    assert oidc_origin("") == []


def test_the_sign_in_page_has_no_button_without_a_provider(client, db):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with" not in page
    assert 'name="password"' in page


def test_the_sign_in_page_offers_the_provider_beside_the_password(client, db, sso_configured):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Acme" in page
    assert 'action="/accounts/oidc/sso/login/?process=login' in page
    assert "Or with your password" in page


def test_sso_only_folds_the_password_away_and_closes_sign_up(client, db, sso_configured, settings):
    settings.SSO_ONLY = True
    page = client.get("/accounts/login/").content.decode()
    assert "Administrator sign-in with a password" in page
    assert "sign up" not in page
    assert client.get("/accounts/signup/").status_code == 200  # allauth's "sign up closed"
    assert "Sign Up Closed" in client.get("/accounts/signup/").content.decode()


@pytest.mark.parametrize(("superuser", "signed_in"), [(False, False), (True, True)])
def test_sso_only_lets_only_superusers_sign_in_with_a_password(
    client, db, sso_configured, settings, superuser, signed_in
):
    settings.SSO_ONLY = True
    person = UserFactory(username="pat", is_superuser=superuser, is_staff=superuser)
    response = client.post(
        "/accounts/login/", {"login": person.email, "password": PASSWORD}, follow=True
    )
    assert response.wsgi_request.user.is_authenticated is signed_in
    if not signed_in:
        assert "Sign in through single sign-on, with the button above" in (
            response.content.decode()
        )
    assert get_user_model().objects.count() == 1


# Re-authentication of an account without a password: through the provider, proven once.


@pytest.fixture
def sso_user(db, settings):
    from allauth.socialaccount.models import SocialAccount

    settings.SOCIALACCOUNT_PROVIDERS = oidc_providers(
        "https://idp.example.com", "client", "secret", "Sign in with Example SSO", ["openid"]
    )
    user = UserFactory(username="sid")
    user.set_unusable_password()
    user.save()
    SocialAccount.objects.create(user=user, provider="sso", uid="sid")
    return user


def _request(user, query: str = "", signed_in_through_provider: bool = True):
    import time

    from django.contrib.sessions.backends.cache import SessionStore
    from django.test import RequestFactory

    request = RequestFactory().get(f"/plans/1/signoffs/security_officer/sign/{query}")
    request.user = user
    request.session = SessionStore()
    if signed_in_through_provider:
        request.session["account_authentication_methods_user"] = str(user.pk)
        request.session["account_authentication_methods"] = [
            {"method": "socialaccount", "at": time.time(), "provider": "sso", "uid": "sid"}
        ]
    return request


def test_an_account_without_a_password_is_sent_through_its_provider_with_prompt_login(sso_user):
    from urllib.parse import parse_qs, urlparse

    from truststream.accounts import reauthentication_url

    url = reauthentication_url(_request(sso_user), "/plans/1/signoffs/security_officer/sign/")
    query = parse_qs(urlparse(url).query)
    assert urlparse(url).path == "/accounts/oidc/sso/login/"
    assert query["auth_params"] == ["prompt=login"]
    assert query["next"][0].startswith("/plans/1/signoffs/security_officer/sign/?reauthenticated=")


def test_only_the_one_time_proof_of_a_requested_sign_in_counts(sso_user):
    from urllib.parse import parse_qs, urlparse

    from truststream.accounts import reauthentication_url

    sign = "/plans/1/signoffs/security_officer/sign/"
    # Signed in through the provider a minute ago, but not because we asked: not enough.
    assert reauthentication_url(_request(sso_user), sign) is not None
    url = reauthentication_url(_request(sso_user), sign)
    back = parse_qs(urlparse(url).query)["next"][0]
    proof = back.split("?", 1)[1]
    # Back with the proof after signing in through the provider: it counts, once.
    assert reauthentication_url(_request(sso_user, f"?{proof}"), sign) is None
    assert reauthentication_url(_request(sso_user, f"?{proof}"), sign) is not None
    # A proof without the provider's sign-in in this session does not count either.
    url = reauthentication_url(_request(sso_user), sign)
    proof = parse_qs(urlparse(url).query)["next"][0].split("?", 1)[1]
    late = _request(sso_user, f"?{proof}", signed_in_through_provider=False)
    assert reauthentication_url(late, sign) is not None
