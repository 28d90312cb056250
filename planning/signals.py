"""Hooks through which higher apps add their parts to a plan without planning importing them.

`plan_created` is sent by `services.plan_create` inside its transaction, after the plan and its
playbook copy exist; a receiver that raises rolls the whole creation back.
"""

from django.dispatch import Signal

plan_created = Signal()  # sender=DeploymentPlan, plan=<the new plan>

# Sent inside the transaction that removes a member, so that other apps can let go of them.
member_removed = Signal()  # sender=DeploymentPlan, plan=<plan>, user=<the removed user>

# Sent after a transaction that changed a plan's content has committed (once per change made
# through the services; changes made elsewhere are caught by signoffs' periodic sweep).
plan_content_changed = Signal()  # sender=DeploymentPlan, plan_id=<id>

# Sent after a plan's archiving has committed (archiving changes no content, so
# `plan_content_changed` does not announce it): the deploy gates reject what waits on it.
plan_archived = Signal()  # sender=DeploymentPlan, plan_id=<id>
