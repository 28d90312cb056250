"""Demo users and a demo plan made from the default playbook, for `manage.py load_demo`."""

import datetime

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
    ("oscar@example.com", "Oscar", "Olsen"),
]
DEMO_PLAN_TITLE = "TrustStram v4.4 production rollout"
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


def _work_the_tasks(plan: DeploymentPlan, olivia, eddie) -> None:
    """Weeks 1 and 2 mostly done, week 3 under way with one task blocked, week 4 ahead."""
    for item in plan.tasks.select_related("phase").order_by("position"):
        week, index = item.phase.number, item.position
        changes = {"assignee": eddie if index % 2 else olivia}
        if week == 1 or (week == 2 and index != 14):
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


def load(stdout) -> None:
    olivia, eddie, vera, _oscar = (_person(*person) for person in DEMO_PEOPLE)
    if DeploymentPlan.objects.filter(title=DEMO_PLAN_TITLE).exists():
        stdout.write("Demo data already present; nothing changed.")
        return
    # Part-way through week 3, as a team would be a fortnight before go-live.
    week1 = timezone.localdate() - datetime.timedelta(days=16)
    plan = services.plan_create(
        user=olivia,
        playbook=selectors.default_playbook(),
        title=DEMO_PLAN_TITLE,
        release_version="4.4.0",
        environment=DeploymentPlan.Environment.PRODUCTION,
        week1_start=week1,
        target_go_live=week1 + datetime.timedelta(days=27),
        description=(
            "Roll TrustStram v4.4 out to the production cluster: assess, design, plan the "
            "implementation and prepare go-live over four weeks."
        ),
    )
    services.membership_add(
        plan=plan, actor=olivia, email=eddie.email, role=PlanMembership.Role.EDITOR
    )
    services.membership_add(
        plan=plan, actor=olivia, email=vera.email, role=PlanMembership.Role.VIEWER
    )
    _work_the_tasks(plan, olivia, eddie)
    stdout.write(f"Demo plan “{plan}” created from {plan.playbook} with 3 members.")
