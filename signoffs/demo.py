"""Demo approval roles, signatures and a final packet, for `manage.py load_demo`.

Every demo plan gives the guide's four required roles to four members. The development plan
is signed off and deployed; the staging plan is signed off and its final packet is asked for
through `packet_request`, so the Celery worker renders it once this command commits (`make
run` starts the worker right after); the production plan is in progress with the Technical
Lead's approval given. A plan whose roles are assigned already is left alone.
"""

from django.contrib.auth import get_user_model

from planning.demo import DEMO_DEVELOPMENT, DEMO_PLAN_TITLE, DEMO_STAGING
from planning.models import DeploymentPlan
from signoffs import policies, services
from signoffs.models import ReadinessPacket
from signoffs.status import plan_transition

# role -> who holds it on every demo plan (nobody holds two roles of a plan)
DEMO_HOLDERS = {
    "technical_lead": "eddie@example.com",
    "security_officer": "sam@example.com",
    "operations_manager": "vera@example.com",
    "business_owner": "olivia@example.com",
}
Status = DeploymentPlan.Status
OWNER = {"change", "manage"}


def _approve(plan: DeploymentPlan, role: str, signer, comment: str) -> None:
    requirement = plan.roles.get(role=role)
    services.signoff_record(
        requirement=requirement,
        signer=signer,
        decision="approve",
        seen_digest=policies.role_digest(requirement),
        comment=comment,
    )


def _sign_off(plan: DeploymentPlan, people: dict) -> DeploymentPlan:
    plan_transition(plan=plan, to=Status.AWAITING_SIGNOFF, actor_can=OWNER)
    for role, email in DEMO_HOLDERS.items():
        _approve(plan, role, people[email], "Reviewed in the go/no-go meeting.")
    plan.refresh_from_db()
    return plan


def load(stdout) -> None:
    people = {
        user.email: user
        for user in get_user_model().objects.filter(email__in=DEMO_HOLDERS.values())
    }
    olivia = people["olivia@example.com"]
    for title in (DEMO_DEVELOPMENT.title, DEMO_STAGING.title, DEMO_PLAN_TITLE):
        plan = DeploymentPlan.objects.filter(title=title).first()
        if plan is None or plan.roles.filter(assignee__isnull=False).exists():
            continue
        for role, email in DEMO_HOLDERS.items():
            services.role_assign(requirement=plan.roles.get(role=role), assignee=people[email])
        plan = plan_transition(plan=plan, to=Status.IN_PROGRESS, actor_can=OWNER)
        if title == DEMO_PLAN_TITLE:
            _approve(
                plan,
                "technical_lead",
                people["eddie@example.com"],
                "The architecture and the rollback plan are sound.",
            )
            stdout.write(f"Demo roles assigned on “{plan}”; the Technical Lead approved.")
            continue
        plan = _sign_off(plan, people)
        if title == DEMO_STAGING.title:
            services.packet_request(plan=plan, requested_by=olivia, kind=ReadinessPacket.Kind.FINAL)
            stdout.write(f"“{plan}” signed off; its final packet is queued for the worker.")
        else:
            plan_transition(plan=plan, to=Status.DEPLOYED, actor_can=OWNER)
            stdout.write(f"“{plan}” signed off and deployed.")
