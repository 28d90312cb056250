from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render

from truststream.accounts import pop_return_after_login


class AccountAdapter(DefaultAccountAdapter):
    def get_email_confirmation_url(self, request, emailconfirmation):
        """Confirmation links point at the configured site, also when sent outside a request."""
        url = super().get_email_confirmation_url(request, emailconfirmation)
        if request is None and url.startswith("/"):
            return settings.SITE_URL + url
        return url

    def get_login_redirect_url(self, request):
        """Back to the page that asked for a login earlier in this session (an invitation
        opened before signing up), else the default. A `next` parameter still comes first."""
        return pop_return_after_login(request) or super().get_login_redirect_url(request)

    def is_open_for_signup(self, request):
        """With SSO_ONLY, accounts come from the identity provider only."""
        return not settings.SSO_ONLY

    def pre_login(self, request, user, *, signal_kwargs=None, **kwargs):
        """With SSO_ONLY, only a superuser may sign in with a password (to reach the site when
        the provider is away); everybody else goes through the provider."""
        refused = (
            settings.SSO_ONLY
            and not user.is_superuser
            and not (signal_kwargs or {}).get("sociallogin")
        )
        if refused:
            messages.error(
                request,
                "Sign in through single sign-on, with the button above: here passwords are "
                "for administrators only.",
            )
            return redirect("account_login")
        return super().pre_login(request, user, signal_kwargs=signal_kwargs, **kwargs)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request, sociallogin):
        """An account is matched (or made) by email only when the provider says that it
        verified the address: anybody can type an unverified one, such as a colleague's."""
        verified = [address for address in sociallogin.email_addresses if address.verified]
        if not verified:
            given = next((a.email for a in sociallogin.email_addresses), "")
            response = render(request, "account/sso_refused.html", {"email": given}, status=403)
            raise ImmediateHttpResponse(response)
        # Only the verified addresses travel on: the account never gets an unverified one.
        sociallogin.email_addresses = verified

    def is_open_for_signup(self, request, sociallogin):
        return True
