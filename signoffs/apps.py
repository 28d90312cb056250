from django.apps import AppConfig


class SignoffsConfig(AppConfig):
    name = "signoffs"
    verbose_name = "Sign-offs and readiness packets"

    def ready(self):
        from planning.signals import plan_created
        from signoffs import services

        # A new plan gets the playbook's approval roles in the transaction that creates it.
        plan_created.connect(services.roles_create, dispatch_uid="signoffs_roles_create")
