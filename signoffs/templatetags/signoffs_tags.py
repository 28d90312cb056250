from django import template

from signoffs import selectors, status

register = template.Library()


@register.inclusion_tag("signoffs/_signoffs_panel.html")
def signoff_summary(plan):
    """The plan overview's sign-offs panel."""
    return {"plan": plan, "state": selectors.signoff_state(plan)}


@register.inclusion_tag("signoffs/_status_actions.html", takes_context=True)
def status_actions(context, plan):
    """The buttons that move the plan to another status, for those who may."""
    may = {"change"} if plan.editable else set()
    if plan.manageable and not plan.is_archived:
        may.add("manage")
    targets = [
        (value, plan.Status(value).label)
        for value, needed in status.allowed(plan).items()
        if needed in may
    ]
    return {"plan": plan, "targets": targets, "csrf_token": context.get("csrf_token")}
