"""Every URL of a plan is in an app's access table (tests/access.py), so that the harness
tries it as anonymous, outsider, member without the permission and with a wrong method."""

from django.urls import URLPattern, URLResolver, get_resolver

from tests.checklists.test_access import URLS as CHECKLISTS
from tests.gates.test_gate_access import URLS as GATES
from tests.gates.test_webhook_access import URLS as WEBHOOKS
from tests.planning.test_access import URLS as PLANNING
from tests.signoffs.test_access import URLS as SIGNOFFS

TABLES = [*PLANNING, *CHECKLISTS, *SIGNOFFS, *GATES, *WEBHOOKS]
# The token API answers for itself (tests/checklists/test_api.py, tests/gates/test_api.py):
# 401 without a token rather than the login page, and errors as JSON.
ANSWERS_FOR_ITSELF = ("api/",)


def _arguments(pattern) -> set[str]:
    """The names of the arguments a route or regex pattern captures."""
    converters = getattr(pattern, "converters", None)
    if converters is not None:
        return set(converters)
    return set(pattern.regex.groupindex)


def plan_urls(resolvers=None, route="", namespace="", inherited=frozenset()):
    """(route, name) of every URL pattern that takes a plan's id, through every include."""
    if resolvers is None:
        resolvers = get_resolver().url_patterns
    for entry in resolvers:
        here = route + str(entry.pattern)
        arguments = inherited | _arguments(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from plan_urls(entry.url_patterns, here, inner, arguments)
        elif isinstance(entry, URLPattern) and "plan_id" in arguments:
            yield here, f"{namespace}{entry.name}" if entry.name else None


def test_the_walk_finds_the_plan_urls_of_every_app():
    names = {name for _, name in plan_urls()}
    assert {"planning:plan_detail", "checklists:readiness", "signoffs:packet_list"} <= names


def test_every_plan_url_is_in_an_access_table():
    tabled = {url.name for url in TABLES}
    missing = [
        f"{name or 'unnamed'} ({route})"
        for route, name in plan_urls()
        if name not in tabled and not route.startswith(ANSWERS_FOR_ITSELF)
    ]
    assert missing == [], (
        "Add these plan URLs to their app's table in tests/<app>/test_access.py: "
        + ", ".join(missing)
    )
