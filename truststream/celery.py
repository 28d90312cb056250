"""The Celery application. Tasks live in each app's tasks.py and are found automatically."""

import logging
import os

import redis
from celery import Celery, Task
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "truststream.settings")

logger = logging.getLogger(__name__)

# Errors that pass: Postgres restarting or unreachable, Redis (the broker) away, a mail server
# or the storage refusing for a moment. A task that meets one is tried again later.
TRANSIENT = (OperationalError, InterfaceError, BrokerError, redis.ConnectionError, OSError)


class AuditedTask(Task):
    """Changes a task makes are recorded with the task's name and id as their context.

    Every task is retried on a transient error, after 1, 2, 4 ... seconds (at most a minute
    apart, with jitter so that the tasks failed by one outage do not all come back at once),
    eight times, about four minutes in all; one that still fails says so in the log."""

    autoretry_for = TRANSIENT
    retry_backoff = True
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 8

    def __call__(self, *args, **kwargs):
        from truststream.audit.history import context

        with context(task=self.name, task_id=self.request.id):
            return super().__call__(*args, **kwargs)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        if isinstance(exc, TRANSIENT):
            logger.error(
                "Task %s[%s] gave up after %d retries on %s: %s (arguments %r)",
                self.name,
                task_id,
                self.request.retries,
                type(exc).__name__,
                exc,
                args,
            )


app = Celery("truststream", task_cls=AuditedTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
