from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from planning import live
from planning.access import plan_view
from planning.live import poller_context
from planning.models import DeploymentPlan
from truststream.selectors import unread_count


def _signed_out_reloads(view):
    """A poll from someone signed out meanwhile answers 401 and reloads the page, which then
    asks them to sign in: following the login redirect would put the login form in the
    page's header."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            response = HttpResponse(status=401)
            response["HX-Refresh"] = "true"
            return response
        return view(request, *args, **kwargs)

    return wrapper


@_signed_out_reloads
@plan_view()
def live_poll(request: HttpRequest, plan: DeploymentPlan) -> HttpResponse:
    """A plan page's poll: 304 while nothing changed; otherwise the poller again (who is here)
    and, when the plan itself changed, the `plan-changed` event that reloads the page's
    content. It runs every few seconds for every open page, so it stays at what `plan_view`
    reads (the user, the plan with the user's permissions, the plan's version) and two reads
    of its own (who is here, the unread count)."""
    sent = request.headers.get("If-None-Match", "")
    present = live.here(plan.pk, request.user.pk)
    current = request.live_version
    unread = unread_count(request.user)
    tag = live.etag(current, present, unread)
    if sent == tag:
        response = HttpResponse(status=304)
    else:
        context = poller_context(
            plan.pk, request.user, version=current, unread=unread, present=present
        )
        response = render(request, "planning/_live.html", {**context, "oob": True})
        seen = live.etag_version(sent)
        if seen is not None and seen != current:
            response["HX-Trigger"] = "plan-changed"
    response["ETag"] = tag
    response["Cache-Control"] = "no-store"
    return response
