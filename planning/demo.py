"""Demo users and a demo plan with members, for `manage.py load_demo`."""

import datetime

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from planning import services
from planning.models import DeploymentPlan, PlanMembership

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed by `make run` for local use
DEMO_PEOPLE = [
    ("olivia@example.com", "Olivia", "Owens"),
    ("eddie@example.com", "Eddie", "Edwards"),
    ("vera@example.com", "Vera", "Vance"),
    ("oscar@example.com", "Oscar", "Olsen"),
]
DEMO_PLAN_TITLE = "TrustStram v4.4 production rollout"


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


def load(stdout) -> None:
    olivia, eddie, vera, _oscar = (_person(*person) for person in DEMO_PEOPLE)
    if DeploymentPlan.objects.filter(title=DEMO_PLAN_TITLE).exists():
        stdout.write("Demo data already present; nothing changed.")
        return
    today = timezone.localdate()
    # Part-way through week 3, as a team would be a fortnight before go-live.
    week1 = today - datetime.timedelta(days=16)
    plan = services.plan_create(
        user=olivia,
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
    stdout.write(f"Demo plan “{plan}” created with 3 members.")
