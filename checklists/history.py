"""A plan's readiness over time: the weighted total as the matrix gave it at each moment.

Scores are never edited (a new score is a new `ReadinessScore` row), so the rows of a plan,
replayed in the order they were given, say what the current score of every category was at
any moment, and from that the weighted total as `readiness.compute` makes it: the sum over the
playbook's categories of weight × score / 10, an unscored category adding nothing. Rows of a
category the playbook does not name are left out, as the matrix leaves them out.

The total only: the band's blockers come from checklist items, whose past states this module
does not replay.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from checklists.models import ReadinessScore
from planning.models import DeploymentPlan


@dataclass(frozen=True)
class TotalStep:
    """From `at` on (until the next step), the plan's weighted total was `total`."""

    at: datetime.datetime
    total: Decimal


def _weights(definition: dict) -> dict[str, int]:
    return {category["key"]: category["weight"] for category in definition["categories"]}


def _replay(rows: Iterable[tuple[str, int, datetime.datetime]], weights: dict[str, int]):
    """(category, score, scored_at) rows, oldest first → a TotalStep after each row that
    counts; a row that leaves the total where it was still makes a step (someone re-scored)."""
    current: dict[str, int] = {}
    for category, score, scored_at in rows:
        if category not in weights:
            continue
        current[category] = score
        total = sum(
            (Decimal(weights[key] * value) / 10 for key, value in current.items()), Decimal(0)
        )
        yield TotalStep(scored_at, total)


def total_history(plan: DeploymentPlan) -> list[TotalStep]:
    """Every change of the plan's weighted total, oldest first; empty before the first score.
    One query (the plan's playbook is read from the plan object)."""
    rows = plan.readiness_scores.order_by("scored_at", "id").values_list(
        "category", "score", "scored_at"
    )
    return list(_replay(rows, _weights(plan.playbook.definition["readiness"])))


def week_ends(weeks: int, now: datetime.datetime | None = None) -> list[datetime.datetime]:
    """The ends of the last `weeks` weeks (Monday to Sunday, in the project's time zone),
    oldest first; the current week has not ended, so its point is now."""
    now = timezone.localtime(now or timezone.now())
    monday = (now - datetime.timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    ends = [monday - datetime.timedelta(weeks=back) for back in range(weeks - 2, -1, -1)]
    return [*ends, now]


def _at(steps: list[TotalStep], moment: datetime.datetime) -> float | None:
    """The total in force at `moment` (the last step before it), None before the first."""
    value = None
    for step in steps:
        if step.at >= moment:
            break
        value = float(step.total)
    return value


def score_trends(plan_ids, *, weeks=6) -> dict[int, list[float | None]]:
    """For each plan, its weighted readiness total at each of the last `weeks` week ends,
    oldest first (the last one is now), None while the plan had no score yet. Ids of plans
    that do not exist are left out.

    Two queries whatever the number of plans: each plan's readiness definition (only that
    part of its playbook), then every score of those plans. The caller has checked that the
    user may see these plans.
    """
    plan_ids = list(dict.fromkeys(plan_ids))
    if not plan_ids:
        return {}
    definitions = dict(
        DeploymentPlan.objects.filter(pk__in=plan_ids).values_list(
            "pk", KeyTransform("readiness", "playbook__definition")
        )
    )
    ends = week_ends(weeks)
    rows: dict[int, list] = {}
    for plan_id, category, score, scored_at in (
        ReadinessScore.objects.filter(plan_id__in=definitions)
        .order_by("plan_id", "scored_at", "id")
        .values_list("plan_id", "category", "score", "scored_at")
    ):
        rows.setdefault(plan_id, []).append((category, score, scored_at))
    trends = {}
    for plan_id in plan_ids:
        if plan_id not in definitions:
            continue
        steps = list(_replay(rows.get(plan_id, []), _weights(definitions[plan_id])))
        # The last point is now: every score given so far, even one given this instant.
        trends[plan_id] = [_at(steps, end) for end in ends[:-1]] + [
            float(steps[-1].total) if steps else None
        ]
    return trends
