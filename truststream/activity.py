"""A plan's activity: its audit trail told as sentences people read.

`plan_activity` narrows the plan's audit trail (a count and a page of it, one query each over
every event table, through `audit.plan_events_count` and `audit.plan_events_window`); `describe`
turns one page of those events into `Entry`s with a bounded number of bulk lookups (the people
named, the records that events point to, one prefetch per registered model), however
many events the page holds.

The core knows no model of the apps above it: each app describes its own models. In its
`AppConfig.ready()` an app must
- `register_kind(key, label)` for each kind of change it owns (a choice of the feed's "What"
  filter, in the order of registration);
- `register(model, rules, kind=..., copied_with_the_plan=...)` for each of its models that has
  events belonging to a plan, with the `Rules` that word them (or `None` for the generic
  sentence, chosen on purpose). A tracked model nobody registered still gets the generic
  sentence, but no kind, and a test fails for it.
"""

import dataclasses
import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model
from django.urls import reverse
from django.utils.dateformat import format as date_format

from truststream import audit

SYSTEM = "The system"

# Bookkeeping that changes along with what people change, never worth a sentence of its own.
QUIET_FIELDS = {"id", "plan_id", "updated_at", "version", "changed_at", "changed_by_id"}


@dataclass(frozen=True)
class Change:
    """One event as the rules read it. `model` is the tracked model's label, `label`
    pghistory's ("insert", "update", "delete"), `data` the row after the change (before it,
    for a delete), `diff` field -> [old, new]."""

    model: str
    label: str
    data: dict
    diff: dict
    actor_id: int | None

    @property
    def id(self):
        return self.data.get("id")

    def was(self, field):
        return self.diff[field][0] if field in self.diff else self.data.get(field)


@dataclass(frozen=True)
class Lookups:
    """What `describe` read in bulk for a page of events, for the rules to name things by."""

    plan_id: int
    users: dict
    # model -> {pk: title} of the records that events point to (`Rules.points_to`)
    titles: dict[type[Model], dict]
    # model -> what its `Rules.prefetch` returned for the plan
    prefetched: dict[type[Model], Any]

    def person(self, user_id) -> str:
        user = self.users.get(user_id)
        if user is None:
            return "a former user"
        return user.get_full_name() or user.email

    def title(self, model: type[Model], pk) -> str | None:
        return self.titles.get(model, {}).get(pk)


# A sentence rule returns (action, detail); `detail` is user text shown after the action.
Rule = Callable[[Change, Lookups], tuple[str, str]]


@dataclass(frozen=True)
class Rules:
    """How one model's events read. Without a rule of its own, an insert reads "added <noun>
    <name>", a delete "removed …", and an update names the fields it changed."""

    noun: str
    name: Callable[[Change, Lookups], str]
    link: Callable[[Change, Lookups], str] | None = None
    insert: Rule | None = None
    delete: Rule | None = None
    # field -> rule for an update that changed it, in order of importance
    fields: dict[str, Rule] = dataclasses.field(default_factory=dict)
    quiet: frozenset = frozenset()
    # field -> the fields its rule already tells of (a blocked task's reason)
    goes_with: dict[str, frozenset] = dataclasses.field(default_factory=dict)
    # field of the event -> (the model it points to, that model's field to show; one field
    # per model): read in one query per model for the whole page, then `Lookups.title`
    points_to: dict[str, tuple[type[Model], str]] = dataclasses.field(default_factory=dict)
    # read once per page that holds an event of the model, given the plan's id
    prefetch: Callable[[int], Any] | None = None

    def subject(self, change, look) -> str:
        return " ".join(part for part in (self.noun, self.name(change, look)) if part)


@dataclass(frozen=True)
class Registration:
    model: type[Model]
    rules: Rules | None
    kind: str
    copied_with_the_plan: bool


# kind -> its label in the filter, in the order the apps registered them
KINDS: dict[str, str] = {}
# model label -> how the feed tells and files its events
MODELS: dict[str, Registration] = {}


def register_kind(key: str, label: str) -> None:
    """Add a kind of change to the feed's filter. Call it from `AppConfig.ready()`."""
    KINDS[key] = label


def register(
    model: type[Model], rules: Rules | None, *, kind: str, copied_with_the_plan: bool = False
) -> None:
    """Tell the feed how to word the events of `model`, a tracked model of a plan, and under
    which registered `kind` to file them. `rules=None` gives the generic sentence on purpose.
    `copied_with_the_plan`: its rows are copied from the playbook when a plan is created, so
    their inserts in the request (or command) that created the plan are that creation, which
    the plan's own "created" entry tells.
    Call it from `AppConfig.ready()`, after registering the kind."""
    if kind not in KINDS:
        raise ImproperlyConfigured(f"Activity kind {kind!r} is not registered.")
    MODELS[model._meta.label] = Registration(model, rules, kind, copied_with_the_plan)


def models_of(kind: str) -> list[str]:
    return [label for label, registration in MODELS.items() if registration.kind == kind]


def plan_activity(
    plan_id: int, *, kind: str = "", user_id: int | None = None, system: bool = False
) -> "PlanActivity":
    """The plan's events for its activity feed, newest first (lazy: paginate it).

    `kind` is a key of `KINDS` (any other value filters nothing: the caller refuses it);
    `user_id` keeps the changes made by that person, `system` those made by no one signed in
    (tasks, commands, SQL).
    """
    copied = frozenset(label for label, reg in MODELS.items() if reg.copied_with_the_plan)
    filters = audit.EventFilter(
        user_id=user_id,
        system=system and user_id is None,
        tracked=frozenset(models_of(kind)) if kind in KINDS else None,
        not_created_with_plan=copied,
    )
    return PlanActivity(plan_id, filters)


class PlanActivity:
    """A plan's filtered events as Django's `Paginator` reads them: `count()` and a slice are
    one query each (`audit.plan_events_count`, `audit.plan_events_window`), and a slice reads
    the rows, contexts and previous rows of the events it returns, not of the whole trail.
    Iterating reads every event, in chunks of `CHUNK`."""

    CHUNK = 500

    def __init__(self, plan_id: int, filters):
        self.plan_id = plan_id
        self.filters = filters

    def count(self) -> int:
        return audit.plan_events_count(self.plan_id, filters=self.filters)

    def __getitem__(self, window: slice) -> list:
        if not isinstance(window, slice) or window.step is not None:
            raise TypeError("An activity feed is read by slices.")
        offset = window.start or 0
        if window.stop is None:
            return list(self)[offset:]
        return self._window(offset, window.stop - offset)

    def __iter__(self):
        offset = 0
        while events := self._window(offset, self.CHUNK):
            yield from events
            offset += len(events)

    def _window(self, offset: int, size: int) -> list:
        if size <= 0:
            return []
        return audit.plan_events_window(
            self.plan_id, offset=offset, size=size, filters=self.filters
        )


@dataclass(frozen=True)
class Entry:
    """One line of the feed. `actor` is the person's name, or `SYSTEM` with `via` saying how
    (a task, a command; empty for SQL or a shell). `detail` is the user's own text that
    follows the action (a reason, a rationale, the evidence), `link` the page of the thing
    changed ("" when there is none), `kind` a key of `KINDS` ("" for a model in none)."""

    at: datetime.datetime
    actor: str
    actor_id: int | None
    via: str
    action: str
    detail: str
    link: str
    kind: str

    @property
    def sentence(self) -> str:
        text = f"{self.actor} {self.action}"
        return f"{text}: {self.detail}" if self.detail else text

    @property
    def day(self) -> datetime.date:
        return self.at.date()

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, "")


def describe(events, *, plan_id: int) -> list[Entry]:
    """Each event of `events` (from `plan_activity`) as an `Entry`, in the same order. The
    texts are plain: the template escapes them."""
    events = list(events)
    look = _lookups(events, plan_id)
    return [_entry(event, look) for event in events]


@functools.cache
def _user_fields(label: str) -> list[str]:
    try:
        model = apps.get_model(label)
    except LookupError:
        return []
    user_model = get_user_model()
    return [
        field.attname
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is user_model
    ]


def _titles(model: type[Model], field: str, plan_id: int, ids: set) -> dict:
    ids.discard(None)
    if not ids:
        return {}
    rows = model.objects.filter(plan_id=plan_id, pk__in=ids).order_by()
    return dict(rows.values_list("pk", field))


def _lookups(events, plan_id: int) -> Lookups:
    user_ids, pointed, labels = set(), {}, set()
    for event in events:
        user_ids.add((event.pgh_context or {}).get("user"))
        data, diff = event.pgh_data or {}, event.pgh_diff or {}
        for field in _user_fields(event.pgh_obj_model):
            user_ids.update((data.get(field), *diff.get(field, ())))
        for field, target in _rules_for(event.pgh_obj_model).points_to.items():
            pointed.setdefault(target, set()).add(data.get(field))
        labels.add(event.pgh_obj_model)
    user_ids.discard(None)
    users = get_user_model().objects.in_bulk(user_ids) if user_ids else {}
    titles = {model: _titles(model, field, plan_id, ids) for (model, field), ids in pointed.items()}
    prefetched = {}
    for label in sorted(labels):
        registration = MODELS.get(label)
        if registration and registration.rules and registration.rules.prefetch:
            prefetched[registration.model] = registration.rules.prefetch(plan_id)
    return Lookups(plan_id, users, titles, prefetched)


def _entry(event, look: Lookups) -> Entry:
    context = event.pgh_context or {}
    actor_id = context.get("user")
    label = event.pgh_obj_model
    change = Change(label, event.pgh_label, event.pgh_data or {}, event.pgh_diff or {}, actor_id)
    rules = _rules_for(label)
    action, detail = _action(change, rules, look)
    link = "" if change.label == "delete" or rules.link is None else rules.link(change, look)
    registration = MODELS.get(label)
    return Entry(
        at=event.pgh_created_at,
        actor=look.person(actor_id) if actor_id else SYSTEM,
        actor_id=actor_id,
        via=_via(context),
        action=action,
        detail=detail or "",
        link=link,
        kind=registration.kind if registration else "",
    )


def _via(context: dict) -> str:
    if context.get("task"):
        return f"task {context['task'].rsplit('.', 1)[-1]}"
    if context.get("command"):
        return f"command {context['command']}"
    if context.get("api"):
        return "API"
    return ""


def _action(change: Change, rules: Rules, look: Lookups) -> tuple[str, str]:
    subject = rules.subject(change, look)
    if change.label == "insert":
        return rules.insert(change, look) if rules.insert else (f"added {subject}", "")
    if change.label == "delete":
        return rules.delete(change, look) if rules.delete else (f"removed {subject}", "")
    if change.label != "update":
        return f"{change.label} {subject}", ""
    said, unsaid = [], []
    for field in change.diff:
        if field in QUIET_FIELDS or field in rules.quiet or field.startswith("pgh_"):
            continue
        if field in rules.fields:
            said.append(field)
        else:
            unsaid.append(field)
    said.sort(key=list(rules.fields).index)
    if said:
        lead = said[0]
        action, detail = rules.fields[lead](change, look)
        told = rules.goes_with.get(lead, frozenset())
        rest = [f for f in [*said[1:], *unsaid] if f not in told]
        also = []
        if "assignee_id" in rest:
            new = change.data.get("assignee_id")
            also.append(f"assigned it to {look.person(new)}" if new else "unassigned it")
        changed = [_field_name(change.model, f) for f in rest if f != "assignee_id"]
        if changed:
            also.append(f"changed its {_and(changed)}")
        if len(also) == 2:
            action = f"{action}, {also[0]} and {also[1]}"
        elif also:
            action = f"{action} and {also[0]}"
        return action, detail
    if unsaid:
        names = [_field_name(change.model, f) for f in unsaid]
        return f"changed the {_and(names)} of {subject}", ""
    return f"saved {subject} with no changes", ""


@functools.cache
def _verbose_names(label: str) -> dict:
    try:
        model = apps.get_model(label)
    except LookupError:
        return {}
    return {field.attname: str(field.verbose_name) for field in model._meta.concrete_fields}


def _field_name(label: str, attname: str) -> str:
    verbose = _verbose_names(label)
    if attname in verbose:
        return verbose[attname]
    return attname.removesuffix("_id").replace("_", " ")


def _and(words: list[str]) -> str:
    words = list(dict.fromkeys(words))
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _rules_for(label: str) -> Rules:
    registration = MODELS.get(label)
    if registration is not None and registration.rules is not None:
        return registration.rules
    return _generic_rules(label)


@functools.cache
def _generic_rules(label: str) -> Rules:
    """A model without rules of its own: its verbose name and a title-like field."""
    try:
        noun = str(apps.get_model(label)._meta.verbose_name)
    except LookupError:
        noun = label.rsplit(".", 1)[-1].lower()

    def name(change, look):
        for field in ("title", "name", "text", "topic", "body"):
            if change.data.get(field):
                return quote(change.data[field])
        return f"#{change.id}" if change.id is not None else ""

    return Rules(noun=noun, name=name)


# What the apps' rules share to word their sentences alike.


def quote(text, limit: int = 80) -> str:
    text = " ".join(str(text or "").split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"'{text}'"


def date_text(value) -> str:
    try:
        return date_format(datetime.date.fromisoformat(str(value)[:10]), "j M Y")
    except ValueError:
        return str(value)


def choice(model: type[Model], field: str, value) -> str:
    """The display of a choice, as it reads inside a sentence ("signed off")."""
    choices = dict(model._meta.get_field(field).flatchoices)
    return str(choices.get(value, value)).lower()


def url(name: str, *args, anchor: str = "") -> str:
    return reverse(name, args=args) + (f"#{anchor}" if anchor else "")


def assignee(change: Change, look: Lookups, subject: str) -> tuple[str, str]:
    new = change.data.get("assignee_id")
    if new:
        return f"assigned {subject} to {look.person(new)}", ""
    return f"unassigned {subject}", ""
