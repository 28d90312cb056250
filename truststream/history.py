"""The audit trail's shared parts.

Postgres triggers (django-pghistory) record each insert, update and delete of every domain
model, whatever made it (a view, a task, the admin, raw SQL), in event tables that refuse
UPDATE, DELETE and TRUNCATE. Each event carries its context: the acting user, the request's
id, IP address and path, or the Celery task or management command that made it.
"""

import uuid

import pghistory
import pgtrigger
from pghistory.middleware import HistoryMiddleware


def audited() -> tuple:
    """The trackers: new instances each time, as pghistory binds them to their model."""
    return (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())


def tracked(exclude: list[str] | None = None):
    """`@tracked()` on a model: every change recorded, the record append-only.

    UPDATE and DELETE on the event table are refused by pghistory's append-only triggers
    (PGHISTORY_APPEND_ONLY); TRUNCATE, a statement-level operation, by this one. `exclude`
    leaves out fields too large to copy at every change that are never changed themselves.
    """
    return pghistory.track(
        *audited(),
        exclude=exclude,
        meta={"triggers": [refuse_truncate("protect_truncate")]},
    )


def refuse_truncate(name: str) -> pgtrigger.Trigger:
    """A statement trigger that refuses TRUNCATE on its table."""
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=pgtrigger.Truncate,
        level=pgtrigger.Statement,
        func="RAISE EXCEPTION 'pgtrigger: Cannot truncate table %', TG_TABLE_NAME;",
    )


class AuditMiddleware(HistoryMiddleware):
    """Adds the request's id and client address to the context of every change it makes."""

    def get_context(self, request) -> dict:
        return {
            **super().get_context(request),
            "request_id": request.headers.get("X-Request-ID") or uuid.uuid4().hex,
            "ip": request.META.get("REMOTE_ADDR"),
            "method": request.method,
        }


def context(**metadata) -> pghistory.context:
    """Context for changes made outside a request (tasks, commands); usable as `with`."""
    return pghistory.context(**metadata)
