"""The portfolio's score trend: each plan's weighted readiness total at the end of each of the
last weeks, from its readiness scores (never edited: each score is a new row, so the score a
category had at any moment is the latest given by then)."""

import datetime
from decimal import Decimal

from django.utils import timezone

from checklists.models import ReadinessScore
from planning.models import Playbook


def week_ends(weeks: int, now: datetime.datetime | None = None) -> list[datetime.datetime]:
    """The moments the trend is read at, oldest first: now, and every seven days before."""
    now = now or timezone.now()
    return [now - datetime.timedelta(days=7 * back) for back in range(weeks - 1, -1, -1)]


def score_trends(plans, *, weeks: int = 6, now=None) -> dict[int, list[float | None]]:
    """For each plan, its weighted total at each of `week_ends` (None before any score).
    Two queries whatever the number of plans: the playbooks' weights and the scores."""
    ends = week_ends(weeks, now)
    weights = {
        playbook.pk: {
            category["key"]: category["weight"]
            for category in playbook.definition["readiness"]["categories"]
        }
        for playbook in Playbook.objects.filter(pk__in={plan.playbook_id for plan in plans})
    }
    rows = (
        ReadinessScore.objects.filter(
            plan_id__in=[plan.pk for plan in plans], scored_at__lte=ends[-1]
        )
        .order_by("plan_id", "scored_at", "id")
        .values_list("plan_id", "category", "score", "scored_at")
    )
    by_plan: dict[int, list] = {}
    for row in rows:
        by_plan.setdefault(row[0], []).append(row[1:])
    trends = {}
    for plan in plans:
        scores = by_plan.get(plan.pk, [])
        plan_weights = weights[plan.playbook_id]
        points: list[float | None] = []
        current: dict[str, int] = {}
        position = 0
        for end in ends:
            while position < len(scores) and scores[position][2] <= end:
                category, score, _ = scores[position]
                current[category] = score
                position += 1
            if not current:
                points.append(None)
                continue
            total = sum(
                (Decimal(plan_weights.get(key, 0) * score) for key, score in current.items()),
                Decimal(0),
            )
            points.append(float(total / 10))
        trends[plan.pk] = points
    return trends
