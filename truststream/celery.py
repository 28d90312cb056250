"""The Celery application. Tasks live in each app's tasks.py and are found automatically."""

import os

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "truststream.settings")


class AuditedTask(Task):
    """Changes a task makes are recorded with the task's name and id as their context."""

    def __call__(self, *args, **kwargs):
        from truststream.audit.history import context

        with context(task=self.name, task_id=self.request.id):
            return super().__call__(*args, **kwargs)


app = Celery("truststream", task_cls=AuditedTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
