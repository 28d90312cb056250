from django.apps import AppConfig


class ChecklistsConfig(AppConfig):
    name = "checklists"
    verbose_name = "Validation checklists and readiness"

    def ready(self):
        from checklists import activity, services
        from planning.signals import member_removed, plan_created

        # A new plan gets the playbook's checklists in the transaction that creates it.
        plan_created.connect(services.checklists_create, dispatch_uid="checklists_create")
        member_removed.connect(services.items_release, dispatch_uid="checklists_items_release")
        activity.register()
