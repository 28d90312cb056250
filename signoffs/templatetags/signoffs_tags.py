from django import template

from signoffs import selectors

register = template.Library()


@register.inclusion_tag("signoffs/_signoffs_panel.html")
def signoff_summary(plan):
    """The plan overview's sign-offs panel."""
    return {"plan": plan, "state": selectors.signoff_state(plan)}
