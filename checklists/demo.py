"""Demo checklist work and scores on the demo plan, for `manage.py load_demo`."""

from django.contrib.auth import get_user_model

from checklists import services
from checklists.models import ChecklistItem
from planning.demo import DEMO_PLAN_TITLE
from planning.models import DeploymentPlan

PASSED = {
    "Compute resources allocated and tested",
    "Network connectivity verified",
    "Storage systems configured and tested",
    "Database instances prepared",
    "Cache layers configured",
    "DNS records configured",
    "Firewall rules configured",
    "Authentication systems tested",
    "Authorization policies implemented",
    "Encryption configured",
    "Application dependencies verified",
    "Configuration management tested",
    "Database migrations tested",
    "Health check endpoints working",
}
SCORES = {
    "infrastructure": (7, "Compute, network and storage are ready; TLS and monitoring are not."),
    "security": (7, "Core controls pass; the vulnerability assessment is still open."),
    "application": (6, "Migrations and health checks pass; integrations are being verified."),
    "monitoring": (5, "Dashboards exist, alert routing is not agreed yet."),
    "documentation": (4, "Runbooks are being written."),
    "team_readiness": (8, "On-call rota and training are booked."),
}


def load(stdout) -> None:
    plan = DeploymentPlan.objects.filter(title=DEMO_PLAN_TITLE).first()
    if plan is None or plan.readiness_scores.exists():
        return
    eddie = get_user_model().objects.get(email="eddie@example.com")
    olivia = get_user_model().objects.get(email="olivia@example.com")
    for item in ChecklistItem.objects.filter(plan=plan):
        if item.text in PASSED:
            services.item_set_state(
                item=item,
                actor=eddie,
                state="passed",
                version=item.version,
                note="Checked in the week 3 review.",
            )
        elif item.text == "CDN configured":
            services.item_set_state(
                item=item,
                actor=eddie,
                state="not_applicable",
                version=item.version,
                reason="The API is not served through a CDN.",
            )
        elif item.text == "SSL certificates installed":
            services.item_set_state(
                item=item,
                actor=eddie,
                state="failed",
                version=item.version,
                note="The staging certificate was installed instead of the production one.",
            )
    for category, (score, rationale) in SCORES.items():
        services.score_set(
            plan=plan, actor=olivia, category=category, score=score, rationale=rationale
        )
    stdout.write("Demo checklists worked and readiness scored.")
