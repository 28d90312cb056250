"""How the activity feed words the events of planning's models: the plan, its weeks and tasks,
its document register, requirement templates and support contacts, its members and
invitations. `register` is called from `PlanningConfig.ready()`."""

from planning.models import (
    DeploymentPlan,
    Invitation,
    Phase,
    PlanMembership,
    PlanningDocument,
    PlanTeam,
    RequirementSpec,
    SupportContact,
    Task,
)
from truststream import activity
from truststream.activity import Rules, assignee, choice, date_text, quote, url
from truststream.models import Team

# Tasks and weeks


def _task_name(change, look):
    return quote(change.data.get("title"))


def _task_status(change, look):
    name, status = _task_name(change, look), change.data.get("status")
    if status == "blocked":
        return f"blocked {name}", change.data.get("blocked_reason", "")
    if status == "todo":
        return f"moved {name} back to to do", ""
    return f"moved {name} to {choice(Task, 'status', status)}", ""


_TASK = Rules(
    noun="task",
    name=_task_name,
    link=lambda c, look: url("planning:board", look.plan_id, anchor=f"task-{c.id}"),
    fields={
        "status": _task_status,
        "blocked_reason": lambda c, look: (
            f"changed why {_task_name(c, look)} is blocked",
            c.data.get("blocked_reason", ""),
        ),
        "assignee_id": lambda c, look: assignee(c, look, _task_name(c, look)),
        "due_on": lambda c, look: (
            f"set the due date of {_task_name(c, look)} to {date_text(c.data.get('due_on'))}",
            "",
        ),
        "title": lambda c, look: (
            f"renamed task {quote(c.was('title'))} to {_task_name(c, look)}",
            "",
        ),
        "phase_id": lambda c, look: (f"moved {_task_name(c, look)} to another week", ""),
        "group": lambda c, look: (
            f"moved {_task_name(c, look)} to the group {quote(c.data.get('group'))}",
            "",
        ),
        "notes": lambda c, look: (f"edited the notes of {_task_name(c, look)}", ""),
        "position": lambda c, look: (f"reordered {_task_name(c, look)}", ""),
    },
    goes_with={"status": frozenset({"blocked_reason"})},
)


def _phase_name(change, look):
    return f"{change.data.get('number')}: {quote(change.data.get('title'))}"


def _phase_dates(change, look):
    starts, ends = change.data.get("starts_on"), change.data.get("ends_on")
    return f"moved week {_phase_name(change, look)} to {date_text(starts)} – {date_text(ends)}", ""


_PHASE = Rules(
    noun="week",
    name=_phase_name,
    link=lambda c, look: url(
        "planning:board", look.plan_id, anchor=f"phase-{c.data.get('number')}"
    ),
    fields={"starts_on": _phase_dates, "ends_on": _phase_dates},
)


# Members


def _member(change, look):
    return look.person(change.data.get("user_id"))


def _role(change):
    return choice(PlanMembership, "role", change.data.get("role"))


def _member_added(change, look):
    if change.actor_id and change.actor_id == change.data.get("user_id"):
        return f"joined the plan as {_role(change)}", ""
    return f"added {_member(change, look)} as {_role(change)}", ""


def _member_removed(change, look):
    if change.actor_id and change.actor_id == change.data.get("user_id"):
        return "left the plan", ""
    return f"removed {_member(change, look)} from the plan", ""


def _members_link(change, look):
    return url("planning:plan_detail", look.plan_id, anchor="members")


_MEMBERSHIP = Rules(
    noun="the membership of",
    name=_member,
    link=_members_link,
    insert=_member_added,
    delete=_member_removed,
    fields={
        "role": lambda c, look: (f"changed the role of {_member(c, look)} to {_role(c)}", ""),
    },
)


def _team(change, look):
    name = look.prefetched.get(PlanTeam, {}).get(change.data.get("team_id"))
    return f"the team {quote(name)}" if name else "a former team"


def _teams_ever_on(plan_id: int) -> dict:
    """The names of the teams that were ever members of the plan: teams are not the plan's,
    so they are found through the plan's team events. One query per page."""
    ever = PlanTeam.pgh_event_model.objects.filter(plan_id=plan_id).values("team_id")
    return dict(Team.objects.filter(pk__in=ever).values_list("pk", "name"))


_PLAN_TEAM = Rules(
    noun="the membership of",
    name=_team,
    link=_members_link,
    insert=lambda c, look: (f"added {_team(c, look)} as {_role(c)}", ""),
    delete=lambda c, look: (f"removed {_team(c, look)} from the plan", ""),
    fields={
        "role": lambda c, look: (f"changed the role of {_team(c, look)} to {_role(c)}", ""),
    },
    prefetch=_teams_ever_on,
)


def _invited_role(change):
    return choice(Invitation, "role", change.data.get("role"))


_INVITATION = Rules(
    noun="the invitation of",
    name=lambda c, look: c.data.get("email", ""),
    link=_members_link,
    insert=lambda c, look: (f"invited {c.data.get('email')} as {_invited_role(c)}", ""),
    fields={
        "accepted_at": lambda c, look: (
            f"accepted the invitation sent to {c.data.get('email')}",
            "",
        ),
        "withdrawn_at": lambda c, look: (f"withdrew the invitation of {c.data.get('email')}", ""),
    },
    goes_with={"accepted_at": frozenset({"accepted_by_id"})},
)


# The plan and its register


def _plan_status(change, look):
    status = choice(DeploymentPlan, "status", change.data.get("status"))
    return f"changed the plan's status to {status}", ""


def _plan_archived(change, look):
    return (
        ("archived the plan", "") if change.data.get("archived_at") else ("restored the plan", "")
    )


def _plan_created(change, look):
    if change.data.get("previous_plan_id") is None:
        return "created the plan", ""
    environment = choice(DeploymentPlan, "environment", change.data.get("environment"))
    return (
        f"created the plan for {environment} from the plan of the previous environment, "
        "carrying its checklist evidence forward to be confirmed",
        "",
    )


_PLAN = Rules(
    noun="the plan",
    name=lambda c, look: "",
    link=lambda c, look: url("planning:plan_detail", look.plan_id),
    insert=_plan_created,
    delete=lambda c, look: ("deleted the plan", ""),
    fields={
        "status": _plan_status,
        "archived_at": _plan_archived,
        "title": lambda c, look: (f"renamed the plan to {quote(c.data.get('title'))}", ""),
        "week1_start": lambda c, look: (
            f"moved week 1 to start on {date_text(c.data.get('week1_start'))}",
            "",
        ),
        "target_go_live": lambda c, look: (
            f"set the target go-live to {date_text(c.data.get('target_go_live'))}",
            "",
        ),
    },
)


def _document_name(change, look):
    return quote(change.data.get("title"))


def _document_status(change, look):
    label = choice(PlanningDocument, "status", change.data.get("status"))
    return f"set the document {_document_name(change, look)} to {label}", ""


def _document_owner(change, look):
    new, name = change.data.get("owner_id"), _document_name(change, look)
    if new:
        return f"made {look.person(new)} the owner of the document {name}", ""
    return f"cleared the owner of the document {name}", ""


_DOCUMENT = Rules(
    noun="the document",
    name=_document_name,
    link=lambda c, look: url("planning:documents", look.plan_id),
    fields={"status": _document_status, "owner_id": _document_owner},
)

_REQUIREMENT = Rules(
    noun="the requirement template",
    name=lambda c, look: quote(c.data.get("title")),
    link=lambda c, look: url("planning:requirements", look.plan_id, c.data.get("kind")),
    fields={
        "values": lambda c, look: (
            f"saved the requirement template {quote(c.data.get('title'))}",
            "",
        ),
    },
)

_CONTACT = Rules(
    noun="the support contact",
    name=lambda c, look: (
        f"{quote(c.data.get('name'))} ({c.data.get('topic')})"
        if c.label == "insert"
        else quote(c.data.get("topic"))
    ),
    link=lambda c, look: url("planning:contacts", look.plan_id),
)


def register() -> None:
    """Register planning's kinds and rules with the activity feed."""
    activity.register_kind("tasks", "Tasks")
    activity.register_kind("members", "Members")
    activity.register_kind("plan", "Plan & documents")
    activity.register(Phase, _PHASE, kind="tasks", copied_with_the_plan=True)
    activity.register(Task, _TASK, kind="tasks", copied_with_the_plan=True)
    activity.register(PlanMembership, _MEMBERSHIP, kind="members")
    activity.register(Invitation, _INVITATION, kind="members")
    activity.register(PlanTeam, _PLAN_TEAM, kind="members")
    activity.register(DeploymentPlan, _PLAN, kind="plan")
    activity.register(PlanningDocument, _DOCUMENT, kind="plan", copied_with_the_plan=True)
    activity.register(RequirementSpec, _REQUIREMENT, kind="plan", copied_with_the_plan=True)
    activity.register(SupportContact, _CONTACT, kind="plan", copied_with_the_plan=True)
