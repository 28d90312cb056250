"""Demo users and three plans made from the default playbook, for `manage.py load_demo`.

The plans show a release's whole road: its development plan deployed, its staging plan signed
off (the signoffs app adds the final packet), and its production plan part-way through week 3.
Each plan is made once, found by its title; loading again changes nothing.
"""

import datetime
from typing import NamedTuple

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from planning import selectors, services
from planning.models import DeploymentPlan, PlanMembership, Task

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed by `make run` for local use
DEMO_PEOPLE = [
    ("olivia@example.com", "Olivia", "Owens"),
    ("eddie@example.com", "Eddie", "Edwards"),
    ("vera@example.com", "Vera", "Vance"),
    ("sam@example.com", "Sam", "Shah"),
    ("oscar@example.com", "Oscar", "Olsen"),
]
# Olivia creates (and owns) every plan; the others join each one with these roles.
DEMO_MEMBERS = [
    ("eddie@example.com", PlanMembership.Role.EDITOR),
    ("vera@example.com", PlanMembership.Role.VIEWER),
    ("sam@example.com", PlanMembership.Role.VIEWER),
]


class DemoPlan(NamedTuple):
    title: str
    release: str
    environment: str
    days_since_week1: int
    description: str


Environment = DeploymentPlan.Environment
DEMO_DEVELOPMENT = DemoPlan(
    "TrustStram v4.4 development rollout",
    "4.4.0-rc.1",
    Environment.DEVELOPMENT,
    75,
    "Bring v4.4 up on the development cluster first, so that the team learns the upgrade "
    "where a mistake costs nothing.",
)
DEMO_STAGING = DemoPlan(
    "TrustStram v4.4 staging rollout",
    "4.4.0-rc.2",
    Environment.STAGING,
    45,
    "Rehearse the production rollout on staging, with production-sized data and the real "
    "approvals.",
)
DEMO_PRODUCTION = DemoPlan(
    "TrustStram v4.4 production rollout",
    "4.4.0",
    Environment.PRODUCTION,
    # Part-way through week 3, as a team would be a fortnight before go-live.
    16,
    "Roll TrustStram v4.4 out to the production cluster: assess, design, plan the "
    "implementation and prepare go-live over four weeks.",
)
DEMO_PLANS = [DEMO_DEVELOPMENT, DEMO_STAGING, DEMO_PRODUCTION]
DEMO_PLAN_TITLE = DEMO_PRODUCTION.title
Status = Task.Status


def _person(email: str, first: str, last: str):
    User = get_user_model()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            username=email.split("@")[0],
            email=email,
            password=DEMO_PASSWORD,
            first_name=first,
            last_name=last,
        )
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def _work_the_tasks(plan: DeploymentPlan, olivia, eddie, *, finished: bool) -> None:
    """Every task done (`finished`), or weeks 1 and 2 mostly done, week 3 under way with one
    task blocked, week 4 ahead."""
    for item in plan.tasks.select_related("phase").order_by("position"):
        week, index = item.phase.number, item.position
        changes = {"assignee": eddie if index % 2 else olivia}
        if finished or week == 1 or (week == 2 and index != 14):
            changes["status"] = Status.DONE
        elif week == 2:
            changes.update(status=Status.IN_PROGRESS, notes="Waiting for the cloud quote.")
        elif item.title == "Rollback planning":
            changes.update(
                status=Status.BLOCKED, blocked_reason="Needs the database snapshot policy."
            )
        elif item.title in ("Deployment method selection", "Rollout timeline"):
            changes["status"] = Status.DONE
        elif week == 3:
            changes["status"] = Status.IN_PROGRESS if index % 2 else Status.TO_DO
        services.task_update(task=item, **changes)


def _join(plan: DeploymentPlan, olivia) -> int:
    """Add the demo people who are not members yet (a demo loaded before Sam joined it, say);
    how many were added."""
    added = 0
    for email, role in DEMO_MEMBERS:
        if not plan.memberships.filter(user__email=email).exists():
            services.membership_add(plan=plan, actor=olivia, email=email, role=role)
            added += 1
    return added


def _plan(demo: DemoPlan, olivia, eddie) -> None:
    week1 = timezone.localdate() - datetime.timedelta(days=demo.days_since_week1)
    plan = services.plan_create(
        user=olivia,
        playbook=selectors.default_playbook(),
        title=demo.title,
        release_version=demo.release,
        environment=demo.environment,
        week1_start=week1,
        target_go_live=week1 + datetime.timedelta(days=27),
        description=demo.description,
    )
    _join(plan, olivia)
    _work_the_tasks(plan, olivia, eddie, finished=demo is not DEMO_PRODUCTION)


def load(stdout) -> None:
    people = {email: _person(email, first, last) for email, first, last in DEMO_PEOPLE}
    olivia, eddie = people["olivia@example.com"], people["eddie@example.com"]
    changed = False
    for demo in DEMO_PLANS:
        plan = DeploymentPlan.objects.filter(title=demo.title).first()
        if plan is None:
            _plan(demo, olivia, eddie)
            stdout.write(f"Demo plan “{demo.title}” created with {len(DEMO_MEMBERS) + 1} members.")
            changed = True
        elif _join(plan, olivia):
            stdout.write(f"Demo people added to “{demo.title}”.")
            changed = True
    if not changed:
        stdout.write("Demo data already present; nothing changed.")
