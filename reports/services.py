from django.db import transaction

from reports.models import AuditorExport
from reports.selectors import Population


@transaction.atomic
def auditor_export_record(*, user, population: Population, format: str) -> AuditorExport:
    """Record that `user` downloaded `population` in `format`. The caller has read the
    population for this user (so it holds only plans they may export) and sends exactly it."""
    export = AuditorExport(
        requested_by=user,
        period_start=population.start,
        period_end=population.end,
        format=format,
        plan_count=len(population.records),
        row_count=population.row_count,
        plan_ids=[record.plan.pk for record in population.records],
    )
    export.full_clean()
    export.save()
    return export
