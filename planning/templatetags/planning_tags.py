from django import template

from planning import live, selectors

register = template.Library()


@register.filter
def person(user) -> str:
    """A user as people see them: their name, else their email; a dash for nobody."""
    if user is None:
        return "—"
    return user.get_full_name() or user.email


@register.filter
def lookup(mapping: dict, key):
    return mapping.get(key, "") if mapping else ""


@register.inclusion_tag("planning/_my_tasks.html")
def my_tasks(user):
    """The "My work" page's tasks panel."""
    tasks = selectors.open_tasks_of(user)
    return {"tasks": tasks, "overdue": sum(task.is_overdue for task in tasks)}


@register.filter
def initials(user) -> str:
    name = user.get_full_name() or user.email
    parts = [part for part in name.replace("@", " ").replace(".", " ").split() if part]
    return "".join(part[0] for part in parts[:2]).upper()


@register.inclusion_tag("planning/_live.html", takes_context=True)
def live_poller(context, plan):
    """The element through which an open plan page learns of changes and of who else is here."""
    request = context["request"]
    version = getattr(request, "live_version", None)
    return live.poller_context(
        plan.pk,
        request.user,
        version=live.version(plan.pk) if version is None else version,
        unread=context.get("unread_notifications") or 0,
    )
