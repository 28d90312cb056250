"""The audit trail's shared parts.

Postgres triggers (django-pghistory) record each insert, update and delete of every domain
model, whatever made it (a view, a task, the admin, raw SQL), in event tables that refuse
UPDATE, DELETE and TRUNCATE. Each event carries its context: the acting user, the request's
id, IP address and path, or the Celery task or management command that made it.
"""

import re
import uuid

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
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

    def decorate(model):
        meta = {"triggers": [refuse_truncate("protect_truncate")], "indexes": _indexes(model)}
        return pghistory.track(*audited(), exclude=exclude, meta=meta)(model)

    return decorate


def _indexes(model) -> list[models.Index]:
    """What reading a plan's trail by keyset needs (truststream.audit.plan_events_page): an
    event's previous one, for its diff, by (object, id); the events of one plan by (plan,
    time, id). Without them every page would scan all of the plan's events again."""
    if model._meta.label == settings.AUDIT_PLAN_MODEL:
        plan = "pgh_obj"
    elif any(field.name == "plan" and field.is_relation for field in model._meta.fields):
        plan = "plan"
    else:
        return []  # not part of a plan's trail
    return [
        models.Index(fields=["pgh_obj", "pgh_id"]),
        models.Index(fields=[plan, "pgh_created_at", "pgh_id"]),
    ]


def refuse_truncate(name: str) -> pgtrigger.Trigger:
    """A statement trigger that refuses TRUNCATE on its table."""
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=pgtrigger.Truncate,
        level=pgtrigger.Statement,
        func="RAISE EXCEPTION 'pgtrigger: Cannot truncate table %', TG_TABLE_NAME;",
    )


# A request id a client (or the proxy in front) may choose. Anything else is replaced, so
# that what the audit trail, its CSV and the logs show under "request id" is never markup,
# a formula, a line break or a megabyte.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)


def request_id(request) -> str:
    """The client's `X-Request-ID` when it is a plain token, else a new one."""
    given = request.headers.get("X-Request-ID", "")
    return given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


class AuditMiddleware(HistoryMiddleware):
    """Adds the request's id and client address to the context of every change it makes."""

    def get_context(self, request) -> dict:
        return {
            **super().get_context(request),
            "request_id": request_id(request),
            "ip": request.META.get("REMOTE_ADDR"),
            "method": request.method,
        }


def context(**metadata) -> pghistory.context:
    """Context for changes made outside a request (tasks, commands); usable as `with`."""
    return pghistory.context(**metadata)
