from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

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
