from django.conf import settings
from django.db import models
from django.db.models import F, Q

from truststream.audit.history import tracked


@tracked()
class AuditorExport(models.Model):
    """An auditor export someone downloaded: who, for which period, in which format, and what
    it held. Written once by `auditor_export_record`; its audit event carries the request's
    context (address, request id) like every other change."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSON = "json", "JSON"

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    format = models.CharField(max_length=4, choices=Format.choices)
    plan_count = models.PositiveIntegerField()
    # The CSV's data rows: one per approval, one for a plan without any (the same for JSON).
    row_count = models.PositiveIntegerField()
    plan_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="export_period_order"
            ),
            models.CheckConstraint(condition=Q(format__in=["csv", "json"]), name="export_format"),
        ]

    def __str__(self) -> str:
        return f"{self.get_format_display()} export of {self.period_start}–{self.period_end}"
