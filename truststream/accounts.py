"""What the account's sensitive actions share: a fresh re-authentication, the second factor
that `SIGNOFF_REQUIRE_MFA` asks of role-holders, and the page to return to after logging in.

Signing and creating an API token both go through `reauthentication_url`, so that the
rule is written once. Who must have a second factor is for the apps that give out approval
roles to say: they answer `second_factor_required`, so that the core names no higher app.
"""

import secrets
import time
from urllib.parse import urlencode

# allauth keeps the session's authentication records here; it has no public accessor for them.
from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.core.cache import cache
from django.dispatch import Signal
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

# Sent with `user=`; a receiver returns True when that user must have a second factor while
# SIGNOFF_REQUIRE_MFA is on (signoffs: they hold an approval role on a plan under way).
second_factor_required = Signal()

RETURN_TO = "account_return_to"


def recently_reauthenticated(request: HttpRequest, method: str) -> bool:
    """The user re-authenticated with `method` ("password" or "mfa") a short while ago."""
    now = time.time()
    return any(
        record.get("method") == method
        and record.get("reauthenticated")
        and now - record.get("at", 0) < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT
        for record in get_authentication_records(request, request.user)
    )


# The query parameter that brings the one-time proof of a provider sign-in back, and the
# session's record of the last one.
PROVIDER_RETURN = "reauthenticated"
PROVIDER_REAUTHENTICATED_AT = "provider_reauthenticated_at"


def _nonce_key(user_id: int, nonce: str) -> str:
    return f"provider-reauthentication:{user_id}:{nonce}"


def recently_signed_in_through_provider(request: HttpRequest) -> bool:
    """The user signed in through the identity provider a short while ago (allauth records a
    single sign-on as the method "socialaccount")."""
    now = time.time()
    return any(
        record.get("method") == "socialaccount"
        and now - record.get("at", 0) < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT
        for record in get_authentication_records(request, request.user)
    )


def provider_reauthenticated(request: HttpRequest) -> bool:
    """The user signed in through their identity provider again because
    `provider_sign_in_url` sent them (the one-time nonce it gave is in this request's query, and
    is used up here), a short while ago. A sign-in through the provider that we did not ask
    to ask for the credentials again does not count: the provider may have answered it from
    a session of its own hours old. An unreachable cache counts as no proof."""
    nonce = request.GET.get(PROVIDER_RETURN, "")
    if (
        nonce
        and recently_signed_in_through_provider(request)
        and cache.delete(_nonce_key(request.user.pk, nonce[:64]))
    ):
        request.session[PROVIDER_REAUTHENTICATED_AT] = time.time()
    at = request.session.get(PROVIDER_REAUTHENTICATED_AT, 0)
    return time.time() - at < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT


def provider_sign_in_url(user, next_url: str) -> str | None:
    """For an account with no password of its own (made through single sign-on): the identity
    provider's sign-in, told to ask for the credentials again (`prompt=login`) rather than
    answer from its own session, and back to `next_url` with a one-time nonce that
    `provider_reauthenticated` takes. None when the account has no provider to go back to."""
    from allauth.socialaccount.models import SocialAccount

    providers = {app["provider_id"] for app in _oidc_apps()}
    account = SocialAccount.objects.filter(user=user, provider__in=providers).first()
    if account is None:
        return None
    nonce = secrets.token_urlsafe(16)
    cache.set(_nonce_key(user.pk, nonce), 1, timeout=settings.ACCOUNT_REAUTHENTICATION_TIMEOUT)
    joiner = "&" if "?" in next_url else "?"
    back = f"{next_url}{joiner}{urlencode({PROVIDER_RETURN: nonce})}"
    query = urlencode({"process": "login", "next": back, "auth_params": "prompt=login"})
    return f"{reverse('openid_connect_login', args=[account.provider])}?{query}"


def _oidc_apps() -> list[dict]:
    return settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])


def reauthentication_url(request: HttpRequest, next_url: str) -> str | None:
    """Where to send the user before a sensitive action, or None when they may go on.

    The action needs the password again, and the second factor too where the user has one,
    both within the last ACCOUNT_REAUTHENTICATION_TIMEOUT seconds; `next_url` is where the
    re-authentication pages send them back to. An account made through single sign-on has no
    password: it signs in through its identity provider again instead, which is asked to
    ask for the credentials anew. The caller has checked that they are logged in.
    """
    user = request.user
    for method, url_name in (("password", "account_reauthenticate"), ("mfa", "mfa_reauthenticate")):
        if method == "mfa" and not is_mfa_enabled(user):
            continue
        if method == "password" and not user.has_usable_password():
            if provider_reauthenticated(request):
                continue
            url = provider_sign_in_url(user, next_url)
            if url is not None:
                return url
        if not recently_reauthenticated(request, method):
            return f"{reverse(url_name)}?{urlencode({'next': next_url})}"
    return None


def second_factor_missing(user) -> bool:
    """SIGNOFF_REQUIRE_MFA is on, the user must have a second factor, and has none. No query
    while the setting is off."""
    if not settings.SIGNOFF_REQUIRE_MFA:
        return False
    if not any(answer for _, answer in second_factor_required.send(sender=None, user=user)):
        return False
    return not is_mfa_enabled(user)


def return_after_login(request: HttpRequest, path: str) -> None:
    """Come back to `path` (one of our own pages) after the next login in this session, even
    when sign-up and email confirmation come in between."""
    request.session[RETURN_TO] = path


def pop_return_after_login(request: HttpRequest) -> str | None:
    path = request.session.pop(RETURN_TO, None)
    if path and url_has_allowed_host_and_scheme(path, allowed_hosts=None):
        return path
    return None
