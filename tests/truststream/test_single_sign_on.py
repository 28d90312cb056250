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
