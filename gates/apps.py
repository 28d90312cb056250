from django.apps import AppConfig


def _plan_changed(sender, plan_id, **kwargs):
    """A change to a plan (its content, a signature, its status, its archiving) may decide the
    deployments waiting on it: the worker answers them again."""
    from gates import selectors, tasks

    if selectors.open_deployment_ids(plan_id):
        tasks.plan_gates_changed.delay(plan_id)


class GatesConfig(AppConfig):
    name = "gates"
    verbose_name = "Deploy gates and webhooks"

    def ready(self):
        from gates import activity, deploy_activity, receivers
        from planning.signals import plan_archived, plan_content_changed

        # Nothing below imports the gates: they listen to the plan's own announcements, sent
        # once the change has committed (a signature and a status change lock the plan as
        # content changes do, so they are announced too).
        plan_content_changed.connect(_plan_changed, dispatch_uid="gates_plan_changed")
        plan_archived.connect(_plan_changed, dispatch_uid="gates_plan_archived")
        deploy_activity.register()
        # Outgoing webhooks hear of sign-offs' events through its signals.
        receivers.connect()
        activity.register()
