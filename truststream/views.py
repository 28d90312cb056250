import redis
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from truststream import selectors, services
from truststream.accounts import reauthentication_url, second_factor_missing
from truststream.forms import (
    NotificationSettingsForm,
    TeamCreateForm,
    TeamMemberAddForm,
    TeamMemberRoleForm,
    TokenForm,
    apply_validation_error,
)
from truststream.models import ApiToken, Notification, NotificationPreference, Team, TeamMembership
from truststream.selectors import unread_count


def home(request: HttpRequest):
    if request.user.is_authenticated:
        return redirect("planning:plan_list")
    return redirect("account_login")


def _postgres_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


def _redis_answers() -> bool:
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
        return bool(client.ping())
    except redis.RedisError:
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"postgres": _postgres_answers(), "redis": _redis_answers()}
    down = [name for name, ok in checks.items() if not ok]
    body = {
        "status": "ok" if not down else "unavailable",
        "checks": {name: "ok" if ok else "down" for name, ok in checks.items()},
        "down": down,
    }
    return JsonResponse(body, status=503 if down else 200)


def _token_creation_gate(request: HttpRequest) -> dict | None:
    """What the user must do before creating a token, or None: a token acts as them until it
    is revoked, so creating one asks what signing asks."""
    if second_factor_missing(request.user):
        return {
            "url": reverse("mfa_index"),
            "why": "You hold an approval role, and this instance asks every role-holder for "
            "two-factor authentication before they create API tokens.",
            "action": "Set up two-factor authentication",
        }
    url = reauthentication_url(request, reverse("tokens"))
    if url is not None:
        return {
            "url": url,
            "why": "Creating a token needs your password again (and your second factor, if you "
            "have one), within the last few minutes.",
            "action": "Confirm it is you",
        }
    return None


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest):
    """The user's personal API tokens: create one (shown once), see and revoke the others."""
    gate = _token_creation_gate(request)
    if request.method == "POST" and gate is not None:
        messages.error(request, gate["why"])
        return redirect(gate["url"])
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            _, created = services.token_create(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            form = TokenForm()
    return render(
        request,
        "account/tokens.html",
        {
            "form": form,
            "created": created,
            "creation_gate": gate,
            "tokens": request.user.api_tokens.order_by("-created_at"),
            "now": timezone.now(),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    services.token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” revoked. Calls made with it now fail.")
    return redirect("tokens")


def notifications_unread(request: HttpRequest) -> dict:
    """Context processor: the bell's count, one query per page for signed-in people."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"unread_notifications": unread_count(request.user)}


def single_sign_on(request: HttpRequest) -> dict:
    """Context processor: whether password sign-in is for superusers only (SSO_ONLY)."""
    return {"sso_only": settings.SSO_ONLY}


@login_required
@require_GET
def notifications(request: HttpRequest):
    page = Paginator(
        Notification.objects.filter(user=request.user).order_by("-created_at", "-id"), 30
    ).get_page(request.GET.get("page"))
    return render(request, "account/notifications.html", {"page": page})


@login_required
@require_POST
def notification_open(request: HttpRequest, notification_id: int):
    """Mark one notification read and go to the thing it tells of."""
    notification = get_object_or_404(Notification, pk=notification_id, user=request.user)
    services.notifications_mark_read(user=request.user, ids=[notification.pk])
    return redirect(_safe(notification.url))


def _safe(url: str) -> str:
    # Notification URLs are our own paths; anything else goes to the list instead.
    return url if url.startswith("/") and not url.startswith("//") else "/notifications/"


@login_required
@require_POST
def notifications_read_all(request: HttpRequest):
    count = services.notifications_mark_read(user=request.user)
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked read.")
    return redirect("notifications")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest):
    current = dict(
        NotificationPreference.objects.filter(user=request.user).values_list("kind", "delivery")
    )
    form = NotificationSettingsForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.notification_preferences_set(user=request.user, choices=form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "Your notification settings are saved.")
            return redirect("notification_settings")
    status = 400 if form.errors else 200
    return render(request, "account/notification_settings.html", {"form": form}, status=status)


# Teams: everybody signed in sees them (they are the organisation's); an admin creates them;
# an admin or the team's maintainers change its members.


def _team_page(request: HttpRequest, team: Team, *, add_form=None, status: int = 200):
    maintains = selectors.may_maintain(request.user, team)
    context = {
        "team": team,
        "members": selectors.team_members(team),
        "maintains": maintains,
        "add_form": (add_form or TeamMemberAddForm()) if maintains else None,
        "roles": TeamMembership.Role.choices,
    }
    return render(request, "teams/team_detail.html", context, status=status)


def _team_to_maintain(request: HttpRequest, slug: str) -> Team:
    """The team, if the user may change its members: 404 for no such team, 403 otherwise."""
    team = get_object_or_404(Team, slug=slug)
    if not selectors.may_maintain(request.user, team):
        raise PermissionDenied
    return team


@login_required
@require_http_methods(["GET", "POST"])
def team_list(request: HttpRequest):
    form = TeamCreateForm(request.POST or None) if request.user.is_staff else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                team = services.team_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(request, f"Team {team.name} created. Add its members here.")
                return redirect("team_detail", team.slug)
    status = 400 if form is not None and form.is_bound and form.errors else 200
    context = {"teams": selectors.teams_with_counts(), "form": form}
    return render(request, "teams/team_list.html", context, status=status)


@login_required
@require_GET
def team_detail(request: HttpRequest, slug: str):
    return _team_page(request, get_object_or_404(Team, slug=slug))


@login_required
@require_POST
def team_member_add(request: HttpRequest, slug: str):
    team = _team_to_maintain(request, slug)
    form = TeamMemberAddForm(request.POST)
    if form.is_valid():
        try:
            membership = services.team_member_add(
                team=team, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                f"{membership.user.email} joined {team.name} as "
                f"{membership.get_role_display().lower()}.",
            )
            return redirect("team_detail", team.slug)
    return _team_page(request, team, add_form=form, status=400)


def _team_membership(team: Team, membership_id: int) -> TeamMembership:
    return get_object_or_404(
        TeamMembership.objects.select_related("user", "team"), team=team, pk=membership_id
    )


@login_required
@require_POST
def team_member_role(request: HttpRequest, slug: str, membership_id: int):
    team = _team_to_maintain(request, slug)
    membership = _team_membership(team, membership_id)
    form = TeamMemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose maintainer or member.")
        return _team_page(request, team, status=400)
    membership = services.team_member_change_role(
        membership=membership, role=form.cleaned_data["role"]
    )
    messages.success(
        request, f"{membership.user.email} is now {membership.get_role_display().lower()}."
    )
    return redirect("team_detail", team.slug)


@login_required
@require_POST
def team_member_remove(request: HttpRequest, slug: str, membership_id: int):
    team = _team_to_maintain(request, slug)
    membership = _team_membership(team, membership_id)
    services.team_member_remove(membership=membership)
    messages.success(
        request,
        f"{membership.user.email} left {team.name}, and with it the rights the team gave "
        "them on its plans.",
    )
    return redirect("team_detail", team.slug)
