"""The plan's row lock, which every change to a plan takes first."""

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from planning.models import DeploymentPlan
from planning.signals import plan_content_changed


def _lock_plan(plan: DeploymentPlan) -> DeploymentPlan:
    # Membership changes of one plan are serialised on the plan row, so that two owners
    # demoting each other at the same moment cannot leave the plan without an owner.
    return DeploymentPlan.objects.select_for_update().get(pk=plan.pk)


def _share_plan(plan: DeploymentPlan) -> DeploymentPlan:
    # FOR SHARE: held by any number of changes at once, and exclusive of FOR UPDATE.
    table = connection.ops.quote_name(DeploymentPlan._meta.db_table)
    query = f"SELECT * FROM {table} WHERE id = %s FOR SHARE"  # noqa: S608 - the model's table
    return DeploymentPlan.objects.raw(query, [plan.pk])[0]


def plan_lock_writable(
    plan: DeploymentPlan, *, content: bool = True, shared: bool = False
) -> DeploymentPlan:
    """Lock the plan and return it fresh, unless it is archived.

    Every change to a plan's content takes this lock first, so that a change cannot slip in
    beside an archive happening at the same moment, nor between a signer's snapshot and their
    signature. `content=False` is for writes beside the content (a packet request) that need
    the same guarantee but change nothing signed.

    `shared=True` is for a change to one part of the plan that guards that part itself
    (compare-and-set on a checklist item's version): it still waits for an archive, a
    signature or a packet request, and they for it, but changes of other parts at the same
    moment no longer queue behind each other for the whole of their transactions.
    """
    plan = _share_plan(plan) if shared else _lock_plan(plan)
    if plan.is_archived:
        raise ValidationError("This plan is archived. Restore it before changing it.")
    if content:
        plan_id = plan.pk
        transaction.on_commit(
            lambda: plan_content_changed.send_robust(sender=DeploymentPlan, plan_id=plan_id)
        )
    return plan
