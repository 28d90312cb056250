import pgtrigger
from django.conf import settings
from django.db import models

from truststream.history import refuse_truncate, tracked


@tracked()
class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the token itself is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditSeal(models.Model):
    """A link in a plan's chain of seals: the SHA-256 over the plan's audit events since the
    previous seal, chained to that seal's digest. `marks` says, per event table, the last
    event the seal covers, so that `verify_audit` can recompute exactly what it sealed."""

    plan_id = models.BigIntegerField(db_index=True)
    number = models.PositiveIntegerField()
    reason = models.CharField(max_length=200)
    marks = models.JSONField()
    event_count = models.PositiveIntegerField()
    previous_digest = models.CharField(max_length=64, blank=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan_id", "number"], name="seal_number_unique")
        ]
        triggers = [
            pgtrigger.Protect(
                name="seal_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
            refuse_truncate("seal_no_truncate"),
        ]

    def __str__(self) -> str:
        return f"Seal {self.number} of plan {self.plan_id}"
