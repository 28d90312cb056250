"""The page an invitation link opens: sign up or sign in, then accept."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from planning import selectors, services
from truststream.accounts import return_after_login

TEMPLATE = "planning/invitation.html"


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Anyone holding the link may read whom it invites to which plan (the email told them as
    much); only an account with the invited address, verified, may accept it."""
    invitation = selectors.invitation_by_token(token)
    if invitation is None:
        return render(request, TEMPLATE, {"problem": "unknown"}, status=404)
    context = {"invitation": invitation, "plan": invitation.plan}
    if invitation.state != "pending":
        member = (
            request.user.is_authenticated
            and invitation.plan.memberships.filter(user=request.user).exists()
        )
        context.update(problem=invitation.state, member=member)
        return render(request, TEMPLATE, context, status=410)
    if not request.user.is_authenticated:
        # Sign-up, the email confirmation and the login may come between: come back here.
        return_after_login(request, request.path)
        if request.method == "POST":
            return redirect_to_login(request.path)
        return render(request, TEMPLATE, context)
    if request.method == "POST":
        try:
            membership, joined = services.invitation_accept(
                invitation=invitation, user=request.user
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            role = membership.get_role_display().lower()
            if joined:
                messages.success(request, f"Welcome to “{invitation.plan}”: you are its {role}.")
            else:
                messages.info(request, f"You were already a member of this plan, as {role}.")
            return redirect("planning:plan_detail", invitation.plan_id)
    context["may_accept"] = selectors.has_verified_address(request.user, invitation.email)
    status = 400 if request.method == "POST" else 200
    return render(request, TEMPLATE, context, status=status)
