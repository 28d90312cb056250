from django.apps import AppConfig


class GatesConfig(AppConfig):
    name = "gates"
    verbose_name = "Deploy gates and webhooks"

    def ready(self):
        from gates import activity, receivers

        # Outgoing webhooks hear of sign-offs' events through its signals.
        receivers.connect()
        activity.register()
