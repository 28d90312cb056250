import json

from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from planning import live
from planning.models import DeploymentPlan, PlanMembership
from truststream.selectors import unread_count


def poller_context(
    plan_id: int, user, *, version: int, unread: int, present: list[int] | None = None
) -> dict:
    """What the poller element needs: its ETag (from the plan `version` the page was read
    at), the other members who have the plan open, and the bell's count, which it refreshes
    out of band."""
    present = live.here(plan_id, user.pk) if present is None else present
    tag = live.etag(version, present, unread)
    others = (
        get_user_model()
        .objects.filter(pk__in=[pk for pk in present if pk != user.pk])
        .order_by("first_name", "last_name", "email")
    )
    return {
        "plan_id": plan_id,
        "etag": tag,
        "headers": json.dumps({"If-None-Match": tag}),
        "others": others,
        "interval": live.POLL_SECONDS,
        "unread_notifications": unread,
    }


@require_GET
def live_poll(request: HttpRequest, plan_id: int) -> HttpResponse:
    """A plan page's poll: 304 while nothing changed; otherwise the poller again (who is here)
    and, when the plan itself changed, the `plan-changed` event that reloads the page's
    content. Kept to two small queries (membership, unread count): it runs every few seconds
    for every open page."""
    if not request.user.is_authenticated:
        # Signed out meanwhile: reload the page, which then asks them to sign in (following
        # the redirect would put the login form in the page's header).
        response = HttpResponse(status=401)
        response["HX-Refresh"] = "true"
        return response
    # Who may open the plan's pages (planning.access): its members, and active superusers,
    # whom guardian lets through.
    if request.user.is_superuser and request.user.is_active:
        allowed = DeploymentPlan.objects.filter(pk=plan_id).exists()
    else:
        allowed = PlanMembership.objects.filter(plan_id=plan_id, user=request.user).exists()
    if not allowed:
        raise Http404
    sent = request.headers.get("If-None-Match", "")
    present = live.here(plan_id, request.user.pk)
    current = live.version(plan_id)
    unread = unread_count(request.user)
    tag = live.etag(current, present, unread)
    if sent == tag:
        response = HttpResponse(status=304)
    else:
        context = poller_context(
            plan_id, request.user, version=current, unread=unread, present=present
        )
        response = render(request, "planning/_live.html", {**context, "oob": True})
        seen = live.etag_version(sent)
        if seen is not None and seen != current:
            response["HX-Trigger"] = "plan-changed"
    response["ETag"] = tag
    response["Cache-Control"] = "no-store"
    return response
