from django.apps import AppConfig


def _revoke_tokens_on_password_change(sender, request, user, **kwargs):
    from truststream.services import tokens_revoke_all

    tokens_revoke_all(user=user, reason="your password was changed")


def _revoke_tokens_on_password_reset(sender, request, user, **kwargs):
    from truststream.services import tokens_revoke_all

    tokens_revoke_all(user=user, reason="your password was reset")


def _teams_from_sign_in(sender, request, user, sociallogin=None, **kwargs):
    """At each sign-in through the identity provider, the person's teams follow the groups its
    claim names (OIDC_GROUPS_CLAIM). A sign-in without the claim changes nothing."""
    from django.conf import settings

    from truststream.services import team_memberships_sync

    if sociallogin is None or not settings.OIDC_GROUPS_CLAIM:
        return
    data = sociallogin.account.extra_data or {}
    claims = {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}
    groups = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(groups, str):
        groups = [groups]
    if isinstance(groups, list):
        team_memberships_sync(user=user, groups=[g for g in groups if isinstance(g, str)])


class TruststreamConfig(AppConfig):
    name = "truststream"
    verbose_name = "TrustStram Readiness"

    def ready(self):
        from allauth.account.signals import password_changed, password_reset, user_logged_in

        # A token is a password of its own: whoever changes or resets the account's password
        # (perhaps because it leaked) must not leave a copy that still works.
        password_changed.connect(
            _revoke_tokens_on_password_change, dispatch_uid="truststream_tokens_password_changed"
        )
        password_reset.connect(
            _revoke_tokens_on_password_reset, dispatch_uid="truststream_tokens_password_reset"
        )
        user_logged_in.connect(_teams_from_sign_in, dispatch_uid="truststream_teams_sign_in")
