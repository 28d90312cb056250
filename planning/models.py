import datetime

from django.conf import settings
from django.core import signing
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from truststream.audit.history import tracked
from truststream.validators import single_line

# Dates people can mean: a typo such as 9999-12-31 is refused rather than carried into every
# date computed from it.
EARLIEST = datetime.date(2000, 1, 1)
LATEST = datetime.date(2100, 12, 31)
DATE_RANGE = [
    MinValueValidator(EARLIEST, "Enter a date in 2000 or later."),
    MaxValueValidator(LATEST, "Enter a date before 2101."),
]


@tracked()
class Playbook(models.Model):
    """One revision of a playbook file: immutable once loaded, so that plans made from it can
    always say what they were made from. A changed file is loaded as a new revision."""

    key = models.SlugField(max_length=50)
    revision = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=50)
    sha256 = models.CharField(max_length=64)
    definition = models.JSONField()
    source_name = models.CharField(max_length=255, blank=True)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key", "-revision"]
        constraints = [
            models.UniqueConstraint(fields=["key", "revision"], name="playbook_revision_unique"),
            models.UniqueConstraint(fields=["key", "sha256"], name="playbook_content_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (revision {self.revision})"


@tracked()
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

    title = models.CharField(max_length=200, validators=[single_line])
    release_version = models.CharField(max_length=50, validators=[single_line])
    environment = models.CharField(max_length=20, choices=Environment.choices)
    week1_start = models.DateField("week 1 starts", validators=DATE_RANGE)
    target_go_live = models.DateField("target go-live", validators=DATE_RANGE)
    description = models.TextField(max_length=5000, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="plans")
    # The readiness a plan needs before it may await sign-off (the guide's "ready with minor
    # adjustments" by default).
    signoff_threshold = models.PositiveSmallIntegerField(
        default=80, validators=[MaxValueValidator(100)]
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    # The plan of the environment before this one that this plan was made from
    # (`services.plan_create_next`); its next plans are `next_plans`.
    previous_plan = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="next_plans"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Development leads to staging, staging to production; production is the last.
    NEXT_ENVIRONMENT = {
        Environment.DEVELOPMENT: Environment.STAGING,
        Environment.STAGING: Environment.PRODUCTION,
    }

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

    @property
    def next_environment(self) -> str | None:
        """The environment a plan made from this one is for; None for production."""
        return self.NEXT_ENVIRONMENT.get(self.environment)

    @property
    def next_environment_label(self) -> str:
        following = self.next_environment
        return self.Environment(following).label if following else ""

    # `permissions` is what the requesting user may do, set by `access.get_plan_for_user`.
    @property
    def editable(self) -> bool:
        """The user may change the plan's content now (an editor or owner, not archived)."""
        return "change_deploymentplan" in getattr(self, "permissions", ()) and not self.is_archived

    @property
    def manageable(self) -> bool:
        """The user may manage members and archive or restore the plan."""
        return "manage_deploymentplan" in getattr(self, "permissions", ())


@tracked()
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


@tracked()
class PlanTeam(models.Model):
    """A team that is a member of the plan: each of its members holds the team's role, unless
    their own membership gives them more (guardian's permissions add up)."""

    Role = PlanMembership.Role

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="plan_teams")
    team = models.ForeignKey(
        "truststream.Team", on_delete=models.CASCADE, related_name="plan_teams"
    )
    role = models.CharField(max_length=10, choices=PlanMembership.Role.choices)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "team__name"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "team"], name="plan_team_one_per_team"),
            models.CheckConstraint(
                condition=Q(role__in=["owner", "editor", "viewer"]), name="plan_team_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team} ({self.role}) on {self.plan}"


@tracked()
class Invitation(models.Model):
    """An invitation to join a plan with a role, sent to an email address.

    Everyone added to a plan is invited this way, whether the address has an account or not, so
    that the owner learns nothing about who has one. The link carries the invitation's id signed
    with SECRET_KEY (`token`); the row says whether it still works, so that it can be withdrawn.
    """

    VALID_FOR = datetime.timedelta(days=7)
    TOKEN_SALT = "planning.invitation"  # noqa: S105 - a namespace for signatures, not a secret

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=10, choices=PlanMembership.Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "-created_at", "-id"]
        constraints = [
            # One invitation in play per address and plan: inviting again replaces it.
            models.UniqueConstraint(
                Lower("email"),
                "plan",
                condition=Q(accepted_at__isnull=True, withdrawn_at__isnull=True),
                name="invitation_one_open_per_address",
            ),
            models.CheckConstraint(
                condition=Q(role__in=["owner", "editor", "viewer"]), name="invitation_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.plan_id} as {self.role}"

    @property
    def token(self) -> str:
        return signing.dumps(self.pk, salt=self.TOKEN_SALT)

    @property
    def state(self) -> str:
        """pending, expired, accepted or withdrawn."""
        if self.accepted_at is not None:
            return "accepted"
        if self.withdrawn_at is not None:
            return "withdrawn"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


@tracked()
class Phase(models.Model):
    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="phases")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="phase_number_unique"),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="phase_dates"),
        ]

    def __str__(self) -> str:
        return f"Week {self.number}: {self.title}"


@tracked()
class Task(models.Model):
    """A task of a phase, in a named group, as the guide lists them."""

    class Status(models.TextChoices):
        TO_DO = "todo", "To do"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        BLOCKED = "blocked", "Blocked"

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="tasks")
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="tasks")
    group = models.CharField(max_length=100, validators=[single_line])
    title = models.CharField(max_length=200, validators=[single_line])
    position = models.PositiveIntegerField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
    )
    due_on = models.DateField("due date", validators=DATE_RANGE)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.TO_DO)
    blocked_reason = models.CharField(max_length=500, blank=True, validators=[single_line])
    notes = models.TextField(max_length=5000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["phase__number", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="blocked") | ~Q(blocked_reason=""),
                name="task_blocked_needs_reason",
                violation_error_message="Say why the task is blocked.",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="task_title_not_blank"),
            models.CheckConstraint(
                condition=Q(status__in=["todo", "in_progress", "done", "blocked"]),
                name="task_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title


@tracked()
class PlanningDocument(models.Model):
    class Category(models.TextChoices):
        CORE = "core", "Core planning documents"
        ENVIRONMENT = "environment", "Environment-specific planning"
        ADVANCED = "advanced", "Advanced planning"

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        DRAFTING = "drafting", "Drafting"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="documents")
    key = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=Category.choices)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    link = models.URLField(max_length=500, blank=True)
    notes = models.TextField(max_length=5000, blank=True)

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "key"], name="document_key_unique"),
        ]

    def __str__(self) -> str:
        return self.title


@tracked()
class RequirementSpec(models.Model):
    """One of the guide's requirement templates, filled for a plan.

    `definition` is the playbook's template (sections of typed fields), copied when the plan
    was made; `values` holds the canonical value of every field (see `fieldtypes`).
    """

    class Kind(models.TextChoices):
        INFRASTRUCTURE = "infrastructure", "Infrastructure"
        SECURITY = "security", "Security"
        PERFORMANCE = "performance", "Performance"

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="requirements")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    definition = models.JSONField()
    values = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plan", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "kind"], name="requirement_kind_unique"),
        ]

    def __str__(self) -> str:
        return self.title


@tracked()
class SupportContact(models.Model):
    plan = models.ForeignKey(
        DeploymentPlan, on_delete=models.CASCADE, related_name="support_contacts"
    )
    topic = models.CharField(max_length=100, validators=[single_line])
    name = models.CharField(max_length=100, validators=[single_line])
    email = models.EmailField(max_length=254)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["plan", "position", "id"]

    def __str__(self) -> str:
        return f"{self.topic}: {self.email}"
