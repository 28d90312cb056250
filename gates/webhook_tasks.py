"""The worker's side of outgoing webhooks: one task per delivery, tried again with backoff.

`gates.webhook_services` queues it; it imports the services inside its body (the Celery
pattern, as `signoffs.tasks` does)."""

from celery import shared_task


# The services stop at WEBHOOK_MAX_ATTEMPTS; this bound only keeps a database outage (retried
# by AuditedTask) from retrying for ever.
@shared_task(bind=True, max_retries=50)
def webhook_deliver(self, delivery_id: int) -> None:
    """Send one delivery; on a failure worth retrying, wait longer each time (the services
    count the attempts and stop at WEBHOOK_MAX_ATTEMPTS)."""
    from gates import webhook_services

    if webhook_services.delivery_attempt(delivery_id=delivery_id):
        countdown = webhook_services.retry_delay(self.request.retries + 1)
        raise self.retry(countdown=countdown)
