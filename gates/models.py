from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from planning.models import DeploymentPlan
from truststream.audit.history import tracked


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
