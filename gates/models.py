import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from planning.models import DeploymentPlan
from truststream.audit.history import refuse_truncate, tracked


class Provider(models.TextChoices):
    GITHUB = "github", "GitHub"
    GITLAB = "gitlab", "GitLab"


@tracked()
class GateMapping(models.Model):
    """A repository's environment whose deployments wait for this plan's gate decision.

    `repository` is "owner/name" on GitHub and the project's full path on GitLab, kept in
    lower case (both services compare them without case). One plan per repository and
    environment on the instance: a deployment must know which plan decides it."""

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="gate_mappings")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    repository = models.CharField(max_length=255)
    environment = models.CharField(max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "provider", "repository", "environment"]
        constraints = [
            models.UniqueConstraint(
                "provider",
                Lower("repository"),
                "environment",
                name="gate_mapping_unique",
                violation_error_message="Another plan already gates this repository and "
                "environment; remove it there first.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.repository} → {self.environment}"


@tracked(exclude=["payload"])
class GateDeployment(models.Model):
    """A deployment waiting on a gate: one GitHub `deployment_protection_rule` delivery, or one
    blocked GitLab deployment. Received once (unique per provider and delivery), then worked
    on by the worker until the decision is posted."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        WAITING = "waiting", "Waiting for the plan"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Could not be answered"
        CLOSED = "closed", "Closed by the provider"
        UNMAPPED = "unmapped", "No plan gates it"

    OPEN = (State.QUEUED, State.WAITING)

    provider = models.CharField(max_length=10, choices=Provider.choices)
    # GitHub's X-GitHub-Delivery; on GitLab the project and deployment ids ("12/345").
    delivery_id = models.CharField(max_length=100)
    plan = models.ForeignKey(
        DeploymentPlan,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="gate_deployments",
    )
    repository = models.CharField(max_length=255)
    environment = models.CharField(max_length=255)
    project_id = models.BigIntegerField(null=True, blank=True)  # GitLab
    deployment_id = models.BigIntegerField(null=True, blank=True)
    installation_id = models.BigIntegerField(null=True, blank=True)  # GitHub
    callback_url = models.URLField(max_length=500, blank=True)  # GitHub
    ref = models.CharField(max_length=255, blank=True)
    sha = models.CharField(max_length=64, blank=True)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    reason = models.CharField(max_length=1024, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    status_reported_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # A decision that could not be delivered through its retries (the service answered 5xx or
    # could not be reached) is tried again by beat's `deployments_retry` until retry_until
    # (GATE_UNDELIVERED_RETRY_HOURS after the first failure); given_up_at once it stopped.
    retry_until = models.DateTimeField(null=True, blank=True)
    given_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "delivery_id"], name="gate_delivery_once"),
        ]
        indexes = [models.Index(fields=["plan", "state"])]

    def __str__(self) -> str:
        number = f" #{self.deployment_id}" if self.deployment_id else ""
        return f"{self.repository} → {self.environment}{number}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN

    @property
    def is_retried(self) -> bool:
        """Failed to deliver its decision, and still tried again by the sweep."""
        return (
            self.state == self.State.FAILED
            and self.retry_until is not None
            and self.given_up_at is None
        )


class GateAttempt(models.Model):
    """One outgoing call made for a gated deployment, kept as it went: every retry is a row.
    Never changed once written."""

    class Action(models.TextChoices):
        TOKEN = "token", "Installation token"
        STATUS = "status", "Status report"
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"

    deployment = models.ForeignKey(
        GateDeployment, on_delete=models.CASCADE, related_name="attempts"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    number = models.PositiveSmallIntegerField()  # 1 for the first try of this action
    url = models.URLField(max_length=500)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    response = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField()
    seconds = models.FloatField()

    class Meta:
        ordering = ["deployment", "started_at", "id"]
        triggers = [
            pgtrigger.Protect(name="gate_attempt_append_only", operation=pgtrigger.Update),
            refuse_truncate("gate_attempt_no_truncate"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} try {self.number}: {self.status_code or self.error}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@tracked()
class GateDecision(models.Model):
    """A decision handed out, as it was handed out: who asked (a person through the API, or an
    integration), for which deployment, and the decision's whole JSON. The audit record of
    the gates: never changed or deleted (nor its history, pghistory's events)."""

    class Integration(models.TextChoices):
        GITHUB = "github", "GitHub deployment protection rule"
        GITLAB = "gitlab", "GitLab deployment approval"
        API = "api", "Gate API"
        WEBHOOK = "webhook", "Outgoing webhook"

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.PROTECT, related_name="+")
    integration = models.CharField(max_length=10, choices=Integration.choices)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    deployment = models.ForeignKey(
        GateDeployment, on_delete=models.PROTECT, null=True, blank=True, related_name="decisions"
    )
    # What the asker named: "octo/shop → production #42", or the caller's own label.
    deployment_label = models.CharField(max_length=300, blank=True)
    # What was posted: "approved", "rejected", "status" (a report without a state) or, for a
    # read of the gate, the decision itself.
    answer = models.CharField(max_length=10)
    decision = models.CharField(max_length=10)  # go | no-go
    document = models.JSONField()  # Decision.as_json()
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        triggers = [
            pgtrigger.Protect(
                name="gate_decision_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
            refuse_truncate("gate_decision_no_truncate"),
        ]

    def __str__(self) -> str:
        return f"{self.decision} for {self.deployment_label or self.plan_id}"


# Outgoing webhooks


class WebhookEventType(models.TextChoices):
    """What a plan's webhooks may be sent on; the value is the body's `event`."""

    STATUS_CHANGED = "plan.status_changed", "Status change"
    SIGNOFF_RECORDED = "signoff.recorded", "Sign-off"
    SIGNATURE_STALE = "signoff.stale", "Stale signature"
    PACKET_READY = "packet.ready", "Packet ready"


# The secret signs every body; it is shown once and never recorded in the audit trail.
@tracked(exclude=["secret"])
class Webhook(models.Model):
    """An address a plan's owners want told of the plan's events, signed with its secret."""

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField("URL", max_length=500)
    secret = models.CharField(max_length=100)
    event_types = ArrayField(models.CharField(max_length=40, choices=WebhookEventType.choices))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "url"], name="webhook_url_unique"),
            models.CheckConstraint(condition=~Q(event_types=[]), name="webhook_has_events"),
            models.CheckConstraint(
                condition=Q(url__startswith="http://") | Q(url__startswith="https://"),
                name="webhook_url_http",
            ),
        ]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one webhook, with its latest attempt. A redelivery is
    a delivery of its own with the same body and a new id. Not in the audit trail: it is the
    transport's log, written by the worker at every attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="+")
    # The event's id (the body's `id`, the X-TrustStream-Delivery header), the same in a
    # redelivery, so that a receiver can tell it has seen the event.
    event_id = models.UUIDField(db_index=True)
    event = models.CharField(max_length=40, choices=WebhookEventType.choices)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    redelivery_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    attempted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["plan", "-created_at"], name="delivery_plan_recent")]

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook_id}"
