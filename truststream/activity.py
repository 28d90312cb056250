"""A plan's activity: its audit trail told as sentences people read.

`plan_activity` narrows `audit.plan_events_feed` (one query over every event table); `describe`
turns one page of those events into `Entry`s with at most four bulk lookups (the people named,
the checklist items and tasks that evidence and comments belong to, the plan's readiness
categories), however many events the page holds. Every tracked model of a plan gets a sentence:
those without a rule of their own a generic one. Models are reached by label only, so that this
app imports none above it.
"""

import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse
from django.utils.dateformat import format as date_format

from truststream import audit

SYSTEM = "The system"

# kind: (label, the tracked models it covers)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tasks": ("Tasks", ("planning.Phase", "planning.WorkItem")),
    "checklists": (
        "Checklists & evidence",
        (
            "checklists.Checklist",
            "checklists.ChecklistItem",
            "checklists.EvidenceLink",
            "checklists.EvidenceFile",
        ),
    ),
    "readiness": ("Readiness", ("checklists.ReadinessScore",)),
    "signoffs": ("Sign-offs", ("signoffs.SignoffRequirement", "signoffs.Signoff")),
    "members": ("Members", ("planning.PlanMembership", "planning.Invitation")),
    "packets": ("Packets", ("signoffs.ReadinessPacket",)),
    "comments": ("Comments", ("checklists.Comment", "checklists.Mention")),
    "plan": (
        "Plan & documents",
        (
            "planning.DeploymentPlan",
            "planning.PlanningDocument",
            "planning.RequirementSpec",
            "planning.SupportContact",
        ),
    ),
}
KIND_OF_MODEL = {label: kind for kind, (_, labels) in KINDS.items() for label in labels}

# What `plan_create` copies from the playbook. Their inserts made in the request (or command)
# that created the plan are that creation, which the plan's own "created" entry tells.
COPIED_WITH_THE_PLAN = (
    "planning.Phase",
    "planning.WorkItem",
    "planning.PlanningDocument",
    "planning.RequirementSpec",
    "planning.SupportContact",
    "checklists.Checklist",
    "checklists.ChecklistItem",
    "signoffs.SignoffRequirement",
)

# Events that name the checklist item (or task) they belong to only by its id.
NAMES_THEIR_ITEM = ("checklists.EvidenceLink", "checklists.EvidenceFile", "checklists.Comment")

# Bookkeeping that changes along with what people change, never worth a sentence of its own.
QUIET_FIELDS = {"id", "plan_id", "updated_at", "version", "changed_at", "changed_by_id"}


def plan_activity(
    plan_id: int, *, kind: str = "", user_id: int | None = None, system: bool = False
):
    """The plan's events for its activity feed, newest first (a lazy queryset: paginate it).

    `kind` is a key of `KINDS` (any other value filters nothing: the caller refuses it);
    `user_id` keeps the changes made by that person, `system` those made by no one signed in
    (tasks, commands, SQL).
    """
    events = audit.plan_events_feed(plan_id)
    plan_event = apps.get_model(settings.AUDIT_PLAN_MODEL).pgh_event_model
    creation = plan_event.objects.filter(
        pgh_obj_id=plan_id, pgh_label="insert", pgh_context_id__isnull=False
    ).values("pgh_context_id")
    events = events.exclude(
        pgh_label="insert",
        pgh_obj_model__in=COPIED_WITH_THE_PLAN,
        pgh_context_id__in=creation,
    )
    if kind in KINDS:
        events = events.filter(pgh_obj_model__in=KINDS[kind][1])
    if user_id is not None:
        events = events.filter(pgh_context__user=user_id)
    elif system:
        events = events.filter(Q(pgh_context__isnull=True) | Q(pgh_context__user__isnull=True))
    return events


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
        return KINDS[self.kind][0] if self.kind in KINDS else ""


@dataclass
class _Change:
    label: str
    data: dict
    diff: dict
    actor_id: int | None

    @property
    def id(self):
        return self.data.get("id")

    def was(self, field):
        return self.diff[field][0] if field in self.diff else self.data.get(field)


@dataclass
class _Lookups:
    plan_id: int
    users: dict
    item_texts: dict
    task_titles: dict
    categories: dict

    def person(self, user_id) -> str:
        user = self.users.get(user_id)
        if user is None:
            return "a former user"
        return user.get_full_name() or user.email


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


def _titles(label: str, field: str, plan_id: int, ids: set) -> dict:
    ids.discard(None)
    if not ids:
        return {}
    rows = apps.get_model(label).objects.filter(plan_id=plan_id, pk__in=ids).order_by()
    return dict(rows.values_list("pk", field))


def _lookups(events, plan_id: int) -> _Lookups:
    user_ids, item_ids, task_ids, scored = set(), set(), set(), False
    for event in events:
        user_ids.add((event.pgh_context or {}).get("user"))
        data, diff = event.pgh_data or {}, event.pgh_diff or {}
        for field in _user_fields(event.pgh_obj_model):
            user_ids.update((data.get(field), *diff.get(field, ())))
        if event.pgh_obj_model in NAMES_THEIR_ITEM:
            item_ids.add(data.get("item_id"))
            task_ids.add(data.get("work_item_id"))
        scored = scored or event.pgh_obj_model == "checklists.ReadinessScore"
    user_ids.discard(None)
    users = get_user_model().objects.in_bulk(user_ids) if user_ids else {}
    item_texts = _titles("checklists.ChecklistItem", "text", plan_id, item_ids)
    task_titles = _titles("planning.WorkItem", "title", plan_id, task_ids)
    categories = {}
    if scored:
        definition = (
            apps.get_model(settings.AUDIT_PLAN_MODEL)
            .objects.filter(pk=plan_id)
            .values_list("playbook__definition__readiness__categories", flat=True)
            .first()
        )
        categories = {c["key"]: c["title"] for c in definition or () if "key" in c}
    return _Lookups(plan_id, users, item_texts, task_titles, categories)


def _entry(event, look: _Lookups) -> Entry:
    context = event.pgh_context or {}
    actor_id = context.get("user")
    change = _Change(event.pgh_label, event.pgh_data or {}, event.pgh_diff or {}, actor_id)
    rules = _rules_for(event.pgh_obj_model)
    action, detail = _action(change, rules, look)
    link = "" if change.label == "delete" or rules.link is None else rules.link(change, look)
    return Entry(
        at=event.pgh_created_at,
        actor=look.person(actor_id) if actor_id else SYSTEM,
        actor_id=actor_id,
        via=_via(context),
        action=action,
        detail=detail or "",
        link=link,
        kind=KIND_OF_MODEL.get(event.pgh_obj_model, ""),
    )


def _via(context: dict) -> str:
    if context.get("task"):
        return f"task {context['task'].rsplit('.', 1)[-1]}"
    if context.get("command"):
        return f"command {context['command']}"
    if context.get("api"):
        return "API"
    return ""


# Sentence rules. Each rule returns (action, detail); `detail` is user text shown after it.
Rule = Callable[[_Change, _Lookups], tuple[str, str]]


@dataclass
class _Rules:
    noun: str
    name: Callable[[_Change, _Lookups], str]
    link: Callable[[_Change, _Lookups], str] | None = None
    insert: Rule | None = None
    delete: Rule | None = None
    # field -> rule for an update that changed it, in order of importance
    fields: dict[str, Rule] | None = None
    quiet: frozenset = frozenset()
    # field -> the fields its rule already tells of (a blocked task's reason)
    goes_with: dict[str, frozenset] | None = None
    verbose: dict | None = None

    def subject(self, change, look) -> str:
        return " ".join(part for part in (self.noun, self.name(change, look)) if part)


def _action(change: _Change, rules: _Rules, look: _Lookups) -> tuple[str, str]:
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
        if rules.fields and field in rules.fields:
            said.append(field)
        else:
            unsaid.append(field)
    said.sort(key=list(rules.fields or ()).index)
    if said:
        lead = said[0]
        action, detail = rules.fields[lead](change, look)
        told = (rules.goes_with or {}).get(lead, frozenset())
        rest = [f for f in [*said[1:], *unsaid] if f not in told]
        also = []
        if "assignee_id" in rest:
            new = change.data.get("assignee_id")
            also.append(f"assigned it to {look.person(new)}" if new else "unassigned it")
        changed = [_field_name(rules, f) for f in rest if f != "assignee_id"]
        if changed:
            also.append(f"changed its {_and(changed)}")
        if len(also) == 2:
            action = f"{action}, {also[0]} and {also[1]}"
        elif also:
            action = f"{action} and {also[0]}"
        return action, detail
    if unsaid:
        return f"changed the {_and([_field_name(rules, f) for f in unsaid])} of {subject}", ""
    return f"saved {subject} with no changes", ""


def _field_name(rules: _Rules, attname: str) -> str:
    if rules.verbose and attname in rules.verbose:
        return rules.verbose[attname]
    return attname.removesuffix("_id").replace("_", " ")


def _and(words: list[str]) -> str:
    words = list(dict.fromkeys(words))
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _quote(text, limit: int = 80) -> str:
    text = " ".join(str(text or "").split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"'{text}'"


def _date(value) -> str:
    try:
        return date_format(datetime.date.fromisoformat(str(value)[:10]), "j M Y")
    except ValueError:
        return str(value)


def _choice(label: str, field: str, value) -> str:
    """The display of a choice, as it reads inside a sentence ("signed off")."""
    choices = dict(apps.get_model(label)._meta.get_field(field).flatchoices)
    return str(choices.get(value, value)).lower()


def _url(name: str, *args, anchor: str = "") -> str:
    return reverse(name, args=args) + (f"#{anchor}" if anchor else "")


def _assignee(change: _Change, look: _Lookups, subject: str) -> tuple[str, str]:
    new = change.data.get("assignee_id")
    if new:
        return f"assigned {subject} to {look.person(new)}", ""
    return f"unassigned {subject}", ""


def _verbose_names(label: str) -> dict:
    try:
        model = apps.get_model(label)
    except LookupError:
        return {}
    return {field.attname: str(field.verbose_name) for field in model._meta.concrete_fields}


def _rules(label: str, **kwargs) -> _Rules:
    return _Rules(verbose=_verbose_names(label), **kwargs)


# Tasks and weeks


def _task_name(change, look):
    return _quote(change.data.get("title"))


def _task_status(change, look):
    name, status = _task_name(change, look), change.data.get("status")
    if status == "blocked":
        return f"blocked {name}", change.data.get("blocked_reason", "")
    if status == "todo":
        return f"moved {name} back to to do", ""
    return f"moved {name} to {_choice('planning.WorkItem', 'status', status)}", ""


def _task_rules() -> _Rules:
    return _rules(
        "planning.WorkItem",
        noun="task",
        name=_task_name,
        link=lambda c, look: _url("planning:board", look.plan_id, anchor=f"task-{c.id}"),
        fields={
            "status": _task_status,
            "blocked_reason": lambda c, look: (
                f"changed why {_task_name(c, look)} is blocked",
                c.data.get("blocked_reason", ""),
            ),
            "assignee_id": lambda c, look: _assignee(c, look, _task_name(c, look)),
            "due_on": lambda c, look: (
                f"set the due date of {_task_name(c, look)} to {_date(c.data.get('due_on'))}",
                "",
            ),
            "title": lambda c, look: (
                f"renamed task {_quote(c.was('title'))} to {_task_name(c, look)}",
                "",
            ),
            "phase_id": lambda c, look: (f"moved {_task_name(c, look)} to another week", ""),
            "group": lambda c, look: (
                f"moved {_task_name(c, look)} to the group {_quote(c.data.get('group'))}",
                "",
            ),
            "notes": lambda c, look: (f"edited the notes of {_task_name(c, look)}", ""),
            "position": lambda c, look: (f"reordered {_task_name(c, look)}", ""),
        },
        goes_with={"status": frozenset({"blocked_reason"})},
    )


def _phase_name(change, look):
    return f"{change.data.get('number')}: {_quote(change.data.get('title'))}"


def _phase_dates(change, look):
    starts, ends = change.data.get("starts_on"), change.data.get("ends_on")
    return f"moved week {_phase_name(change, look)} to {_date(starts)} – {_date(ends)}", ""


def _phase_rules() -> _Rules:
    return _rules(
        "planning.Phase",
        noun="week",
        name=_phase_name,
        link=lambda c, look: _url(
            "planning:board", look.plan_id, anchor=f"phase-{c.data.get('number')}"
        ),
        fields={"starts_on": _phase_dates, "ends_on": _phase_dates},
    )


# Checklists and evidence


def _item_name(change, look):
    return _quote(change.data.get("text"))


def _item_state(change, look):
    name, state = _item_name(change, look), change.data.get("state")
    if state == "open":
        return f"reopened {name}", ""
    detail = change.data.get("na_reason", "") if state == "not_applicable" else ""
    return f"marked {name} {_choice('checklists.ChecklistItem', 'state', state)}", detail


def _item_link(change, look):
    return _url("checklists:item_detail", look.plan_id, change.id)


def _item_rules() -> _Rules:
    return _rules(
        "checklists.ChecklistItem",
        noun="checklist item",
        name=_item_name,
        link=_item_link,
        fields={
            "state": _item_state,
            "na_reason": lambda c, look: (
                f"changed why {_item_name(c, look)} does not apply",
                c.data.get("na_reason", ""),
            ),
            "assignee_id": lambda c, look: _assignee(c, look, _item_name(c, look)),
            "note": lambda c, look: (f"updated the note on {_item_name(c, look)}", ""),
        },
        goes_with={"state": frozenset({"na_reason"})},
    )


def _evidence_item(change, look):
    text = look.item_texts.get(change.data.get("item_id"))
    return _quote(text) if text else "a checklist item"


def _evidence_rules(label: str, what: str) -> _Rules:
    return _rules(
        label,
        noun=f"evidence {what}",
        name=lambda c, look: _quote(c.data.get(what), 120),
        link=lambda c, look: _url("checklists:item_detail", look.plan_id, c.data.get("item_id")),
        insert=lambda c, look: (f"added evidence to {_evidence_item(c, look)}", c.data.get(what)),
        delete=lambda c, look: (
            f"removed evidence from {_evidence_item(c, look)}",
            c.data.get(what),
        ),
    )


def _checklist_rules() -> _Rules:
    return _rules(
        "checklists.Checklist",
        noun="checklist",
        name=lambda c, look: _quote(c.data.get("title")),
        link=lambda c, look: _url(
            "checklists:checklists", look.plan_id, anchor=f"checklist-{c.data.get('key')}"
        ),
    )


def _category(change, look) -> str:
    key = change.data.get("category", "")
    return look.categories.get(key) or key.replace("_", " ").capitalize()


def _score_rules() -> _Rules:
    return _rules(
        "checklists.ReadinessScore",
        noun="the readiness score of",
        name=_category,
        link=lambda c, look: _url(
            "checklists:readiness", look.plan_id, anchor=f"category-{c.data.get('category')}"
        ),
        insert=lambda c, look: (
            f"scored {_category(c, look)} {c.data.get('score')}/10",
            c.data.get("rationale", ""),
        ),
    )


# Sign-offs


def _role_name(change, look):
    return _quote(change.data.get("title"))


def _role_assignee(change, look):
    title, new = change.data.get("title"), change.data.get("assignee_id")
    if new:
        return f"gave the {title} role to {look.person(new)}", ""
    old = change.was("assignee_id")
    return f"took the {title} role from {look.person(old)}", ""


def _role_rules() -> _Rules:
    return _rules(
        "signoffs.SignoffRequirement",
        noun="approval role",
        name=_role_name,
        link=lambda c, look: _url(
            "signoffs:signoffs", look.plan_id, anchor=f"role-{c.data.get('role')}"
        ),
        fields={
            "assignee_id": _role_assignee,
            "required": lambda c, look: (
                f"made the {c.data.get('title')} sign-off "
                + ("required" if c.data.get("required") else "optional"),
                "",
            ),
        },
    )


def _signature(change, look):
    return f"{change.data.get('printed_name')}'s signature as {change.data.get('role_title')}"


def _signed(change, look):
    data = change.data
    role, decision = data.get("role_title"), data.get("decision")
    detail = data.get("reason") if decision == "reject" else data.get("comment")
    if change.actor_id and change.actor_id == data.get("signer_id"):
        if decision == "reject":
            return f"rejected as {role}", detail
        return f"signed as {role} ({decision})", detail
    return f"recorded {_signature(change, look)} ({decision})", detail


def _signoff_rules() -> _Rules:
    return _rules(
        "signoffs.Signoff",
        noun="",
        name=_signature,
        link=lambda c, look: _url("signoffs:signoffs", look.plan_id, anchor="signature-history"),
        insert=_signed,
        fields={
            "stale_notified_at": lambda c, look: (
                f"told {c.data.get('printed_name')} that their signature as "
                f"{c.data.get('role_title')} is stale",
                "",
            ),
        },
    )


def _packet_name(change, look):
    return f"revision {change.data.get('revision')} ({change.data.get('kind')})"


def _packet_status(change, look):
    packet, status = f"packet {_packet_name(change, look)}", change.data.get("status")
    if status == "queued":
        return f"asked again for {packet}", ""
    if status == "rendering":
        return f"started rendering {packet}", ""
    if status == "ready":
        return f"rendered {packet}", ""
    if status == "failed":
        return f"could not render {packet}", change.data.get("failure", "")
    return f"set {packet} to {_choice('signoffs.ReadinessPacket', 'status', status)}", ""


def _packet_rules() -> _Rules:
    return _rules(
        "signoffs.ReadinessPacket",
        noun="packet",
        name=_packet_name,
        link=lambda c, look: _url("signoffs:packet_list", look.plan_id, anchor=f"packet-{c.id}"),
        insert=lambda c, look: (f"asked for packet {_packet_name(c, look)}", ""),
        fields={
            "status": _packet_status,
            "queued_at": lambda c, look: (f"queued packet {_packet_name(c, look)} again", ""),
        },
        quiet=frozenset(
            {"attempts", "failure", "file", "size", "sha256", "rendered_at", "render_seconds"}
        ),
    )


# Members


def _member(change, look):
    return look.person(change.data.get("user_id"))


def _role(change):
    return _choice("planning.PlanMembership", "role", change.data.get("role"))


def _member_added(change, look):
    if change.actor_id and change.actor_id == change.data.get("user_id"):
        return f"joined the plan as {_role(change)}", ""
    return f"added {_member(change, look)} as {_role(change)}", ""


def _member_removed(change, look):
    if change.actor_id and change.actor_id == change.data.get("user_id"):
        return "left the plan", ""
    return f"removed {_member(change, look)} from the plan", ""


def _membership_rules() -> _Rules:
    return _rules(
        "planning.PlanMembership",
        noun="the membership of",
        name=_member,
        link=lambda c, look: _url("planning:plan_detail", look.plan_id, anchor="members"),
        insert=_member_added,
        delete=_member_removed,
        fields={
            "role": lambda c, look: (
                f"changed the role of {_member(c, look)} to {_role(c)}",
                "",
            ),
        },
    )


def _invited_role(change):
    return _choice("planning.Invitation", "role", change.data.get("role"))


def _invitation_rules() -> _Rules:
    return _rules(
        "planning.Invitation",
        noun="the invitation of",
        name=lambda c, look: c.data.get("email", ""),
        link=lambda c, look: _url("planning:plan_detail", look.plan_id, anchor="members"),
        insert=lambda c, look: (f"invited {c.data.get('email')} as {_invited_role(c)}", ""),
        fields={
            "accepted_at": lambda c, look: (
                f"accepted the invitation sent to {c.data.get('email')}",
                "",
            ),
            "withdrawn_at": lambda c, look: (
                f"withdrew the invitation of {c.data.get('email')}",
                "",
            ),
        },
        goes_with={"accepted_at": frozenset({"accepted_by_id"})},
    )


# The plan and its register


def _plan_status(change, look):
    status = _choice(settings.AUDIT_PLAN_MODEL, "status", change.data.get("status"))
    return f"changed the plan's status to {status}", ""


def _plan_archived(change, look):
    return (
        ("archived the plan", "") if change.data.get("archived_at") else ("restored the plan", "")
    )


def _plan_rules() -> _Rules:
    return _rules(
        settings.AUDIT_PLAN_MODEL,
        noun="the plan",
        name=lambda c, look: "",
        link=lambda c, look: _url("planning:plan_detail", look.plan_id),
        insert=lambda c, look: ("created the plan", ""),
        delete=lambda c, look: ("deleted the plan", ""),
        fields={
            "status": _plan_status,
            "archived_at": _plan_archived,
            "title": lambda c, look: (f"renamed the plan to {_quote(c.data.get('title'))}", ""),
            "week1_start": lambda c, look: (
                f"moved week 1 to start on {_date(c.data.get('week1_start'))}",
                "",
            ),
            "target_go_live": lambda c, look: (
                f"set the target go-live to {_date(c.data.get('target_go_live'))}",
                "",
            ),
        },
    )


def _document_name(change, look):
    return _quote(change.data.get("title"))


def _document_rules() -> _Rules:
    def status(c, look):
        label = _choice("planning.PlanningDocument", "status", c.data.get("status"))
        return f"set the document {_document_name(c, look)} to {label}", ""

    def owner(c, look):
        new, name = c.data.get("owner_id"), _document_name(c, look)
        if new:
            return f"made {look.person(new)} the owner of the document {name}", ""
        return f"cleared the owner of the document {name}", ""

    return _rules(
        "planning.PlanningDocument",
        noun="the document",
        name=_document_name,
        link=lambda c, look: _url("planning:documents", look.plan_id),
        fields={"status": status, "owner_id": owner},
    )


def _requirement_rules() -> _Rules:
    return _rules(
        "planning.RequirementSpec",
        noun="the requirement template",
        name=lambda c, look: _quote(c.data.get("title")),
        link=lambda c, look: _url("planning:requirements", look.plan_id, c.data.get("kind")),
        fields={
            "values": lambda c, look: (
                f"saved the requirement template {_quote(c.data.get('title'))}",
                "",
            ),
        },
    )


def _contact_rules() -> _Rules:
    return _rules(
        "planning.SupportContact",
        noun="the support contact",
        name=lambda c, look: (
            f"{_quote(c.data.get('name'))} ({c.data.get('topic')})"
            if c.label == "insert"
            else _quote(c.data.get("topic"))
        ),
        link=lambda c, look: _url("planning:contacts", look.plan_id),
    )


# Comments


def _comment_target(change, look) -> tuple[str, str]:
    """What the comment is on, and the page where it is."""
    item_id, task_id = change.data.get("item_id"), change.data.get("work_item_id")
    if item_id:
        text = look.item_texts.get(item_id)
        link = _url("checklists:item_detail", look.plan_id, item_id, anchor="comments")
        return (_quote(text) if text else "a checklist item"), link
    if task_id:
        title = look.task_titles.get(task_id)
        # The task's own page, where its thread is.
        link = _url("planning:work_item_edit", look.plan_id, task_id, anchor="comments")
        return (f"task {_quote(title)}" if title else "a task"), link
    return "the plan", _url("planning:plan_detail", look.plan_id)


def _comment_rules() -> _Rules:
    return _rules(
        "checklists.Comment",
        noun="a comment",
        name=lambda c, look: "",
        link=lambda c, look: _comment_target(c, look)[1],
        insert=lambda c, look: (
            f"commented on {_comment_target(c, look)[0]}",
            c.data.get("body", ""),
        ),
        delete=lambda c, look: (f"deleted a comment on {_comment_target(c, look)[0]}", ""),
        fields={
            "body": lambda c, look: (
                f"edited a comment on {_comment_target(c, look)[0]}",
                c.data.get("body", ""),
            ),
        },
        quiet=frozenset({"edited_at"}),
    )


def _mention_rules() -> _Rules:
    return _rules(
        "checklists.Mention",
        noun="the mention of",
        name=lambda c, look: look.person(c.data.get("user_id")),
        insert=lambda c, look: (f"mentioned {look.person(c.data.get('user_id'))}", ""),
    )


def _generic_rules(label: str) -> _Rules:
    """Any other tracked model of a plan: its verbose name and a title-like field."""
    try:
        noun = str(apps.get_model(label)._meta.verbose_name)
    except LookupError:
        noun = label.rsplit(".", 1)[-1].lower()

    def name(change, look):
        for field in ("title", "name", "text", "topic", "body"):
            if change.data.get(field):
                return _quote(change.data[field])
        return f"#{change.id}" if change.id is not None else ""

    return _rules(label, noun=noun, name=name)


@functools.cache
def _rules_for(label: str) -> _Rules:
    makers = {
        "planning.WorkItem": _task_rules,
        "planning.Phase": _phase_rules,
        "checklists.Checklist": _checklist_rules,
        "checklists.ChecklistItem": _item_rules,
        "checklists.EvidenceLink": lambda: _evidence_rules("checklists.EvidenceLink", "url"),
        "checklists.EvidenceFile": lambda: _evidence_rules("checklists.EvidenceFile", "name"),
        "checklists.ReadinessScore": _score_rules,
        "signoffs.SignoffRequirement": _role_rules,
        "signoffs.Signoff": _signoff_rules,
        "signoffs.ReadinessPacket": _packet_rules,
        "planning.PlanMembership": _membership_rules,
        "planning.Invitation": _invitation_rules,
        settings.AUDIT_PLAN_MODEL: _plan_rules,
        "planning.PlanningDocument": _document_rules,
        "planning.RequirementSpec": _requirement_rules,
        "planning.SupportContact": _contact_rules,
        "checklists.Comment": _comment_rules,
        "checklists.Mention": _mention_rules,
    }
    return makers[label]() if label in makers else _generic_rules(label)
