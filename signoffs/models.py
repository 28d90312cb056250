from django.conf import settings
from django.db import models
from django.db.models import Q

from planning.models import DeploymentPlan
from truststream.audit.history import tracked


@tracked()
class SignoffRequirement(models.Model):
    """An approval role of a plan (from its playbook) and who holds it."""

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="roles")
    role = models.SlugField(max_length=50)
    title = models.CharField(max_length=100)
    approves = models.CharField(max_length=200)
    covers = models.JSONField()  # section names, e.g. ["requirements.security", "readiness"]
    conditional = models.BooleanField(default=False)
    # A conditional role (Compliance Officer, "if applicable") is required once an owner says so.
    required = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="signoff_roles",
    )
    # The approval policy. A role is held by one person (the guide's default) or by a team:
    # then any `quorum` of its current members approve it, each with a signature of their own.
    team = models.ForeignKey(
        "truststream.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="signoff_roles",
    )
    quorum = models.PositiveSmallIntegerField(default=1)
    # Approvals stop counting this many days after they were given (none: they do not expire).
    approval_days = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.CheckConstraint(
                condition=Q(assignee__isnull=True) | Q(team__isnull=True),
                name="signoff_role_one_holder",
            ),
            # A person's role has a quorum of one; a team's at least one and at most 20.
            models.CheckConstraint(
                condition=(Q(team__isnull=True) & Q(quorum=1))
                | (Q(team__isnull=False) & Q(quorum__gte=1) & Q(quorum__lte=20)),
                name="signoff_role_quorum",
            ),
            models.CheckConstraint(
                condition=Q(approval_days__isnull=True)
                | (Q(approval_days__gte=1) & Q(approval_days__lte=3650)),
                name="signoff_role_approval_days",
            ),
            models.UniqueConstraint(fields=["plan", "role"], name="signoff_role_unique"),
            # Separation of duties: one person holds at most one approval role per plan.
            models.UniqueConstraint(
                fields=["plan", "assignee"],
                condition=Q(assignee__isnull=False),
                name="signoff_one_role_per_person",
                violation_error_message="This person already holds another role on this plan.",
            ),
        ]

    def __str__(self) -> str:
        return self.title


@tracked()
class Signoff(models.Model):
    """A signature: never edited; a later decision for the same role supersedes it.

    It binds to content: `digest` is the SHA-256 of the canonical snapshot of the sections the
    role covers, taken when the signer saw them. It is current only while that digest still
    matches the plan.
    """

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="signoffs")
    requirement = models.ForeignKey(
        SignoffRequirement, on_delete=models.PROTECT, related_name="signoffs"
    )
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(max_length=200)
    role_title = models.CharField(max_length=100)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    meaning = models.CharField(max_length=300)
    comment = models.TextField(max_length=2000, blank=True)
    reason = models.TextField(max_length=2000, blank=True)
    sections = models.JSONField()
    digest = models.CharField(max_length=64)
    signed_at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # Each section's digest at signing, to say what changed since when the signature is stale.
    section_digests = models.JSONField(default=dict)
    stale_notified_at = models.DateTimeField(null=True, blank=True)
    # When the signer was told that the approval is about to expire (the role's approval_days).
    expiry_warned_at = models.DateTimeField(null=True, blank=True)
    # A deputy's signature: the holder who named them (a Delegation covering the signing day).
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["plan", "-signed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(decision="reject") | ~Q(reason=""),
                name="signoff_rejection_needs_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.printed_name}: {self.get_decision_display()} as {self.role_title}"


@tracked()
class Delegation(models.Model):
    """A role's holder names a deputy among the plan's members for a range of days (both
    included): the deputy may sign for the role on the holder's behalf meanwhile."""

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="delegations")
    requirement = models.ForeignKey(
        SignoffRequirement, on_delete=models.CASCADE, related_name="delegations"
    )
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    deputy = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_on = models.DateField()
    ends_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="delegation_range"
            ),
            models.CheckConstraint(
                condition=~Q(deputy=models.F("holder")), name="delegation_not_oneself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deputy} for {self.holder} as {self.requirement}"


@tracked(exclude=["snapshot", "leased_until"])
class ReadinessPacket(models.Model):
    """A PDF readiness packet of one revision of a plan, rendered by the worker.

    Immutable once ready: it keeps the packet contents it was made from in `snapshot` (also
    embedded in the PDF), their digest and the SHA-256 of the file. A revision is one state of
    the plan's content and signatures, numbered in the order packets were asked for; the same
    revision and kind is rendered once.
    """

    class Kind(models.TextChoices):
        FINAL = "final", "Final"
        DRAFT = "draft", "Draft"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RENDERING = "rendering", "Rendering"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="packets")
    revision = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    content_digest = models.CharField(max_length=64)
    snapshot = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    failure = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField()
    # When it was last handed to the worker; a packet pending long after is queued again.
    queued_at = models.DateTimeField()
    # While rendering: until when the worker holds it. The worker renews the lease as it
    # renders; one that ran out means the worker died, and the packet is queued again.
    leased_until = models.DateTimeField(null=True, blank=True)
    # The audit seal taken when the packet was asked for; its digest is printed in the packet.
    seal_number = models.PositiveIntegerField()
    seal_digest = models.CharField(max_length=64)
    file = models.FileField(upload_to="packets/", max_length=200, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    render_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "-revision", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "content_digest", "kind"], name="packet_once_per_revision"
            ),
            models.UniqueConstraint(fields=["plan", "revision", "kind"], name="packet_revision"),
            models.CheckConstraint(
                condition=~Q(status="ready") | (~Q(sha256="") & ~Q(file="")),
                name="packet_ready_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} revision {self.revision} ({self.get_kind_display().lower()})"

    @property
    def pending(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RENDERING)
