"""Demo checklist work and scores on the demo plans, for `manage.py load_demo`.

The production plan is part-way through its checklists; the development and staging plans
passed theirs and score above the sign-off threshold. A plan already scored is left alone.
"""

from django.contrib.auth import get_user_model

from checklists import services
from checklists.models import ChecklistItem
from planning.demo import DEMO_DEVELOPMENT, DEMO_PLAN_TITLE, DEMO_STAGING
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
# 88.5 (ready with minor adjustments) for staging; development's monitoring scores 10: 91.5.
FINISHED_SCORES = {
    "infrastructure": (9, "Every infrastructure check passed on this environment."),
    "security": (9, "Certificates, access rules and the vulnerability scan are clean."),
    "application": (9, "Migrations, health checks and integrations pass."),
    "monitoring": (8, "Dashboards and alert routing work; two alerts are still noisy."),
    "documentation": (9, "Runbooks reviewed and signed off."),
    "team_readiness": (9, "On-call rota staffed and rehearsed."),
}


def _work_production(plan, eddie, olivia) -> None:
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


def _work_finished(plan, eddie, olivia, *, scores: dict) -> None:
    """Every item passed (the CDN one not applicable), the documentation sign-off included."""
    for item in ChecklistItem.objects.filter(plan=plan).select_related("checklist"):
        if item.text == "CDN configured":
            services.item_set_state(
                item=item,
                actor=eddie,
                state="not_applicable",
                version=item.version,
                reason="The API is not served through a CDN.",
            )
        else:
            services.item_set_state(
                item=item,
                actor=eddie,
                state="passed",
                version=item.version,
                note=f"Checked on {plan.get_environment_display().lower()}.",
            )
    for category, (score, rationale) in scores.items():
        services.score_set(
            plan=plan, actor=olivia, category=category, score=score, rationale=rationale
        )


def load(stdout) -> None:
    eddie = get_user_model().objects.get(email="eddie@example.com")
    olivia = get_user_model().objects.get(email="olivia@example.com")
    for title in (DEMO_DEVELOPMENT.title, DEMO_STAGING.title, DEMO_PLAN_TITLE):
        plan = DeploymentPlan.objects.filter(title=title).first()
        if plan is None or plan.readiness_scores.exists():
            continue
        if title == DEMO_PLAN_TITLE:
            _work_production(plan, eddie, olivia)
        else:
            monitoring = (10, "Every alert routed and tested.")
            scores = FINISHED_SCORES
            if title == DEMO_DEVELOPMENT.title:
                scores = {**FINISHED_SCORES, "monitoring": monitoring}
            _work_finished(plan, eddie, olivia, scores=scores)
        stdout.write(f"Demo checklists worked and readiness scored on “{plan}”.")
