from django import template

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
