"""What the account's sensitive actions share: a fresh re-authentication, the second factor
that `SIGNOFF_REQUIRE_MFA` asks of role-holders, and the page to return to after logging in.

Signing and creating an API token both go through `reauthentication_url`, so that the
rule is written once. Who must have a second factor is for the apps that give out approval
roles to say: they answer `second_factor_required`, so that the core names no higher app.
"""

import time
from urllib.parse import urlencode

# allauth keeps the session's authentication records here; it has no public accessor for them.
from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
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


def reauthentication_url(request: HttpRequest, next_url: str) -> str | None:
    """Where to send the user before a sensitive action, or None when they may go on.

    The action needs the password again, and the second factor too where the user has one,
    both within the last ACCOUNT_REAUTHENTICATION_TIMEOUT seconds; `next_url` is where the
    re-authentication pages send them back to. The caller has checked that they are logged in.
    """
    for method, url_name in (("password", "account_reauthenticate"), ("mfa", "mfa_reauthenticate")):
        if method == "mfa" and not is_mfa_enabled(request.user):
            continue
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
