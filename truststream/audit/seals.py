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

With a timestamp authority configured (PACKET_TSA_URL), each seal gets an RFC 3161 token over
its plan, number and digest, asked for after the seal's transaction commits (a sign-off never
waits for, or fails with, the authority). Someone with full database access can rewrite events
and recompute every digest after them, but cannot make the authority's tokens anew: `verify`
checks each token against its seal, so a rewrite of anything sealed before the newest token is
caught.
"""

import datetime
import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max
from django.db.models.fields.files import FieldFile
from pghistory.core import event_models

from truststream import timestamps
from truststream.models import AuditSeal, SealedContext, SealTimestamp

# The label an event table was first sealed under, for event models renamed since: seals name
# tables by label (in each event's digest, in `marks` and in the order tables are chained), so
# a renamed model keeps its first label there and seals taken before the rename still verify.
# Add every renamed event model here.
SEALED_LABELS = {"planning.TaskEvent": "planning.WorkItemEvent"}

# Likewise a column renamed after seals were taken over its table (keyed by the event model's
# label now): the name the column was sealed under.
SEALED_COLUMNS = {"checklists.CommentEvent": {"task_id": "work_item_id"}}


def sealed_label(model) -> str:
    """The name seals give the event model's table."""
    return SEALED_LABELS.get(model._meta.label, model._meta.label)


def current_marks(marks: dict) -> dict:
    """A seal's marks keyed by each event model's label now (the feed's `pgh_model`)."""
    renamed = {sealed: label for label, sealed in SEALED_LABELS.items()}
    return {renamed.get(label, label): mark for label, mark in marks.items()}


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
    return sorted(chosen, key=sealed_label)


def plan_events(model, plan_id: int):
    tracked = model.pgh_tracked_model
    if tracked._meta.label == settings.AUDIT_PLAN_MODEL:
        return model.objects.filter(pgh_obj_id=plan_id)
    return model.objects.filter(plan_id=plan_id)


def _plain(value):
    # A file field's value is the stored name (what the event row holds).
    return value.name if isinstance(value, FieldFile) else value


# Columns added to an event table after seals were taken over it, each with the values the
# migration gave the rows that were there already (null, the empty text a new text column fills
# its old rows with, or a default). While a column holds one of them it is left out of an
# event's digest, so that seals taken before it existed still verify; any other value is sealed
# like every other column. Add every column added later here.
EMPTY = (None, "")
ADDED_LATER = {
    "checklists.ChecklistItemEvent": {
        "assignee_id": EMPTY,
        "previous_item_id": EMPTY,
        "carried_state": EMPTY,
        "carried_reason": EMPTY,
        "carried_from": EMPTY,
    },
    "planning.DeploymentPlanEvent": {"previous_plan_id": EMPTY},
    "signoffs.SignoffRequirementEvent": {"team_id": EMPTY, "quorum": (1,), "approval_days": EMPTY},
    "signoffs.SignoffEvent": {"expiry_warned_at": EMPTY, "on_behalf_of_id": EMPTY},
}


def event_digest(model, event, *, with_context: bool = False) -> str:
    """The event's digest; `with_context` adds its context's metadata, which the caller has
    loaded with the event (`select_related("pgh_context")`)."""
    added_later = ADDED_LATER.get(model._meta.label, {})
    renamed = SEALED_COLUMNS.get(model._meta.label, {})
    data = {
        renamed.get(field.attname, field.attname): _plain(getattr(event, field.attname))
        for field in model._meta.concrete_fields
        if field.attname != "pgh_id"
        and not (
            field.attname in added_later
            and getattr(event, field.attname) in added_later[field.attname]
        )
    }
    sealed = {"table": sealed_label(model), "id": event.pgh_id, "data": data}
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
        label = sealed_label(model)
        if marks.get(label, 0) <= since.get(label, 0):
            continue  # nothing of this table between the two seals: no query
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


def _plan_column(model) -> str:
    if model.pgh_tracked_model._meta.label == settings.AUDIT_PLAN_MODEL:
        return "pgh_obj_id"
    return model._meta.get_field("plan").column


@functools.cache
def _marks_sql(models: tuple) -> str:
    """One query for the newest event of a plan in each of `models`' tables (each `MAX` is
    the last entry of the table's (plan, …, pgh_id) or (pgh_obj_id, pgh_id) index)."""
    quote = connection.ops.quote_name
    return " UNION ALL ".join(
        f"SELECT {index}, MAX(pgh_id) FROM {quote(model._meta.db_table)}"  # noqa: S608
        f" WHERE {quote(_plan_column(model))} = %(plan)s"
        for index, model in enumerate(models)
    )


def _marks(plan_id: int) -> dict:
    """The newest event of the plan in each event table, keyed by sealed label: one query
    over every table, not one per table, and its SQL made once per process."""
    models = tuple(plan_event_models())
    with connection.cursor() as cursor:
        cursor.execute(_marks_sql(models), {"plan": plan_id})
        rows = cursor.fetchall()
    return {sealed_label(models[index]): last for index, last in rows if last is not None}


@transaction.atomic
def seal_take(*, plan_id: int, reason: str) -> AuditSeal:
    """Seal the plan's events so far. The caller runs this in the transaction that made the
    change being sealed (a signature), so that the change is inside the seal."""
    # Seals of one plan are numbered in order; the lock keeps two from taking one number.
    previous = AuditSeal.objects.select_for_update().filter(plan_id=plan_id).last()
    marks = _marks(plan_id)
    since = previous.marks if previous else {}
    previous_digest = previous.digest if previous else ""
    chained = _chain(previous_digest, plan_id, since, marks, with_context=True)
    # From here on the database refuses to change these contexts (AuditContext's trigger).
    SealedContext.objects.bulk_create(
        [SealedContext(context_id=context_id) for context_id in chained.context_ids],
        ignore_conflicts=True,
    )
    seal = AuditSeal.objects.create(
        plan_id=plan_id,
        number=(previous.number + 1) if previous else 1,
        reason=reason[:200],
        marks=marks,
        event_count=chained.count,
        previous_digest=previous_digest,
        digest=chained.digest,
    )
    if timestamps.configured():
        from truststream.tasks import seal_timestamp as seal_timestamp_task

        # robust: with Redis away the seal stands; the periodic sweep asks for its token later.
        transaction.on_commit(lambda: seal_timestamp_task.delay(seal.pk), robust=True)
    return seal


def timestamp_data(seal: AuditSeal) -> bytes:
    """What a seal's token is over: its plan, number and digest, so that a token cannot be
    moved to another seal."""
    return f"truststream-seal:{seal.plan_id}:{seal.number}:{seal.digest}".encode("ascii")


def seal_timestamp(*, seal_id: int) -> SealTimestamp | None:
    """Ask the authority for the seal's token and keep it (once); run by the worker. The
    token is checked before it is kept, so that a wrong answer is an error now, not a broken
    chain later."""
    seal = AuditSeal.objects.filter(pk=seal_id).first()
    if seal is None:
        return None
    existing = SealTimestamp.objects.filter(seal=seal).first()
    if existing is not None:
        return existing
    data = timestamp_data(seal)
    token = timestamps.token_request(data)
    stamped_at = timestamps.token_check(token, data)
    try:
        with transaction.atomic():
            return SealTimestamp.objects.create(seal=seal, token=token, stamped_at=stamped_at)
    except IntegrityError:
        # Two workers asked at once; the first token kept is the seal's.
        return SealTimestamp.objects.get(seal=seal)


def seals_without_timestamp(limit: int) -> list[int]:
    """The seals still waiting for a token, oldest first."""
    return list(
        AuditSeal.objects.filter(timestamp__isnull=True)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
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
    stamp = getattr(seal, "timestamp", None)
    if stamp is not None:
        try:
            timestamps.token_check(bytes(stamp.token), timestamp_data(seal))
        except timestamps.TokenInvalid as error:
            return (
                f"its timestamp of {stamp.stamped_at:%Y-%m-%d %H:%M:%S} UTC does not hold "
                f"({error}): what it sealed, or a seal before it, was rewritten since"
            )
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
        plan_seals = seals.filter(plan_id=plan).select_related("timestamp").order_by("number")
        for seal in plan_seals.iterator():
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


@dataclass
class TimestampSummary:
    count: int
    newest: datetime.datetime | None


def timestamps_summary(plan_id: int | None = None) -> TimestampSummary:
    """How many seals carry a token, and the authority's newest time: everything sealed before
    it is beyond rewriting unseen."""
    stamps = SealTimestamp.objects.all()
    if plan_id is not None:
        stamps = stamps.filter(seal__plan_id=plan_id)
    found = stamps.aggregate(count=Count("pk"), newest=Max("stamped_at"))
    return TimestampSummary(found["count"], found["newest"])
