"""How the activity feed words the events of checklists' models: checklists and their items,
evidence, readiness scores, comments and mentions. `register` is called from
`ChecklistsConfig.ready()`."""

from checklists.models import (
    Checklist,
    ChecklistItem,
    Comment,
    EvidenceFile,
    EvidenceLink,
    Mention,
    ReadinessScore,
)
from planning.models import DeploymentPlan, Task
from truststream import activity
from truststream.activity import Rules, assignee, choice, quote, url

# Checklists and evidence


def _item_name(change, look):
    return quote(change.data.get("text"))


def _item_state(change, look):
    name, state = _item_name(change, look), change.data.get("state")
    carried = change.diff.get("carried_state", [""])[0]
    detail = change.data.get("na_reason", "") if state == "not_applicable" else ""
    if carried and state == carried:
        return f"confirmed {name} {choice(ChecklistItem, 'state', state)} in this plan", detail
    if state == "open":
        return f"reopened {name}", ""
    return f"marked {name} {choice(ChecklistItem, 'state', state)}", detail


def _item_carried(change, look):
    """The carry from the previous environment's plan, or its end without a new state."""
    name, carried = _item_name(change, look), change.data.get("carried_state")
    if not carried:
        return f"left {name} open instead of confirming its carried state", ""
    source = choice(ChecklistItem, "carried_from", change.data.get("carried_from"))
    state = choice(ChecklistItem, "state", carried)
    return f"carried {name} forward from {source} as {state}, to be confirmed", ""


_ITEM = Rules(
    noun="checklist item",
    name=_item_name,
    link=lambda c, look: url("checklists:item_detail", look.plan_id, c.id),
    fields={
        "state": _item_state,
        "carried_state": _item_carried,
        "na_reason": lambda c, look: (
            f"changed why {_item_name(c, look)} does not apply",
            c.data.get("na_reason", ""),
        ),
        "assignee_id": lambda c, look: assignee(c, look, _item_name(c, look)),
        "note": lambda c, look: (f"updated the note on {_item_name(c, look)}", ""),
    },
    goes_with={
        "state": frozenset({"na_reason", "carried_state", "carried_reason"}),
        "carried_state": frozenset({"carried_reason", "carried_from", "note"}),
    },
    quiet=frozenset({"previous_item_id"}),
)

# Evidence and comments name their checklist item (or task) by its id only.
_NAMES_ITS_ITEM = {"item_id": (ChecklistItem, "text")}


def _evidence_item(change, look):
    text = look.title(ChecklistItem, change.data.get("item_id"))
    return quote(text) if text else "a checklist item"


def _evidence(what: str) -> Rules:
    """`what`: the field that says what the evidence is (a link's URL, a file's name)."""
    return Rules(
        noun=f"evidence {what}",
        name=lambda c, look: quote(c.data.get(what), 120),
        link=lambda c, look: url("checklists:item_detail", look.plan_id, c.data.get("item_id")),
        insert=lambda c, look: (f"added evidence to {_evidence_item(c, look)}", c.data.get(what)),
        delete=lambda c, look: (
            f"removed evidence from {_evidence_item(c, look)}",
            c.data.get(what),
        ),
        points_to=_NAMES_ITS_ITEM,
    )


_CHECKLIST = Rules(
    noun="checklist",
    name=lambda c, look: quote(c.data.get("title")),
    link=lambda c, look: url(
        "checklists:checklists", look.plan_id, anchor=f"checklist-{c.data.get('key')}"
    ),
)


# Readiness


def _categories(plan_id: int) -> dict:
    """The titles of the plan's readiness categories, by key."""
    definition = (
        DeploymentPlan.objects.filter(pk=plan_id)
        .values_list("playbook__definition__readiness__categories", flat=True)
        .first()
    )
    return {c["key"]: c["title"] for c in definition or () if "key" in c}


def _category(change, look) -> str:
    key = change.data.get("category", "")
    return look.prefetched[ReadinessScore].get(key) or key.replace("_", " ").capitalize()


_SCORE = Rules(
    noun="the readiness score of",
    name=_category,
    link=lambda c, look: url(
        "checklists:readiness", look.plan_id, anchor=f"category-{c.data.get('category')}"
    ),
    insert=lambda c, look: (
        f"scored {_category(c, look)} {c.data.get('score')}/10",
        c.data.get("rationale", ""),
    ),
    prefetch=_categories,
)


# Comments


def _comment_target(change, look) -> tuple[str, str]:
    """What the comment is on, and the page where it is."""
    item_id, task_id = change.data.get("item_id"), change.data.get("task_id")
    if item_id:
        text = look.title(ChecklistItem, item_id)
        link = url("checklists:item_detail", look.plan_id, item_id, anchor="comments")
        return (quote(text) if text else "a checklist item"), link
    if task_id:
        title = look.title(Task, task_id)
        # The task's own page, where its thread is.
        link = url("planning:task_edit", look.plan_id, task_id, anchor="comments")
        return (f"task {quote(title)}" if title else "a task"), link
    return "the plan", url("planning:plan_detail", look.plan_id)


_COMMENT = Rules(
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
    points_to={**_NAMES_ITS_ITEM, "task_id": (Task, "title")},
)

_MENTION = Rules(
    noun="the mention of",
    name=lambda c, look: look.person(c.data.get("user_id")),
    insert=lambda c, look: (f"mentioned {look.person(c.data.get('user_id'))}", ""),
)


def register() -> None:
    """Register the kinds and rules of checklists with the activity feed."""
    activity.register_kind("checklists", "Checklists & evidence")
    activity.register_kind("readiness", "Readiness")
    activity.register_kind("comments", "Comments")
    activity.register(Checklist, _CHECKLIST, kind="checklists", copied_with_the_plan=True)
    activity.register(ChecklistItem, _ITEM, kind="checklists", copied_with_the_plan=True)
    # Evidence is copied with a plan of the next environment (`items_carry`); the items' own
    # events tell what was carried.
    activity.register(EvidenceLink, _evidence("url"), kind="checklists", copied_with_the_plan=True)
    activity.register(EvidenceFile, _evidence("name"), kind="checklists", copied_with_the_plan=True)
    activity.register(ReadinessScore, _SCORE, kind="readiness")
    activity.register(Comment, _COMMENT, kind="comments")
    activity.register(Mention, _MENTION, kind="comments")
