"""What plan pages show of a person, and what follows when it changes."""

from django.db import transaction

from planning import live
from planning.models import DeploymentPlan, PlanMembership
from planning.signals import plan_content_changed

# What plan pages show of a person: their name, else their email (the `person` filter); the
# plan's snapshot has their email.
PERSON_SHOWN = ("first_name", "last_name", "email")


def _person_shown(values) -> tuple:
    return tuple(values[field] for field in PERSON_SHOWN)


def person_shown_before(*, user, update_fields=None) -> None:
    """Before a user is saved (`pre_save`): keep what plan pages show of them now, unless the
    save cannot change it (a login saves `last_login` alone)."""
    if user.pk is None or (
        update_fields is not None and not set(update_fields) & set(PERSON_SHOWN)
    ):
        return
    row = type(user).objects.filter(pk=user.pk).values(*PERSON_SHOWN).first()
    user._person_shown_before = _person_shown(row) if row else None


def person_shown_changed(*, user) -> None:
    """After a user is saved (`post_save`, inside the saving transaction): when their name or
    email changed, no cached panel is read again (pages name people who left a plan too),
    and every plan they are a member of has changed content once this commits (its snapshot
    has its assignees' emails; task, document and role holders are members).

    People are renamed outside our services (the account pages, the admin, single sign-on),
    so this listens to the save itself."""
    before = getattr(user, "_person_shown_before", None)
    if before is None:
        return
    del user._person_shown_before
    if before == _person_shown(vars(user)):
        return
    transaction.on_commit(live.people_bump, robust=True)
    for plan_id in PlanMembership.objects.filter(user=user).values_list("plan_id", flat=True):
        transaction.on_commit(
            lambda plan_id=plan_id: plan_content_changed.send_robust(
                sender=DeploymentPlan, plan_id=plan_id
            )
        )
