from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate, post_save, pre_save


def _load_default_playbook(sender, using, **kwargs):
    """The default playbook is present after every migrate, without a manual step; a changed
    file becomes a new revision, an unchanged one changes nothing."""
    from django.conf import settings

    from planning import services

    services.playbook_load(
        text=settings.DEFAULT_PLAYBOOK_PATH.read_bytes(),
        source_name=settings.DEFAULT_PLAYBOOK_PATH.name,
    )


def _person_shown_before(sender, instance, update_fields=None, raw=False, **kwargs):
    from planning import services

    if not raw:
        services.person_shown_before(user=instance, update_fields=update_fields)


def _person_shown_changed(sender, instance, raw=False, **kwargs):
    from planning import services

    if not raw:
        services.person_shown_changed(user=instance)


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = "Deployment planning"

    def ready(self):
        from planning import activity, emails, live, services
        from planning.signals import plan_content_changed
        from truststream.signals import team_left

        post_migrate.connect(_load_default_playbook, sender=self)
        # Open pages of the plan reload their content once a change has committed.
        plan_content_changed.connect(live.bump, dispatch_uid="planning_live_bump")
        # Plan pages show people's names: a rename, wherever it is made, is a change of the
        # plans they belong to (cached panels, the snapshot's emails).
        pre_save.connect(_person_shown_before, sender=settings.AUTH_USER_MODEL)
        post_save.connect(_person_shown_changed, sender=settings.AUTH_USER_MODEL)
        activity.register()
        emails.register()
        # Whoever leaves a team leaves the plans it was their only way into.
        team_left.connect(services.plan_teams_release, dispatch_uid="planning_plan_teams_release")
