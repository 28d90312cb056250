from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from planning import selectors, services
from planning.access import (
    CHANGE,
    MANAGE,
    get_membership,
    get_part,
    get_plan_for_user,
    plan_view,
)
from planning.forms import (
    MemberAddForm,
    MemberRoleForm,
    PlanCreateForm,
    PlanFilterForm,
    PlanForm,
    PlanNextForm,
    PlanTeamAddForm,
)
from planning.models import Invitation, PlanTeam
from planning.views.common import (
    form_status,
    four_weeks,
    redirect_or_client_redirect,
)
from truststream.forms import apply_validation_error


@login_required
@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    form = PlanFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    plans = selectors.plans_for_user(
        request.user,
        q=filters.get("q", ""),
        environment=filters.get("environment", ""),
        status=filters.get("status", ""),
        archived=filters.get("archived", False),
    )
    page = Paginator(plans, settings.PLANS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "filtered": any(filters.values()) if filters else bool(request.GET.get("q")),
        "query": query.urlencode(),
    }
    template = "planning/_plan_table.html" if request.htmx else "planning/plan_list.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def plan_create(request: HttpRequest) -> HttpResponse:
    form = PlanCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Plan “{plan}” created. You are its owner.")
            return redirect("planning:plan_detail", plan.pk)
    return render(request, "planning/plan_form.html", {"form": form}, status=form_status(form))


def _members_context(plan, *, add_form=None, team_form=None) -> dict:
    return {
        "plan": plan,
        "members": selectors.plan_members(plan),
        "teams": selectors.plan_teams(plan),
        # Whom the owners invited is theirs to see, as the rest of member management is.
        "invitations": selectors.plan_invitations(plan) if plan.manageable else (),
        "add_form": add_form or MemberAddForm(),
        "team_form": (team_form or PlanTeamAddForm(plan=plan)) if plan.manageable else None,
    }


def _overview(plan, *, add_form=None, team_form=None) -> dict:
    members = _members_context(plan, add_form=add_form, team_form=team_form)
    return {**four_weeks(plan), **members, "tab": "overview"}


@plan_view()
def plan_detail(request: HttpRequest, plan) -> HttpResponse:
    return render(request, "planning/plan_detail.html", _overview(plan))


@plan_view(CHANGE, methods=("GET", "POST"))
def plan_edit(request: HttpRequest, plan) -> HttpResponse:
    if plan.is_archived:
        messages.error(request, "This plan is archived. Restore it before changing it.")
        return redirect("planning:plan_detail", plan.pk)
    form = PlanForm(request.POST or None, instance=plan, may_manage=plan.manageable)
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_update(plan=plan, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "Plan updated.")
            return redirect("planning:plan_detail", plan.pk)
    return render(
        request, "planning/plan_form.html", {"form": form, "plan": plan}, status=form_status(form)
    )


@plan_view(CHANGE, methods=("GET", "POST"))
def plan_next(request: HttpRequest, plan) -> HttpResponse:
    """Plan the next environment: a new plan made from this one (`services.plan_create_next`).

    Owners and editors of this plan may, as anyone signed in may create a plan; they become
    an owner of the new one."""
    refusal = selectors.next_environment_refusal(plan)
    shift = plan.target_go_live - plan.week1_start
    form = PlanNextForm(
        request.POST or None,
        initial={"week1_start": plan.target_go_live, "target_go_live": plan.target_go_live + shift},
    )
    status = 200
    if request.method == "POST":
        status = 400
        if not refusal and form.is_valid():
            try:
                new = services.plan_create_next(plan=plan, user=request.user, **form.cleaned_data)
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(
                    request,
                    f"Plan for {new.get_environment_display().lower()} created from this "
                    f"{plan.get_environment_display().lower()} plan. Confirm each carried "
                    "checklist item here before it counts.",
                )
                return redirect("planning:plan_detail", new.pk)
    return render(
        request,
        "planning/plan_next.html",
        {"plan": plan, "form": form, "refusal": refusal},
        status=status,
    )


@plan_view(MANAGE, methods=("POST",))
def plan_archive(request: HttpRequest, plan) -> HttpResponse:
    services.plan_archive(plan=plan)
    messages.success(request, f"Plan “{plan}” archived. It is read-only until restored.")
    return redirect("planning:plan_detail", plan.pk)


@plan_view(MANAGE, methods=("POST",))
def plan_restore(request: HttpRequest, plan) -> HttpResponse:
    services.plan_restore(plan=plan)
    messages.success(request, f"Plan “{plan}” restored.")
    return redirect("planning:plan_detail", plan.pk)


def _members_response(
    request, plan, *, add_form=None, team_form=None, refused=False
) -> HttpResponse:
    """The members panel for htmx, the whole plan page otherwise. A refused change is a 400 for
    a plain request; htmx swaps only 2xx responses by default, so the panel it gets is a 200
    that shows the errors."""
    if request.htmx:
        context = _members_context(plan, add_form=add_form, team_form=team_form)
        return render(request, "planning/_members.html", context)
    if not refused:
        return redirect("planning:plan_detail", plan.pk)
    context = _overview(plan, add_form=add_form, team_form=team_form)
    return render(request, "planning/plan_detail.html", context, status=400)


def _members_refused(request, plan, message: str) -> HttpResponse:
    messages.error(request, message)
    return _members_response(request, plan, refused=True)


@plan_view(MANAGE, methods=("POST",))
def member_add(request: HttpRequest, plan) -> HttpResponse:
    """Invite an address to the plan. The answer is the same whether or not it has an account."""
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.invitation_create(
                plan=plan, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.email} as {invitation.get_role_display().lower()}"
                ". They join the plan once they accept it.",
            )
            return _members_response(request, plan)
    return _members_response(request, plan, add_form=form, refused=True)


@plan_view(MANAGE, methods=("POST",))
def invitation_withdraw(request: HttpRequest, plan, invitation_id: int) -> HttpResponse:
    invitation = get_part(plan, Invitation.objects.all(), invitation_id)
    try:
        services.invitation_withdraw(invitation=invitation)
    except ValidationError as error:
        return _members_refused(request, plan, " ".join(error.messages))
    messages.success(
        request, f"Invitation of {invitation.email} withdrawn: its link no longer works."
    )
    return _members_response(request, plan)


@plan_view(MANAGE, methods=("POST",))
def member_role(request: HttpRequest, plan, membership_id: int) -> HttpResponse:
    membership = get_membership(plan, membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return _members_refused(request, plan, "Choose owner, editor or viewer.")
    try:
        membership = services.membership_change_role(
            membership=membership, role=form.cleaned_data["role"]
        )
    except ValidationError as error:
        return _members_refused(request, plan, " ".join(error.messages))
    messages.success(
        request, f"{membership.user.email} is now {membership.get_role_display().lower()}."
    )
    if membership.user == request.user:  # the actor's own rights changed: reload the page
        return redirect_or_client_redirect(request, reverse("planning:plan_detail", args=[plan.pk]))
    return _members_response(request, plan)


@plan_view(MANAGE, methods=("POST",))
def member_remove(request: HttpRequest, plan, membership_id: int) -> HttpResponse:
    membership = get_membership(plan, membership_id)
    try:
        services.membership_remove(membership=membership)
    except ValidationError as error:
        return _members_refused(request, plan, " ".join(error.messages))
    messages.success(request, f"{membership.user.email} removed from the plan.")
    if membership.user == request.user:
        return redirect_or_client_redirect(request, reverse("planning:plan_list"))
    return _members_response(request, plan)


# Teams on the plan: owners add a team with a role, change it, or take the team off.


@plan_view(MANAGE, methods=("POST",))
def plan_team_add(request: HttpRequest, plan) -> HttpResponse:
    form = PlanTeamAddForm(request.POST, plan=plan)
    if form.is_valid():
        try:
            plan_team = services.plan_team_add(plan=plan, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                f"The team {plan_team.team.name} is now {plan_team.get_role_display().lower()}: "
                "each of its members holds at least this role.",
            )
            return _members_response(request, plan)
    return _members_response(request, plan, team_form=form, refused=True)


@plan_view(MANAGE, methods=("POST",))
def plan_team_role(request: HttpRequest, plan, plan_team_id: int) -> HttpResponse:
    plan_team = get_part(plan, PlanTeam.objects.select_related("team"), plan_team_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return _members_refused(request, plan, "Choose owner, editor or viewer.")
    plan_team = services.plan_team_change_role(plan_team=plan_team, role=form.cleaned_data["role"])
    messages.success(
        request, f"The team {plan_team.team.name} is now {plan_team.get_role_display().lower()}."
    )
    # The actor may have held their rights through this team: the page is read again.
    return redirect_or_client_redirect(request, reverse("planning:plan_detail", args=[plan.pk]))


@plan_view(MANAGE, methods=("POST",))
def plan_team_remove(request: HttpRequest, plan, plan_team_id: int) -> HttpResponse:
    plan_team = get_part(plan, PlanTeam.objects.select_related("team"), plan_team_id)
    services.plan_team_remove(plan_team=plan_team)
    messages.success(request, f"The team {plan_team.team.name} was taken off the plan.")
    # The actor may have held their rights through this team: the plan list if it was all.
    target = "planning:plan_detail"
    try:
        get_plan_for_user(request.user, plan.pk)
    except Http404:
        target = "planning:plan_list"
    args = [plan.pk] if target == "planning:plan_detail" else []
    return redirect_or_client_redirect(request, reverse(target, args=args))
