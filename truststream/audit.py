"""Seals over a plan's audit trail, and their verification.

A plan's events are the events of every tracked model that belongs to it: the plan's own
(`pgh_obj_id`), and those of models with a `plan_id`. A seal covers the events since the
previous seal, table by table up to its `marks`, in a fixed order; its digest is
SHA-256(previous digest, then each event's digest). Altering, adding before a mark or removing
any sealed event changes the recomputed digest. Each event's digest includes its context (the
`pghistory_context` row: who, from which address, in which request or task), and the seal
records those contexts in `SealedContext`, after which the database refuses to change them.

Higher apps register what cites a seal (a packet prints the digest of the seal it was taken
at) with `seal_references_register`; `verify` checks each citation against the chain, which is
how the removal of the newest seals, which no later seal chains to, is caught.
"""

import datetime
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Max
from django.db.models.fields.files import FieldFile
from pghistory.core import event_models

from truststream.models import AuditSeal, SealedContext


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


def event_digest(model, event, *, with_context: bool = False) -> str:
    """The event's digest; `with_context` adds its context's metadata, which the caller has
    loaded with the event (`select_related("pgh_context")`)."""
    added_later = ADDED_LATER.get(model._meta.label, set())
    data = {
        field.attname: _plain(getattr(event, field.attname))
        for field in model._meta.concrete_fields
        if field.attname != "pgh_id"
        and not (field.attname in added_later and getattr(event, field.attname) is None)
    }
    sealed = {"table": model._meta.label, "id": event.pgh_id, "data": data}
    if with_context:
        # Read through the event's own pointer: a context deleted, or swapped for another
        # row, digests differently from the one that was sealed.
        sealed["context"] = event.pgh_context.metadata if event.pgh_context else None
    canonical = json.dumps(sealed, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class _Chained:
    digest: str
    count: int
    context_ids: set


def _chain(
    previous: str, plan_id: int, since: dict, marks: dict, *, with_context: bool
) -> _Chained:
    """The digest over the events after `since` up to `marks`, chained to `previous`."""
    chained = hashlib.sha256(previous.encode("ascii"))
    count = 0
    context_ids = set()
    for model in plan_event_models():
        label = model._meta.label
        events = plan_events(model, plan_id).filter(
            pgh_id__gt=since.get(label, 0), pgh_id__lte=marks.get(label, 0)
        )
        if with_context:
            events = events.select_related("pgh_context")
        for event in events.order_by("pgh_id").iterator():
            chained.update(event_digest(model, event, with_context=with_context).encode("ascii"))
            count += 1
            if event.pgh_context_id is not None:
                context_ids.add(event.pgh_context_id)
    return _Chained(chained.hexdigest(), count, context_ids)


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
    chained = _chain(previous_digest, plan_id, since, marks, with_context=True)
    # From here on the database refuses to change these contexts (AuditContext's trigger).
    SealedContext.objects.bulk_create(
        [SealedContext(context_id=context_id) for context_id in chained.context_ids],
        ignore_conflicts=True,
    )
    return AuditSeal.objects.create(
        plan_id=plan_id,
        number=(previous.number + 1) if previous else 1,
        reason=reason[:200],
        marks=marks,
        event_count=chained.count,
        previous_digest=previous_digest,
        digest=chained.digest,
    )


@dataclass(frozen=True)
class SealReference:
    """A record of a higher app that cites a seal by number and digest."""

    plan_id: int
    number: int
    digest: str
    cited_by: str  # how people name the record, e.g. "packet revision 3 (final)"


_reference_sources: list[Callable[[int | None], Iterable[SealReference]]] = []


def seal_references_register(source: Callable[[int | None], Iterable[SealReference]]) -> None:
    """Called from a higher app's `AppConfig.ready()`: `source(plan_id)` yields a reference for
    each of its records that cites a seal of that plan (of every plan when None)."""
    if source not in _reference_sources:
        _reference_sources.append(source)


@dataclass
class Break:
    plan_id: int
    link: str
    problem: str

    def __str__(self) -> str:
        return f"plan {self.plan_id}, {self.link}: {self.problem}"


def _seal_link(seal: AuditSeal) -> str:
    return f"seal {seal.number} ({seal.reason}, {seal.created_at:%Y-%m-%d %H:%M:%S} UTC)"


def _seal_problem(seal: AuditSeal, previous: AuditSeal | None) -> str:
    """What is wrong with the seal, recomputed after `previous` (its plan's seal before it)."""
    expected_number = previous.number + 1 if previous else 1
    if seal.number != expected_number:
        return f"seal {expected_number} is missing"
    previous_digest = previous.digest if previous else ""
    if seal.previous_digest != previous_digest:
        return "it does not chain to the seal before it"
    chained = _chain(
        previous_digest,
        seal.plan_id,
        previous.marks if previous else {},
        seal.marks,
        with_context=seal.covers_context,
    )
    if chained.count != seal.event_count:
        return f"it sealed {seal.event_count} events, {chained.count} are there now"
    if chained.digest != seal.digest:
        return "an event it sealed, or the context it was made in, was altered"
    return ""


def verify(plan_id: int | None = None) -> tuple[int, Break | None]:
    """Recompute every seal (of one plan, or of all) and check every citation of a seal;
    (seals checked, first broken link). Plan by plan: its seals in order, then what cites them.
    """
    references = defaultdict(list)
    for source in _reference_sources:
        for reference in source(plan_id):
            references[reference.plan_id].append(reference)
    seals = AuditSeal.objects.all()
    if plan_id is not None:
        seals = seals.filter(plan_id=plan_id)
    plan_ids = set(seals.values_list("plan_id", flat=True).distinct()) | set(references)
    checked = 0
    for plan in sorted(plan_ids):
        digests = {}
        previous = None
        for seal in seals.filter(plan_id=plan).order_by("number").iterator():
            problem = _seal_problem(seal, previous)
            if problem:
                return checked, Break(plan, _seal_link(seal), problem)
            digests[seal.number] = seal.digest
            previous = seal
            checked += 1
        for reference in sorted(references[plan], key=lambda r: r.number):
            if reference.number not in digests:
                problem = f"it cites seal {reference.number}, which is missing"
            elif digests[reference.number] != reference.digest:
                problem = f"it cites seal {reference.number} with another digest than the seal's"
            else:
                continue
            return checked, Break(plan, reference.cited_by, problem)
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


@dataclass
class FeedEvent:
    """One event of a plan's trail as the audit page reads it (the attributes are those of
    django-pghistory's aggregate events, so that `describe_events` reads either)."""

    pgh_model: str
    pgh_obj_model: str
    pgh_id: int
    pgh_obj_id: int
    pgh_created_at: datetime.datetime
    pgh_label: str
    pgh_context: dict | None
    pgh_data: dict
    pgh_diff: dict | None

    @property
    def cursor(self) -> "Cursor":
        return Cursor(self.pgh_created_at, self.pgh_model, self.pgh_id)


@dataclass(frozen=True)
class Cursor:
    """A place in a plan's trail. Events are ordered by (time, table, id): ids count per
    event table, and every event of one transaction has the same time."""

    at: datetime.datetime
    table: str
    pgh_id: int

    def __str__(self) -> str:
        micros = (self.at - datetime.datetime.fromtimestamp(0, datetime.UTC)) // _MICROSECOND
        return f"{micros}_{self.table}_{self.pgh_id}"

    @classmethod
    def parse(cls, text: str) -> "Cursor | None":
        """The cursor written by `str`, or None for anything else."""
        match = _CURSOR.fullmatch(text or "")
        if match is None or match[2] not in {m._meta.label for m in plan_event_models()}:
            return None
        at = datetime.datetime.fromtimestamp(0, datetime.UTC) + int(match[1]) * _MICROSECOND
        return cls(at, match[2], int(match[3]))


_MICROSECOND = datetime.timedelta(microseconds=1)
_CURSOR = re.compile(r"([0-9]{1,17})_([A-Za-z0-9_.]{1,100})_([0-9]{1,18})", re.ASCII)


@dataclass(frozen=True)
class EventFilter:
    """Which of a plan's events to read: one event table, one person, days in UTC."""

    table: str = ""
    user_id: int | None = None
    since: datetime.date | None = None
    until: datetime.date | None = None


def _branch(model, plan_id: int, filters: EventFilter, cursor: Cursor | None, newer: bool):
    """The SQL that reads one event table's part of a page, and its parameters."""
    table = connection.ops.quote_name(model._meta.db_table)
    if model.pgh_tracked_model._meta.label == settings.AUDIT_PLAN_MODEL:
        plan_column = "pgh_obj_id"
    else:
        plan_column = model._meta.get_field("plan").column
    where = [f"e.{connection.ops.quote_name(plan_column)} = %s"]
    params: list = [plan_id]
    if filters.user_id is not None:
        where.append(
            "EXISTS (SELECT 1 FROM pghistory_context c "
            "WHERE c.id = e.pgh_context_id AND c.metadata @> %s::jsonb)"
        )
        params.append(json.dumps({"user": filters.user_id}))
    if filters.since is not None:
        where.append("e.pgh_created_at >= %s")
        params.append(_utc_midnight(filters.since))
    if filters.until is not None:
        where.append("e.pgh_created_at < %s")
        params.append(_utc_midnight(filters.until + datetime.timedelta(days=1)))
    if cursor is not None:
        # (time, table, id) past the cursor; the table is this one's, so it settles ties of
        # time between tables here and leaves an index-friendly condition on (time, id).
        label = model._meta.label
        beyond = ">" if newer else "<"
        if label == cursor.table:
            where.append(f"(e.pgh_created_at, e.pgh_id) {beyond} (%s, %s)")
            params += [cursor.at, cursor.pgh_id]
        else:
            same_time_first = (label > cursor.table) == newer
            where.append(f"e.pgh_created_at {beyond}{'=' if same_time_first else ''} %s")
            params.append(cursor.at)
    order = "ASC" if newer else "DESC"
    # The context, the row and the row before it are read for the rows kept only: Postgres
    # evaluates these subqueries after the LIMIT.
    sql = f"""
        (SELECT %s::text AS pgh_model, %s::text AS pgh_obj_model, e.pgh_id, e.pgh_obj_id,
            e.pgh_created_at, e.pgh_label,
            (SELECT c.metadata FROM pghistory_context c WHERE c.id = e.pgh_context_id)
                AS pgh_context,
            row_to_json(e) AS pgh_row,
            (SELECT row_to_json(p) FROM {table} p
             WHERE p.pgh_obj_id = e.pgh_obj_id AND p.pgh_id < e.pgh_id
             ORDER BY p.pgh_id DESC LIMIT 1) AS pgh_previous
        FROM {table} e
        WHERE {" AND ".join(where)}
        ORDER BY e.pgh_created_at {order}, e.pgh_id {order}
        LIMIT %s)
    """  # noqa: S608 - names come from the models, every value is a parameter
    label = model._meta.label
    return sql, [label, model.pgh_tracked_model._meta.label, *params]


def _utc_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


def plan_events_page(
    plan_id: int,
    *,
    size: int,
    filters: EventFilter = EventFilter(),
    older_than: Cursor | None = None,
    newer_than: Cursor | None = None,
) -> tuple[list[FeedEvent], bool]:
    """Up to `size` of the plan's events next to a cursor (the newest without one), newest
    first, and whether there are more beyond them in that direction.

    One query: each of the plan's event tables is read through its plan column, up to
    `size + 1` rows past the cursor, so that the cost follows this plan's events only.
    """
    newer = newer_than is not None
    cursor = newer_than if newer else older_than
    models_ = [
        m for m in plan_event_models() if not filters.table or m._meta.label == filters.table
    ]
    if not models_:
        return [], False
    branches, params = [], []
    for model in models_:
        sql, branch_params = _branch(model, plan_id, filters, cursor, newer)
        branches.append(sql)
        params += [*branch_params, size + 1]
    order = "ASC" if newer else "DESC"
    # Labels compare byte by byte, as Python compares them in `_branch`.
    union = " UNION ALL ".join(branches)
    sql = f"""
        SELECT * FROM ({union}) feed
        ORDER BY feed.pgh_created_at {order}, feed.pgh_model COLLATE "C" {order},
            feed.pgh_id {order}
        LIMIT %s
    """  # noqa: S608 - the branches are `_branch`'s

    params.append(size + 1)
    with connection.cursor() as db:
        db.execute(sql, params)
        rows = db.fetchall()
    events = [_feed_event(*row) for row in rows[:size]]
    if newer:
        events.reverse()
    return events, len(rows) > size


def _json(value):
    # Django has psycopg hand JSON over as text, for its JSONField to decode.
    return json.loads(value) if isinstance(value, str) else value


def _feed_event(model, obj_model, pgh_id, obj_id, at, label, context, row, previous):
    context, row, previous = _json(context), _json(row), _json(previous)
    data = {key: value for key, value in row.items() if not key.startswith("pgh_")}
    diff = None
    if previous is not None:
        diff = {
            key: [previous[key], value]
            for key, value in data.items()
            if key in previous and previous[key] != value
        }
    return FeedEvent(model, obj_model, pgh_id, obj_id, at, label, context, data, diff)


def plan_event_chunks(plan_id: int, *, filters: EventFilter = EventFilter(), size: int = 500):
    """Every one of the plan's events that `filters` lets through, newest first, in lists of
    up to `size` read by keyset: nothing is left out however long the trail, and each list
    costs one query whatever came before it."""
    cursor = None
    while True:
        events, more = plan_events_page(plan_id, size=size, filters=filters, older_than=cursor)
        if events:
            yield events
        if not more:
            return
        cursor = events[-1].cursor


EVENT_VERBS = {"insert": "created", "update": "changed", "delete": "deleted"}

# Fields of tracked models that say where a person was: shown to plan owners only.
CLIENT_FIELDS = {"ip_address", "user_agent"}


def describe_events(events, *, client_details: bool = True) -> list[dict]:
    """Each event as people read it: when, who, what, and the values before and after.

    Without `client_details` the IP addresses and user agents are left out (the caller shows
    them to plan owners only).
    """
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
        if not client_details:
            changes = [change for change in changes if change[0] not in CLIENT_FIELDS]
        rows.append(
            {
                "at": event.pgh_created_at,
                "who": (who.get_full_name() or who.email) if who else None,
                "via": context.get("task") or context.get("command") or context.get("url") or "",
                "what": f"{model._meta.verbose_name} #{event.pgh_obj_id} {verb}",
                "verb": verb,
                "changes": changes,
                "request_id": context.get("request_id", ""),
                "ip": context.get("ip", "") if client_details else "",
            }
        )
    return rows


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    """A cell a spreadsheet shows as text: no leading character that starts a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
