"""Seals over a plan's audit trail, and their verification.

A plan's events are the events of every tracked model that belongs to it: the plan's own
(`pgh_obj_id`), and those of models with a `plan_id`. A seal covers the events since the
previous seal, table by table up to its `marks`, in a fixed order; its digest is
SHA-256(previous digest, then each event's digest). Altering, adding before a mark or removing
any sealed event changes the recomputed digest.
"""

import hashlib
import json
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Max
from django.db.models.fields.files import FieldFile
from pghistory.core import event_models

from truststream.models import AuditSeal


def _points_to_plan(model) -> bool:
    """The event model has a `plan` foreign key to the plan model (a bare `plan_id` number, as
    a person's notification has, does not make an event part of the plan's trail)."""
    try:
        field = model._meta.get_field("plan")
    except FieldDoesNotExist:
        return False
    related = getattr(field, "related_model", None)
    return related is not None and related._meta.label == settings.AUDIT_PLAN_MODEL


def plan_event_models() -> list:
    """Every event model with events that belong to a plan, in a fixed order."""
    chosen = []
    for model in event_models():
        tracked = model.pgh_tracked_model
        if tracked._meta.label == settings.AUDIT_PLAN_MODEL or _points_to_plan(model):
            chosen.append(model)
    return sorted(chosen, key=lambda model: model._meta.label)


def plan_events(model, plan_id: int):
    tracked = model.pgh_tracked_model
    if tracked._meta.label == settings.AUDIT_PLAN_MODEL:
        return model.objects.filter(pgh_obj_id=plan_id)
    return model.objects.filter(plan_id=plan_id)


def _plain(value):
    # A file field's value is the stored name (what the event row holds).
    return value.name if isinstance(value, FieldFile) else value


# Columns added to an event table after seals were taken over it. While such a column is empty
# it is left out of an event's digest, so that seals taken before it existed still verify; once
# it holds a value, the value is sealed like any other. Add every column added later here.
ADDED_LATER = {"checklists.ChecklistItemEvent": {"assignee_id"}}


def event_digest(model, event) -> str:
    added_later = ADDED_LATER.get(model._meta.label, set())
    data = {
        field.attname: _plain(getattr(event, field.attname))
        for field in model._meta.concrete_fields
        if field.attname != "pgh_id"
        and not (field.attname in added_later and getattr(event, field.attname) is None)
    }
    canonical = json.dumps(
        {"table": model._meta.label, "id": event.pgh_id, "data": data},
        sort_keys=True,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _chain(previous: str, plan_id: int, since: dict, marks: dict) -> tuple[str, int]:
    """The digest over the events after `since` up to `marks`, chained to `previous`."""
    chained = hashlib.sha256(previous.encode("ascii"))
    count = 0
    for model in plan_event_models():
        label = model._meta.label
        events = plan_events(model, plan_id).filter(
            pgh_id__gt=since.get(label, 0), pgh_id__lte=marks.get(label, 0)
        )
        for event in events.order_by("pgh_id").iterator():
            chained.update(event_digest(model, event).encode("ascii"))
            count += 1
    return chained.hexdigest(), count


@transaction.atomic
def seal_take(*, plan_id: int, reason: str) -> AuditSeal:
    """Seal the plan's events so far. The caller runs this in the transaction that made the
    change being sealed (a signature), so that the change is inside the seal."""
    # Seals of one plan are numbered in order; the lock keeps two from taking one number.
    previous = AuditSeal.objects.select_for_update().filter(plan_id=plan_id).last()
    marks = {}
    for model in plan_event_models():
        last = plan_events(model, plan_id).aggregate(last=Max("pgh_id"))["last"]
        if last is not None:
            marks[model._meta.label] = last
    since = previous.marks if previous else {}
    previous_digest = previous.digest if previous else ""
    digest, count = _chain(previous_digest, plan_id, since, marks)
    return AuditSeal.objects.create(
        plan_id=plan_id,
        number=(previous.number + 1) if previous else 1,
        reason=reason[:200],
        marks=marks,
        event_count=count,
        previous_digest=previous_digest,
        digest=digest,
    )


@dataclass
class Break:
    seal: AuditSeal
    problem: str

    def __str__(self) -> str:
        return (
            f"plan {self.seal.plan_id}, seal {self.seal.number} ({self.seal.reason}, "
            f"{self.seal.created_at:%Y-%m-%d %H:%M:%S} UTC): {self.problem}"
        )


def verify(plan_id: int | None = None) -> tuple[int, Break | None]:
    """Recompute every seal (of one plan, or of all); (seals checked, first broken link)."""
    seals = AuditSeal.objects.order_by("plan_id", "number")
    if plan_id is not None:
        seals = seals.filter(plan_id=plan_id)
    checked = 0
    previous_by_plan: dict[int, AuditSeal] = {}
    for seal in seals.iterator():
        previous = previous_by_plan.get(seal.plan_id)
        expected_number = previous.number + 1 if previous else 1
        if seal.number != expected_number:
            return checked, Break(seal, f"seal {expected_number} is missing")
        previous_digest = previous.digest if previous else ""
        if seal.previous_digest != previous_digest:
            return checked, Break(seal, "it does not chain to the seal before it")
        digest, count = _chain(
            previous_digest, seal.plan_id, previous.marks if previous else {}, seal.marks
        )
        if count != seal.event_count:
            return checked, Break(
                seal, f"it sealed {seal.event_count} events, {count} are there now"
            )
        if digest != seal.digest:
            return checked, Break(seal, "an event it sealed was altered")
        previous_by_plan[seal.plan_id] = seal
        checked += 1
    return checked, None


def plan_events_feed(plan_id: int):
    """All of a plan's events, newest first, with their diffs: one query however many tables
    (django-pghistory's aggregate `Events`). `references` puts the plan's id into each event
    table's own WHERE clause (its indexed `plan_id`, or `pgh_obj_id` for the plan's events), so
    the cost follows the plan's trail, not the whole trail."""
    from pghistory.models import Events

    plan = apps.get_model(settings.AUDIT_PLAN_MODEL)(pk=plan_id)
    return (
        Events.objects.across(*plan_event_models())
        .references(plan)
        .order_by("-pgh_created_at", "-pgh_id")
    )


EVENT_VERBS = {"insert": "created", "update": "changed", "delete": "deleted"}


def describe_events(events) -> list[dict]:
    """Each event as people read it: when, who, what, and the values before and after."""
    user_ids = {e.pgh_context.get("user") for e in events if e.pgh_context}
    users = get_user_model().objects.in_bulk([uid for uid in user_ids if uid])
    rows = []
    for event in events:
        context = event.pgh_context or {}
        who = users.get(context.get("user"))
        model = apps.get_model(event.pgh_obj_model)
        verb = EVENT_VERBS.get(event.pgh_label, event.pgh_label)
        if event.pgh_label == "update" and event.pgh_diff:
            changes = [(k, before, after) for k, (before, after) in sorted(event.pgh_diff.items())]
        else:
            changes = [(k, None, v) for k, v in sorted(event.pgh_data.items()) if k != "id"]
        rows.append(
            {
                "at": event.pgh_created_at,
                "who": (who.get_full_name() or who.email) if who else None,
                "via": context.get("task") or context.get("command") or context.get("url") or "",
                "what": f"{model._meta.verbose_name} #{event.pgh_obj_id} {verb}",
                "verb": verb,
                "changes": changes,
                "request_id": context.get("request_id", ""),
                "ip": context.get("ip", ""),
            }
        )
    return rows


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    """A cell a spreadsheet shows as text: no leading character that starts a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
