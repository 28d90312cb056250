"""Who may do what with a plan.

Plan permissions are django-guardian object permissions. They are derived from
`PlanMembership` by `sync_permissions`, and from `PlanTeam` by `sync_team_permissions` (on the
team's guardian group, which its members belong to), which the membership services call in the
same transaction that changes the membership, so the two never disagree.
"""

from functools import cache, wraps

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import CharField, OuterRef, QuerySet
from django.db.models.functions import Cast
from django.http import Http404, HttpResponseNotAllowed
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm, remove_perm

from planning import live, reads
from planning.models import DeploymentPlan, PlanMembership

VIEW = "view_deploymentplan"
CHANGE = "change_deploymentplan"
MANAGE = "manage_deploymentplan"

# Viewers read, editors change content, owners also manage members and archive.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    PlanMembership.Role.VIEWER: (VIEW,),
    PlanMembership.Role.EDITOR: (VIEW, CHANGE),
    PlanMembership.Role.OWNER: (VIEW, CHANGE, MANAGE),
}
ALL_PERMISSIONS = (VIEW, CHANGE, MANAGE)


def sync_permissions(*, plan: DeploymentPlan, user, role: str | None) -> None:
    """Make the user's object permissions on the plan match `role` (None: no membership).

    The caller runs this inside the transaction that changed the membership.
    """
    granted = set(ROLE_PERMISSIONS.get(role, ())) if role else set()
    for perm in ALL_PERMISSIONS:
        if perm in granted:
            assign_perm(perm, user, plan)
        else:
            remove_perm(perm, user, plan)


def sync_team_permissions(*, plan: DeploymentPlan, team, role: str | None) -> None:
    """Make the team's group's object permissions on the plan match `role` (None: the team is
    not a member). Its members hold them through the group, added to their own: a person's
    rights on a plan are the highest of theirs and their teams'.

    The caller runs this inside the transaction that changed the plan's team.
    """
    granted = set(ROLE_PERMISSIONS.get(role, ())) if role else set()
    for perm in ALL_PERMISSIONS:
        if perm in granted:
            assign_perm(perm, team.group, plan)
        else:
            remove_perm(perm, team.group, plan)


def plans_with_permissions(user) -> QuerySet[DeploymentPlan]:
    """Plans, each with `held`: the codenames of the user's permissions on it, for a query
    over many plans (one plan's page reads `_plan_with_permissions` instead).

    Guardian's answer, as `ObjectPermissionChecker.get_perms` gives it (the user's own object
    permissions and their groups'; every permission of the model for a superuser), read from
    guardian's tables in the query that loads the plans.
    """
    plan_type = ContentType.objects.get_for_model(DeploymentPlan)
    if user.is_superuser:
        held = Permission.objects.filter(content_type=plan_type).values("codename")
    else:
        # Guardian keys the object by its primary key as text.
        plan_pk = Cast(OuterRef("pk"), output_field=CharField())
        own = UserObjectPermission.objects.filter(
            user=user, content_type=plan_type, object_pk=plan_pk
        ).values("permission__codename")
        through_groups = GroupObjectPermission.objects.filter(
            group__user=user, content_type=plan_type, object_pk=plan_pk
        ).values("permission__codename")
        held = own.union(through_groups)
    return DeploymentPlan.objects.annotate(held=ArraySubquery(held))


@cache
def _plan_query(superuser: bool) -> str:
    """The SQL of `_plan_with_permissions`, made once per process from the tables' names."""
    quote = connection.ops.quote_name
    permission = quote(Permission._meta.db_table)
    if superuser:
        held = f"SELECT codename FROM {permission} WHERE content_type_id = %(type)s"  # noqa: S608
    else:
        user_groups = quote(get_user_model().groups.through._meta.db_table)
        # Guardian keys the object by its primary key as text.
        held = (
            f"SELECT p.codename FROM {quote(UserObjectPermission._meta.db_table)} o"  # noqa: S608
            f" JOIN {permission} p ON p.id = o.permission_id"
            " WHERE o.user_id = %(user)s AND o.content_type_id = %(type)s"
            " AND o.object_pk = %(key)s"
            f" UNION SELECT p.codename FROM {quote(GroupObjectPermission._meta.db_table)} o"
            f" JOIN {permission} p ON p.id = o.permission_id"
            f" JOIN {user_groups} g ON g.group_id = o.group_id"
            " WHERE g.user_id = %(user)s AND o.content_type_id = %(type)s"
            " AND o.object_pk = %(key)s"
        )
    return (
        f"SELECT plan.*, ARRAY({held}) AS held"  # noqa: S608 - our tables' names only
        f" FROM {quote(DeploymentPlan._meta.db_table)} plan WHERE plan.id = %(plan)s"
    )


def _plan_with_permissions(user, plan_id: int) -> DeploymentPlan | None:
    """The plan with `held`: the codenames of the user's permissions on it, or None.

    Guardian's answer, as `ObjectPermissionChecker.get_perms` gives it (the user's own object
    permissions and their groups'; every permission of the model for a superuser), read from
    guardian's tables in the query that loads the plan. The checker would ask twice more, and
    every plan page pays this, the live poll every few seconds for every open page. Written
    as SQL: the same query built through the ORM (a union in an array subquery) cost more
    CPU to build on each request than Postgres took to answer it (docs/benchmarks.md).
    """
    params = {
        "user": user.pk,
        "type": ContentType.objects.get_for_model(DeploymentPlan).pk,
        "key": str(plan_id),
        "plan": plan_id,
    }
    query = _plan_query(user.is_superuser)
    return next(iter(DeploymentPlan.objects.raw(query, params)), None)


def get_plan_for_user(user, plan_id: int, perm: str = VIEW) -> DeploymentPlan:
    """Return the plan if the user may `perm` it.

    Outsiders get 404 whatever they ask for, so that nobody learns a plan exists; members
    without the permission get 403. `plan.permissions` holds what the user may do. One query.
    """
    # An inactive account holds no permission (guardian's rule too).
    if not user.is_authenticated or not user.is_active:
        raise Http404
    try:
        plan_id = int(plan_id)
    except (ValueError, TypeError):
        raise Http404 from None
    plan = _plan_with_permissions(user, plan_id) if -(2**63) <= plan_id < 2**63 else None
    if plan is None:
        raise Http404
    plan.permissions = frozenset(plan.held)
    if VIEW not in plan.permissions:
        raise Http404
    if perm not in plan.permissions:
        raise PermissionDenied
    return plan


def get_part(plan: DeploymentPlan, queryset, part_id):
    """Return the object of this plan with this id, else 404: an id of another plan's task,
    document or membership is not found, whoever asks."""
    try:
        part = queryset.get(plan=plan, pk=part_id)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    part.plan = plan  # keeps the user's permissions, already loaded
    return part


def get_membership(plan: DeploymentPlan, membership_id: int) -> PlanMembership:
    return get_part(plan, PlanMembership.objects.select_related("user"), membership_id)


def plan_view(perm: str = VIEW, methods: tuple[str, ...] = ("GET",)):
    """Decorate a view of one plan: `view(request, plan, ...)`.

    The order of the checks is the point: anonymous users go to log in, outsiders get 404
    whatever the method, members get 405 for a wrong method and 403 without `perm`.
    """
    allowed = {*methods, "HEAD"} if "GET" in methods else set(methods)

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, plan_id: int, *args, **kwargs):
            # Before the page reads the plan: a change committing while it renders is then
            # newer than what the page's poller says it has seen, and is fetched.
            seen, people = live.peek_with_people(plan_id)
            plan = get_plan_for_user(request.user, plan_id)
            request.live_version = live.version(plan.pk) if seen is None else seen
            if request.method in ("GET", "HEAD"):
                # A page changes nothing: its panels share what each reads of the plan, and
                # what depends on the plan's content alone is cached under the version read
                # before the plan (none when the count only started now).
                reads.remember(plan, seen, people=people)
            if request.method not in allowed:
                return HttpResponseNotAllowed(sorted(allowed))
            if perm not in plan.permissions:
                raise PermissionDenied
            return view(request, plan, *args, **kwargs)

        return wrapper

    return decorator
