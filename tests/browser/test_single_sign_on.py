"""Single sign-on through a real OpenID Connect provider on loopback (tests/oidc/provider.js):
the code flow with PKCE, driven in Chromium."""

import copy
from urllib.parse import parse_qs, urlparse

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests import sso
from tests.factories import PASSWORD, UserFactory
from truststream import services
from truststream.models import TeamMembership
from truststream.settings import oidc_origin

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def provider(live_server):
    running = sso.Provider(f"{live_server.url}/accounts/oidc/sso/login/callback/")
    yield running
    running.stop()


@pytest.fixture
def single_sign_on(provider, settings):
    settings.SOCIALACCOUNT_PROVIDERS = provider.settings()
    settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"  # the live server's; https in production
    # As settings.py makes it from OIDC_ISSUER.
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = ["'self'", *oidc_origin(provider.issuer)]
    settings.CONTENT_SECURITY_POLICY = policy
    yield provider
    assert not provider.errors, "".join(provider.errors)


@pytest.fixture
def admin(transactional_db):
    return UserFactory(username="ada", is_staff=True)


def sign_in_through_provider(page, login):
    """From our sign-in page through the provider's and back; returns the authorization
    request's query, as the browser sent it to the provider."""
    authorizations = []
    page.on(
        "request",
        lambda request: "/auth?" in request.url and authorizations.append(request.url),
    )
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Sign in with Example SSO").click()
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(sso.PASSWORD)
    page.get_by_role("button", name="Sign in to the provider").click()
    return parse_qs(urlparse(authorizations[0]).query)


def test_a_new_person_signs_in_with_the_code_flow_and_pkce(new_page, single_sign_on, admin):
    security = services.team_create(actor=admin, name="Security", sso_group="security-reviewers")
    page = new_page()

    query = sign_in_through_provider(page, "alice")

    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    expect(page.get_by_role("heading", name="Deployment plans")).to_be_visible()
    alice = get_user_model().objects.get(email="alice@example.com")
    assert (alice.first_name, alice.last_name) == ("Alice", "Archer")
    assert not alice.has_usable_password()
    assert EmailAddress.objects.filter(user=alice, email="alice@example.com", verified=True)
    assert SocialAccount.objects.get(user=alice).uid == "alice"
    # The group claim made her a member of the team mapped to it.
    membership = TeamMembership.objects.get(user=alice)
    assert (membership.team, membership.source) == (security, "sso")
    assert security.group in alice.groups.all()


def test_an_existing_account_is_linked_by_its_verified_email(new_page, single_sign_on, admin):
    carol = UserFactory(username="carol", email="carol@example.com")
    platform = services.team_create(actor=admin, name="Platform", sso_group="platform-engineers")
    # An earlier sign-in put her in SRE; the provider no longer names that group.
    sre = services.team_create(actor=admin, name="SRE", sso_group="sre")
    services.team_memberships_sync(user=carol, groups=["sre"])
    # A maintainer added her to Security by hand: sign-in leaves that alone.
    security = services.team_create(actor=admin, name="Security")
    services.team_member_add(team=security, actor=admin, email=carol.email, role="maintainer")
    page = new_page()

    sign_in_through_provider(page, "carol")

    expect(page.get_by_role("heading", name="Deployment plans")).to_be_visible()
    assert get_user_model().objects.filter(email__iexact="carol@example.com").count() == 1
    assert SocialAccount.objects.get(uid="carol").user == carol
    carol.refresh_from_db()
    assert carol.check_password(PASSWORD)  # her verified address kept her password
    teams = dict(carol.team_memberships.values_list("team__name", "role"))
    assert teams == {"Platform": "member", "Security": "maintainer"}
    assert set(carol.groups.all()) == {platform.group, security.group}
    assert sre.group not in carol.groups.all()


def test_an_unverified_email_is_refused_with_a_reason(new_page, single_sign_on):
    page = new_page()

    sign_in_through_provider(page, "bob")

    expect(page.get_by_role("heading", name="Sign-in refused")).to_be_visible()
    expect(page.locator("main")).to_contain_text(
        "Your identity provider has not verified the email address bob@example.com"
    )
    assert not get_user_model().objects.filter(email__iexact="bob@example.com").exists()
    assert not SocialAccount.objects.exists()
    page.goto("/plans/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_an_account_without_a_password_signs_after_signing_in_through_the_provider_again(
    new_page, single_sign_on, plan, owner
):
    """Signing needs a fresh re-authentication. An account made through single sign-on has no
    password: the sign page sends it through the provider again, which is asked to ask for the
    credentials anew (prompt=login), and back, where a one-time proof lets it sign."""
    from planning import services as planning_services
    from signoffs import services as signoff_services
    from signoffs.models import Signoff

    page = new_page()
    sign_in_through_provider(page, "alice")
    expect(page.get_by_role("heading", name="Deployment plans")).to_be_visible()
    alice = get_user_model().objects.get(email="alice@example.com")
    assert not alice.has_usable_password()
    planning_services.membership_add(plan=plan, actor=owner, email=alice.email, role="viewer")
    officer = plan.roles.get(role="security_officer")
    signoff_services.role_assign(requirement=officer, assignee=alice)

    authorizations = []
    page.on("request", lambda r: "/auth?" in r.url and authorizations.append(r.url))
    page.goto(f"/plans/{plan.pk}/signoffs/security_officer/sign/")
    # allauth asks before it leaves for the provider; the provider asks for the password again.
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    page.get_by_label("Login").fill("alice")
    page.get_by_label("Password").fill(sso.PASSWORD)
    page.get_by_role("button", name="Sign in to the provider").click()

    assert parse_qs(urlparse(authorizations[-1]).query)["prompt"] == ["login"]
    page.get_by_label("Approve").check()
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.locator("#role-security_officer")).to_contain_text("Approved")
    assert Signoff.objects.get(signer=alice).decision == "approve"
