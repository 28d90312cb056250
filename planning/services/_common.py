"""Small helpers that several service modules share."""

from django.core.exceptions import ValidationError

from planning import selectors
from planning.models import DeploymentPlan, PlanMembership

Role = PlanMembership.Role


def _only(changes: dict, editable) -> None:
    """A programming error, not a user's: a service was asked to change a field it does not."""
    unknown = set(changes) - set(editable)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")


def _check_member(plan: DeploymentPlan, user, field: str) -> None:
    if user is not None and not selectors.is_plan_person(plan, user):
        raise ValidationError({field: "Choose a member of this plan."})
