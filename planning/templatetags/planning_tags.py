from django import template
from django.utils.safestring import mark_safe

from planning import live, reads, selectors

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


@register.inclusion_tag("planning/_environments.html", takes_context=True)
def plan_environments(context, plan):
    """The overview's panel of the plans before and after this one across environments, and
    the way to plan the next environment. One query."""
    neighbours = selectors.plan_neighbours(plan, context["request"].user)
    in_play = [
        other
        for other in neighbours["next"]
        if not other.is_archived and other.status != other.Status.CANCELLED
    ]
    return {
        "plan": plan,
        **neighbours,
        "may_plan_next": plan.editable and plan.next_environment is not None and not in_play,
    }


@register.inclusion_tag("planning/_team_plans.html")
def team_plans(team, user):
    """A team's page's plans panel: the team's plans that the reader may open."""
    return {"team": team, "plan_teams": selectors.team_plans(team, user)}


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


@register.tag("plan_cached")
def plan_cached(parser, token):
    """`{% plan_cached plan "name" part… %}…{% endplan_cached %}`: what the block renders,
    cached under the plan's version (`reads.cached`) and the parts given: whatever else the
    block depends on (today's date for what marks overdue tasks, whether the reader may
    edit). Forms in the block keep working: each reader's own CSRF token is put in on the way
    out. Only for blocks with nothing else that depends on who is looking."""
    bits = token.split_contents()
    if len(bits) < 3:
        raise template.TemplateSyntaxError("plan_cached takes a plan and a name")
    nodelist = parser.parse(("endplan_cached",))
    parser.delete_first_token()
    return PlanCachedNode(nodelist, [parser.compile_filter(bit) for bit in bits[1:]])


class PlanCachedNode(template.Node):
    def __init__(self, nodelist, expressions):
        self.nodelist = nodelist
        self.plan, *self.parts = expressions

    def render(self, context):
        plan = self.plan.resolve(context)
        key = "panel:" + ":".join(str(part.resolve(context)) for part in self.parts)

        def render() -> str:
            with context.push(csrf_token=CSRF_SLOT):
                return self.nodelist.render(context)

        return reads.cached(plan, key, render).replace(CSRF_SLOT, str(context.get("csrf_token")))


# Where a cached block's forms take the reader's CSRF token. Markup that no escaped text can
# contain: `{% csrf_token %}` writes it as it is because it is marked safe, while anything a
# person typed has its "<" escaped on the way into the page.
CSRF_SLOT = mark_safe("<csrf-token-slot>")
