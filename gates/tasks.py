"""The worker's tasks. Each loads what it needs by id and calls a service (imported inside the
task body, the Celery pattern, since the services queue these tasks)."""

from celery import shared_task
from django.conf import settings

from gates import selectors
from truststream.locks import once_per


@shared_task
def deployment_answer(deployment_id: int) -> None:
    """Decide a gated deployment and post the answer (retries are inside: each try waits its
    backoff and is recorded)."""
    from gates import services

    services.deployment_answer(deployment_id=deployment_id)


def deployment_answer_queue(deployment_id: int) -> None:
    deployment_answer.delay(deployment_id)


@shared_task
def plan_gates_changed(plan_id: int) -> None:
    """After a change to a plan: answer again each deployment still waiting on it."""
    for deployment_id in selectors.open_deployment_ids(plan_id):
        deployment_answer.delay(deployment_id)


@shared_task
@once_per(max(1, settings.CELERY_BEAT_SCHEDULE["gate-deployments-retry"]["schedule"] * 9 // 10))
def deployments_retry() -> list[int]:
    """Every ten minutes: post again the decisions that could not be delivered; give up on
    those past GATE_UNDELIVERED_RETRY_HOURS. Returns the deployments queued."""
    from gates import services

    return services.undelivered_retry()
