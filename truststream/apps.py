from django.apps import AppConfig


def _revoke_tokens_on_password_change(sender, request, user, **kwargs):
    from truststream.services import tokens_revoke_all

    tokens_revoke_all(user=user, reason="your password was changed")


def _revoke_tokens_on_password_reset(sender, request, user, **kwargs):
    from truststream.services import tokens_revoke_all

    tokens_revoke_all(user=user, reason="your password was reset")


class TruststreamConfig(AppConfig):
    name = "truststream"
    verbose_name = "TrustStram Readiness"

    def ready(self):
        from allauth.account.signals import password_changed, password_reset

        # A token is a password of its own: whoever changes or resets the account's password
        # (perhaps because it leaked) must not leave a copy that still works.
        password_changed.connect(
            _revoke_tokens_on_password_change, dispatch_uid="truststream_tokens_password_changed"
        )
        password_reset.connect(
            _revoke_tokens_on_password_reset, dispatch_uid="truststream_tokens_password_reset"
        )
