from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from planning.models import DeploymentPlan, PlanMembership


def plans_for_user(
    user,
    *,
    q: str = "",
    environment: str = "",
    status: str = "",
    archived: bool = False,
) -> QuerySet[DeploymentPlan]:
    """The user's plans (archived ones or active ones), with the user's role and member count.

    One query whatever the number of plans.
    """
    my_role = PlanMembership.objects.filter(plan=OuterRef("pk"), user=user).values("role")[:1]
    plans = DeploymentPlan.objects.filter(
        pk__in=PlanMembership.objects.filter(user=user).values("plan_id"),
        archived_at__isnull=not archived,
    )
    if q:
        plans = plans.filter(Q(title__icontains=q) | Q(release_version__icontains=q))
    if environment:
        plans = plans.filter(environment=environment)
    if status:
        plans = plans.filter(status=status)
    return plans.annotate(my_role=Subquery(my_role), member_count=Count("memberships")).order_by(
        "-updated_at", "-id"
    )


def plan_members(plan: DeploymentPlan) -> QuerySet[PlanMembership]:
    return plan.memberships.select_related("user").order_by("user__email")
