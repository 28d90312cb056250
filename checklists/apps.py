from django.apps import AppConfig


class ChecklistsConfig(AppConfig):
    name = "checklists"
    verbose_name = "Validation checklists and readiness"

    def ready(self):
        from checklists import activity, services
        from planning.signals import member_removed, plan_carried_forward, plan_created

        # A new plan gets the playbook's checklists in the transaction that creates it.
        plan_created.connect(services.checklists_create, dispatch_uid="checklists_create")
        # A next environment's plan gets the previous plan's evidence, to be confirmed.
        plan_carried_forward.connect(services.items_carry, dispatch_uid="checklists_items_carry")
        member_removed.connect(services.items_release, dispatch_uid="checklists_items_release")
        activity.register()
