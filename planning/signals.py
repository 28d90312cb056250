"""Hooks through which higher apps add their parts to a plan without planning importing them.

`plan_created` is sent by `services.plan_create` inside its transaction, after the plan and its
playbook copy exist; a receiver that raises rolls the whole creation back.
"""

from django.dispatch import Signal

plan_created = Signal()  # sender=DeploymentPlan, plan=<the new plan>
