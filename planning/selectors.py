import datetime
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Lag
from django.utils import timezone

from planning import reads
from planning.access import VIEW, plans_with_permissions
from planning.models import (
    DeploymentPlan,
    DeploymentPlanEvent,
    Invitation,
    Phase,
    PlanMembership,
    PlanningDocument,
    PlanTeam,
    Playbook,
    Task,
)


def plans_for_user(
    user,
    *,
    q: str = "",
    environment: str = "",
    status: str = "",
    archived: bool = False,
) -> QuerySet[DeploymentPlan]:
    """The user's plans (archived ones or active ones), theirs or their teams', with the
    user's role (the highest of their own and their teams') and member count.

    One query whatever the number of plans, whose cost follows the user's plans, not everyone's.
    """
    # A membership is one per plan and user: no order needed (the model's default one would
    # join the plan and the user to sort a single row).
    own_role = (
        PlanMembership.objects.filter(plan=OuterRef("pk"), user=user).order_by().values("role")[:1]
    )
    teams_roles = PlanTeam.objects.filter(plan=OuterRef("pk"), team__memberships__user=user)
    # The highest of the roles: owner, then editor, then viewer.
    my_role = Case(
        *(
            When(
                Q(own_role=role) | Q(Exists(teams_roles.filter(role=role))),
                then=Value(role),
            )
            for role in (PlanMembership.Role.OWNER, PlanMembership.Role.EDITOR)
        ),
        default=Value(PlanMembership.Role.VIEWER),
        output_field=CharField(),
    )
    member_count = (
        PlanMembership.objects.filter(plan=OuterRef("pk"))
        .order_by()
        .values("plan")
        .annotate(n=Count("pk"))
        .values("n")
    )
    # One IN over the union of the user's plans and their teams'. Written as two INs joined by
    # OR, Postgres filtered every plan in the database through both and, with 10,000 plans,
    # expected thousands of rows, so it compiled the query (JIT) for seconds
    # (docs/benchmarks.md, "The plan list at volume").
    mine = PlanMembership.objects.filter(user=user).order_by().values("plan_id")
    through_teams = (
        PlanTeam.objects.filter(team__memberships__user=user).order_by().values("plan_id")
    )
    plans = DeploymentPlan.objects.filter(
        pk__in=mine.union(through_teams), archived_at__isnull=not archived
    )
    if q:
        plans = plans.filter(Q(title__icontains=q) | Q(release_version__icontains=q))
    if environment:
        plans = plans.filter(environment=environment)
    if status:
        plans = plans.filter(status=status)
    return plans.annotate(
        own_role=Subquery(own_role),
        my_role=my_role,
        member_count=Coalesce(Subquery(member_count), 0),
    ).order_by("-updated_at", "-id")


def plan_members(plan: DeploymentPlan) -> list[PlanMembership]:
    """The plan's members with their users, by email. One query, once per request."""
    return reads.once(
        plan,
        "members",
        lambda: list(plan.memberships.select_related("user").order_by("user__email")),
    )


def plan_people(plan: DeploymentPlan) -> QuerySet:
    """Everyone who may open the plan as a member: its members and the members of its teams.
    Who may be given a task, a document, a checklist item or an approval role."""
    return (
        get_user_model()
        .objects.filter(
            Q(plan_memberships__plan=plan) | Q(team_memberships__team__plan_teams__plan=plan),
            is_active=True,
        )
        .distinct()
    )


def is_plan_person(plan: DeploymentPlan, user) -> bool:
    """The user is a member of the plan, themselves or through a team."""
    return plan_people(plan).filter(pk=user.pk).exists()


def plan_teams(plan: DeploymentPlan) -> list[PlanTeam]:
    """The plan's teams with their member counts, by name. One query, once per request."""
    return reads.once(
        plan,
        "teams",
        lambda: list(
            plan.plan_teams.select_related("team")
            .annotate(member_count=Count("team__memberships"))
            .order_by("team__name")
        ),
    )


def team_plans(team, user) -> list[PlanTeam]:
    """The team's plans that `user` may open (outsiders must not learn that a plan exists,
    so a team's page shows each reader only theirs), with the team's role. One query."""
    plan_teams = PlanTeam.objects.filter(team=team, plan__archived_at__isnull=True)
    if not user.is_superuser:
        plan_teams = plan_teams.filter(
            Q(plan__memberships__user=user) | Q(plan__plan_teams__team__memberships__user=user)
        )
    return list(plan_teams.select_related("plan").distinct().order_by("plan__title", "plan_id"))


def plan_invitations(plan: DeploymentPlan) -> QuerySet[Invitation]:
    """The plan's invitations neither accepted nor withdrawn (expired ones too, until an owner
    withdraws them or invites the address again)."""
    return (
        plan.invitations.filter(accepted_at__isnull=True, withdrawn_at__isnull=True)
        .select_related("invited_by")
        .order_by("email", "id")
    )


def has_verified_address(user, email: str) -> bool:
    """`email` is one of the user's addresses, and they confirmed it."""
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def invitation_by_token(token: str) -> Invitation | None:
    """The invitation an invitation link names, or None for a link we did not make."""
    try:
        invitation_id = signing.loads(token, salt=Invitation.TOKEN_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(invitation_id, int):
        return None
    return Invitation.objects.select_related("plan", "invited_by").filter(pk=invitation_id).first()


def current_playbooks() -> QuerySet[Playbook]:
    """The latest revision of each playbook: what new plans can be made from."""
    return Playbook.objects.order_by("key", "-revision").distinct("key")


def default_playbook() -> Playbook | None:
    return Playbook.objects.filter(key=settings.DEFAULT_PLAYBOOK_KEY).order_by("-revision").first()


@dataclass
class PhaseColumn:
    phase: Phase
    # group title -> its tasks, in the order the groups first appear
    by_group: dict[str, list[Task]] = field(default_factory=dict)
    total: int = 0
    done: int = 0

    @property
    def groups(self) -> list[tuple[str, list[Task]]]:
        return list(self.by_group.items())

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


@dataclass
class Board:
    phases: list[PhaseColumn]
    tasks: list[Task]
    today: datetime.date

    @property
    def total(self) -> int:
        return len(self.tasks)

    @property
    def done(self) -> int:
        return sum(task.status == Task.Status.DONE for task in self.tasks)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def overdue(self) -> list[Task]:
        return [task for task in self.tasks if task.is_overdue]


def today() -> datetime.date:
    return timezone.localdate()


def mark_overdue(tasks, today: datetime.date) -> None:
    """Set `is_overdue` on each task: not done and due before today."""
    for task in tasks:
        task.is_overdue = task.status != Task.Status.DONE and task.due_on < today


def board(plan: DeploymentPlan, today: datetime.date | None = None) -> Board:
    """The plan's phases with their tasks grouped as the playbook groups them.

    Two queries whatever the number of tasks, once per request (the snapshot reads its tasks
    from here too).
    """
    if today is None:
        return reads.once(plan, "board", lambda: _board(plan, timezone.localdate()))
    return _board(plan, today)


def _board(plan: DeploymentPlan, today: datetime.date) -> Board:
    columns = {phase.pk: PhaseColumn(phase) for phase in plan.phases.order_by("number")}
    tasks = list(plan.tasks.select_related("assignee").order_by("phase__number", "position", "id"))
    mark_overdue(tasks, today)
    for task in tasks:
        column = columns[task.phase_id]
        column.by_group.setdefault(task.group, []).append(task)
        column.total += 1
        column.done += task.status == Task.Status.DONE
    return Board(phases=list(columns.values()), tasks=tasks, today=today)


def active_plan_ids(user) -> QuerySet:
    """The ids of the user's plans, theirs or their teams', that still have work in them (not
    archived, not deployed or cancelled), as a subquery for the "My work" panels of every app."""
    return (
        DeploymentPlan.objects.filter(
            Q(pk__in=PlanMembership.objects.filter(user=user).values("plan_id"))
            | Q(pk__in=PlanTeam.objects.filter(team__memberships__user=user).values("plan_id")),
            archived_at__isnull=True,
        )
        .exclude(status__in=[DeploymentPlan.Status.DEPLOYED, DeploymentPlan.Status.CANCELLED])
        .values("pk")
    )


def open_tasks_of(user, today: datetime.date | None = None) -> list[Task]:
    """The tasks assigned to the user that are not done, across their active plans, soonest
    due first, each marked `is_overdue`. One query whatever the number of tasks and plans."""
    items = list(
        Task.objects.filter(assignee=user, plan_id__in=active_plan_ids(user))
        .exclude(status=Task.Status.DONE)
        .select_related("plan", "phase")
        .order_by("due_on", "plan__title", "plan_id", "phase__number", "position", "id")
    )
    mark_overdue(items, today or timezone.localdate())
    return items


def document_rows(plan: DeploymentPlan) -> list[PlanningDocument]:
    """The register in the playbook's order, with owners. One query, once per request."""
    return reads.once(
        plan,
        "documents",
        lambda: list(plan.documents.select_related("owner").order_by("position")),
    )


def requirement_specs(plan: DeploymentPlan) -> list:
    """The plan's requirement templates with their values. One query, once per request."""
    return reads.once(plan, "requirements", lambda: list(plan.requirements.order_by("id")))


def plan_documents(plan: DeploymentPlan):
    """The register grouped by category, in the playbook's order."""
    documents = document_rows(plan)
    grouped: dict[str, list] = {}
    for document in documents:
        grouped.setdefault(document.category, []).append(document)
    labels = dict(PlanningDocument.Category.choices)
    return [(labels[category], docs) for category, docs in grouped.items()]


def next_environment_refusal(plan: DeploymentPlan) -> str:
    """Why no plan of the next environment can be made from this plan now ("" when one can):
    production has no next environment, an archived plan is frozen, and a plan has one next
    plan in play at a time (one archived or cancelled leaves room for another). One query at
    most."""
    if plan.next_environment is None:
        return f"A {plan.get_environment_display().lower()} plan has no next environment."
    if plan.is_archived:
        return "This plan is archived. Restore it before planning its next environment."
    in_play = (
        plan.next_plans.filter(archived_at__isnull=True)
        .exclude(status=DeploymentPlan.Status.CANCELLED)
        .exists()
    )
    if in_play:
        return (
            f"The {plan.next_environment_label.lower()} plan of this plan exists already. "
            "Archive or cancel it to plan the next environment again."
        )
    return ""


def plan_neighbours(plan: DeploymentPlan, user) -> dict:
    """The plan this one was made from and the plans made from it, those the user may see:
    {"previous": plan or None, "next": [plans]}. One query."""
    related = plans_with_permissions(user).filter(
        Q(pk=plan.previous_plan_id) | Q(previous_plan=plan)
    )
    visible = [other for other in related.order_by("created_at", "id") if VIEW in other.held]
    return {
        "previous": next((p for p in visible if p.pk == plan.previous_plan_id), None),
        "next": [p for p in visible if p.previous_plan_id == plan.pk],
    }


def blocked_tasks(plan_ids) -> dict[int, list[Task]]:
    """The blocked tasks of each of these plans, in board order. One query."""
    blocked: dict[int, list[Task]] = {pk: [] for pk in plan_ids}
    for task in Task.objects.filter(plan_id__in=plan_ids, status=Task.Status.BLOCKED).order_by(
        "plan_id", "phase__number", "position", "id"
    ):
        blocked[task.plan_id].append(task)
    return blocked


def plans_exportable_by(user) -> QuerySet[DeploymentPlan]:
    """The plans whose records the user may hand to an auditor: those they own (archived ones
    too), or every plan for a superuser. Nobody else's."""
    if not user.is_authenticated or not user.is_active:
        return DeploymentPlan.objects.none()
    if user.is_superuser:
        return DeploymentPlan.objects.all()
    return DeploymentPlan.objects.filter(
        pk__in=PlanMembership.objects.filter(user=user, role=PlanMembership.Role.OWNER).values(
            "plan_id"
        )
    )


@dataclass(frozen=True)
class StatusEntry:
    """A plan entering a status, as its audit trail recorded it."""

    plan_id: int
    status: str
    at: datetime.datetime
    # The audit event's id: events of one table are numbered in the order they were written.
    event_id: int


def status_entries(plans: QuerySet[DeploymentPlan], statuses) -> list[StatusEntry]:
    """Every time one of these plans entered one of `statuses`, oldest first, read from the
    plans' own audit events (the triggers record every change of status, whoever made it, so
    a plan moved by the admin or by SQL is found too). One query, which reads each event's
    status with the one before it."""
    # pghistory's event model for plans; `models` defines it when the app loads.
    events = DeploymentPlanEvent.objects.filter(pgh_obj_id__in=plans.values("pk"))
    rows = events.annotate(
        before=Window(Lag("status"), partition_by=[F("pgh_obj_id")], order_by=F("pgh_id").asc())
    ).values_list("pgh_obj_id", "status", "before", "pgh_created_at", "pgh_id")
    return [
        StatusEntry(plan_id, status, at, event_id)
        for plan_id, status, before, at, event_id in sorted(rows, key=lambda row: row[4])
        if status in statuses and status != before
    ]


def status_entered(plan: DeploymentPlan, status: str) -> list[datetime.datetime]:
    """When the plan entered `status`, oldest first (`status_entries` for one plan). One
    query."""
    plans = DeploymentPlan.objects.filter(pk=plan.pk)
    return [entry.at for entry in status_entries(plans, {status})]


@dataclass(frozen=True)
class BurnupPoint:
    """The tasks done and the scope (tasks in the plan) at `at`; `label` names the moment
    ("Start", "Week 2", "Week 3 so far", "Now"). No counts (None) for a week still to come
    (`missing` "to come") or a moment before the plan was made ("before the plan")."""

    label: str
    at: datetime.datetime
    done: int | None
    scope: int | None
    missing: str = ""


def burnup(plan: DeploymentPlan, board: Board) -> list[BurnupPoint]:
    """Tasks done against the scope at the start of week 1 and at the end of each week (now
    for the week under way, and a last point now when the weeks are over), replayed from the
    tasks' audit trail. One query, of five columns of the plan's task events; `board` is the
    plan's board as read for the page.

    A change is dated by the task's own `updated_at`, which each save sets, and a deletion
    by its event's time: the trail's own clock is the start of the change's transaction."""
    now = timezone.now()
    moments = []
    if board.phases:
        moments.append(("Start", _midnight(board.phases[0].phase.starts_on)))
    for column in board.phases:
        phase = column.phase
        moments.append((f"Week {phase.number}", _midnight(phase.ends_on + datetime.timedelta(1))))
    if moments and moments[-1][1] < now:
        moments.append(("Now", now))
    events = [
        (task_id, created if kind == "delete" else updated, kind, status)
        for task_id, created, updated, kind, status in apps.get_model("planning", "TaskEvent")
        .objects.filter(plan_id=plan.pk)
        .order_by("pgh_id")
        .values_list("pgh_obj_id", "pgh_created_at", "updated_at", "pgh_label", "status")
    ]
    # A task from before the trail began counts with its status now, all along.
    traced = {task_id for task_id, *_ in events}
    untracked = [task.status for task in board.tasks if task.pk not in traced]
    points, future = [], False
    for label, cutoff in moments:
        if future:
            points.append(BurnupPoint(label, cutoff, None, None, "to come"))
            continue
        if cutoff > now:
            label = "Now" if label == "Start" else f"{label} so far"
            cutoff, future = now, True
        if cutoff < plan.created_at:
            points.append(BurnupPoint(label, cutoff, None, None, "before the plan"))
            continue
        state: dict[int, str] = {}
        for task_id, at, kind, status in events:
            if at > cutoff:
                continue
            if kind == "delete":
                state.pop(task_id, None)
            else:
                state[task_id] = status
        statuses = [*state.values(), *untracked]
        done = sum(status == Task.Status.DONE for status in statuses)
        points.append(BurnupPoint(label, cutoff, done, len(statuses)))
    return points


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))
