from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect

from planning import selectors, timeline


def form_status(form) -> int:
    """400 for a submitted form with errors, so that scripts and tests can tell."""
    return 400 if form.is_bound and form.errors else 200


def redirect_or_client_redirect(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def four_weeks(plan) -> dict:
    """The board of the plan's four weeks and its timeline picture, for a page's context.

    Both are read when the template first asks (a template calls what it is given), so a
    block the page has cached (`plan_cached`) costs no query; the board is read once either
    way."""
    return {
        "board": lambda: selectors.board(plan),
        "timeline": lambda: timeline.render(selectors.board(plan)),
        "today": selectors.today(),
    }
