"""A plan's audit trail as people read it: the events of every table that belongs to the plan,
newest first, paged by keyset on (time, table, id) for the audit page and streamed in chunks
for its CSV, each described as who did what with the values before and after.
"""

import datetime
import json
import re
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from truststream.audit.seals import plan_event_models


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
    """Which of a plan's events to read: one event table, one person, days in UTC.

    For the activity feed also: `tracked`, the labels of the tracked models whose events to
    keep (all when None); `system`, only the changes no signed-in person made (tasks,
    commands, SQL); `not_created_with_plan`, labels of tracked models whose inserts made in the
    context that created the plan are left out (the plan's own creation tells of them)."""

    table: str = ""
    user_id: int | None = None
    since: datetime.date | None = None
    until: datetime.date | None = None
    tracked: frozenset[str] | None = None
    system: bool = False
    not_created_with_plan: frozenset[str] = frozenset()

    def models(self) -> list:
        """The event models these filters read."""
        return [
            model
            for model in plan_event_models()
            if (not self.table or model._meta.label == self.table)
            and (self.tracked is None or model.pgh_tracked_model._meta.label in self.tracked)
        ]


def _where(model, plan_id: int, filters: EventFilter) -> tuple[list[str], list]:
    """The conditions on one event table (as `e`) that `filters` make, and their parameters."""
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
    if filters.system:
        where.append(
            "NOT EXISTS (SELECT 1 FROM pghistory_context c "
            "WHERE c.id = e.pgh_context_id AND c.metadata ->> 'user' IS NOT NULL)"
        )
    if model.pgh_tracked_model._meta.label in filters.not_created_with_plan:
        plan_events = apps.get_model(settings.AUDIT_PLAN_MODEL).pgh_event_model._meta.db_table
        where.append(
            "NOT (e.pgh_label = 'insert' AND EXISTS (SELECT 1 FROM "  # noqa: S608 - a model's table
            f"{connection.ops.quote_name(plan_events)} created WHERE created.pgh_obj_id = %s "
            "AND created.pgh_label = 'insert' AND created.pgh_context_id = e.pgh_context_id))"
        )
        params.append(plan_id)
    if filters.since is not None:
        where.append("e.pgh_created_at >= %s")
        params.append(_utc_midnight(filters.since))
    if filters.until is not None:
        where.append("e.pgh_created_at < %s")
        params.append(_utc_midnight(filters.until + datetime.timedelta(days=1)))
    return where, params


def _branch(model, plan_id: int, filters: EventFilter, cursor: Cursor | None, newer: bool):
    """The SQL that reads one event table's part of a page, and its parameters."""
    table = connection.ops.quote_name(model._meta.db_table)
    where, params = _where(model, plan_id, filters)
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
    rows = _read(plan_id, filters, cursor, newer, size + 1, 0)
    events = [_feed_event(*row) for row in rows[:size]]
    if newer:
        events.reverse()
    return events, len(rows) > size


def plan_events_window(
    plan_id: int, *, offset: int, size: int, filters: EventFilter = EventFilter()
) -> list[FeedEvent]:
    """The plan's events from the `offset`-th newest, at most `size` of them, for pages by
    number (the activity feed): newest first, and the events of one transaction (which share
    their time) by id, the newest first, then by table. One query; each event table gives at
    most `offset + size` rows, and only those have their context and previous row read, so the
    first pages cost the same however long the trail."""
    rows = _read(plan_id, filters, None, False, size, offset, id_before_table=True)
    return [_feed_event(*row) for row in rows]


def plan_events_count(plan_id: int, *, filters: EventFilter = EventFilter()) -> int:
    """How many of the plan's events `filters` let through: one query, one count per table."""
    counts, params = [], []
    for model in filters.models():
        where, where_params = _where(model, plan_id, filters)
        table = connection.ops.quote_name(model._meta.db_table)
        # Names come from the models, every value is a parameter.
        counts.append(f"(SELECT count(*) FROM {table} e WHERE {' AND '.join(where)})")  # noqa: S608
        params += where_params
    if not counts:
        return 0
    with connection.cursor() as db:
        db.execute(f"SELECT {' + '.join(counts)}", params)
        return db.fetchone()[0]


def _read(plan_id, filters, cursor, newer, limit, offset, id_before_table=False) -> list[tuple]:
    branches, params = [], []
    for model in filters.models():
        sql, branch_params = _branch(model, plan_id, filters, cursor, newer)
        branches.append(sql)
        params += [*branch_params, offset + limit]
    if not branches:
        return []
    order = "ASC" if newer else "DESC"
    # Labels compare byte by byte, as Python compares them in `_branch`.
    table, pgh_id = f'feed.pgh_model COLLATE "C" {order}', f"feed.pgh_id {order}"
    ties = f"{pgh_id}, {table}" if id_before_table else f"{table}, {pgh_id}"
    union = " UNION ALL ".join(branches)
    sql = f"""
        SELECT * FROM ({union}) feed
        ORDER BY feed.pgh_created_at {order}, {ties}
        LIMIT %s OFFSET %s
    """  # noqa: S608 - the branches are `_branch`'s
    params += [limit, offset]
    with connection.cursor() as db:
        db.execute(sql, params)
        return db.fetchall()


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


def describe_events(events, *, client_details: bool) -> list[dict]:
    """Each event as people read it: when, who, what, and the values before and after.

    Without `client_details` the IP addresses and user agents are left out: the caller says
    whether its reader may see them (plan owners and superusers on the audit page; nobody in a
    packet, which every member may download). They stay in the trail and under its seals.
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
