from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from signoffs.models import SignoffRequirement

# Pages a role-holder without a second factor can still reach: their account (where the
# factor is set up, and logging out), the static files and the health check.
OPEN_PREFIXES = ("/accounts/", "/static/", "/healthz")


def holds_an_approval_role(user) -> bool:
    """The user holds an approval role on a plan that is not archived: SIGNOFF_REQUIRE_MFA asks
    them for a second factor here, for API tokens (`truststream.accounts`) and for signing."""
    return SignoffRequirement.objects.filter(assignee=user, plan__archived_at__isnull=True).exists()


def second_factor_required(sender, user, **kwargs) -> bool:
    """Receiver of `truststream.accounts.second_factor_required`."""
    return holds_an_approval_role(user)


class RoleHoldersEnrollMfa:
    """With SIGNOFF_REQUIRE_MFA, a person who holds an approval role on any plan uses the
    application only once they have a second factor: every other page sends them to set one
    up. Two indexed queries per request for signed-in users, and none when the setting is off."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.SIGNOFF_REQUIRE_MFA
            and request.user.is_authenticated
            and not request.path.startswith(OPEN_PREFIXES)
            and holds_an_approval_role(request.user)
            and not is_mfa_enabled(request.user)
        ):
            messages.warning(
                request,
                "You hold an approval role, and this instance asks every role-holder for two-"
                "factor authentication. Set up an authenticator app to go on.",
            )
            target = reverse("mfa_activate_totp")
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            return redirect(target)
        return self.get_response(request)
