import pghistory
from django.conf import settings
from django.db import models
from django.db.models import F, Q


def audited() -> tuple:
    """Trackers for a model whose every change, whatever made it, Postgres records.

    New instances each time: pghistory trackers are bound to the model they decorate.
    """
    return (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())


@pghistory.track(*audited())
class DeploymentPlan(models.Model):
    class Environment(models.TextChoices):
        DEVELOPMENT = "development", "Development"
        STAGING = "staging", "Staging"
        PRODUCTION = "production", "Production"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_PROGRESS = "in_progress", "In progress"
        AWAITING_SIGNOFF = "awaiting_signoff", "Awaiting sign-off"
        SIGNED_OFF = "signed_off", "Signed off"
        DEPLOYED = "deployed", "Deployed"
        CANCELLED = "cancelled", "Cancelled"

    title = models.CharField(max_length=200)
    release_version = models.CharField(max_length=50)
    environment = models.CharField(max_length=20, choices=Environment.choices)
    week1_start = models.DateField("week 1 starts")
    target_go_live = models.DateField("target go-live")
    description = models.TextField(max_length=5000, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        permissions = [("manage_deploymentplan", "Can manage members and archive the plan")]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_go_live__gte=F("week1_start")),
                name="plan_go_live_not_before_start",
                violation_error_message="The target go-live date cannot be before week 1 starts.",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="plan_title_not_blank"),
            models.CheckConstraint(condition=~Q(release_version=""), name="plan_release_not_blank"),
            models.CheckConstraint(
                condition=Q(environment__in=["development", "staging", "production"]),
                name="plan_environment_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.release_version}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


@pghistory.track(*audited())
class PlanMembership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        EDITOR = "editor", "Editor"
        VIEWER = "viewer", "Viewer"

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plan_memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "user"], name="membership_one_per_user"),
            models.CheckConstraint(
                condition=Q(role__in=["owner", "editor", "viewer"]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) on {self.plan}"
