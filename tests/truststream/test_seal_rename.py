"""Seals taken before WorkItem became Task still verify: the renamed event table is sealed under
its first label, and the comment's renamed column under its first name."""

import hashlib
import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from checklists import comments
from checklists.models import Comment
from planning import services as planning_services
from planning.models import DeploymentPlan, Task
from signoffs import policies as signoff_policies
from signoffs import services as signoff_services
from truststream import audit
from truststream.audit import seals
from truststream.audit.history import context
from truststream.models import AuditSeal

# What the tables were called when their first seals were taken, written out here rather than
# read from seals.py, so that this test states the names the stored seals hold.
FIRST_LABELS = {"planning_taskevent": "planning.WorkItemEvent"}
FIRST_COLUMNS = {"checklists_commentevent": {"task_id": "work_item_id"}}
# Columns added after the first seals, left out while they hold what older rows were given.
EMPTY = (None, "")
LEFT_OUT_AT = {
    "checklists_checklistitemevent": {
        "assignee_id": EMPTY,
        "previous_item_id": EMPTY,
        "carried_state": EMPTY,
        "carried_reason": EMPTY,
        "carried_from": EMPTY,
    },
    "planning_deploymentplanevent": {"previous_plan_id": EMPTY},
    "signoffs_signoffrequirementevent": {"team_id": EMPTY, "quorum": (1,), "approval_days": EMPTY},
    "signoffs_signoffevent": {"expiry_warned_at": EMPTY, "on_behalf_of_id": EMPTY},
}
JSON_TYPES = {114, 3802}  # Postgres's json and jsonb


def _rows(table: str, where: str, params: list) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.*, c.metadata AS sealed_context FROM {table} e "
            f"LEFT JOIN pghistory_context c ON c.id = e.pgh_context_id WHERE {where} "
            "ORDER BY e.pgh_id",
            params,
        )
        columns = cursor.description
        return [
            {
                # Django leaves JSON columns as text for its fields to parse; so do we.
                column.name: json.loads(value)
                if column.type_code in JSON_TYPES and value is not None
                else value
                for column, value in zip(columns, row, strict=True)
            }
            for row in cursor.fetchall()
        ]


def _first_digest(table: str, label: str, row: dict) -> str:
    """An event's digest as the code before the rename computed it, from the raw row."""
    renamed = FIRST_COLUMNS.get(table, {})
    left_out = LEFT_OUT_AT.get(table, {})
    data = {
        renamed.get(column, column): value
        for column, value in row.items()
        if column not in ("pgh_id", "sealed_context")
        and not (column in left_out and value in left_out[column])
    }
    sealed = {"table": label, "id": row["pgh_id"], "data": data, "context": row["sealed_context"]}
    text = json.dumps(sealed, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _first_chain(plan: DeploymentPlan, marks: dict) -> tuple[str, int]:
    """The first seal's digest over the plan's events, tables in the order of their first
    labels, recomputed from the database's rows without the seals module's digests."""
    tables = {}
    for model in seals.plan_event_models():
        table = model._meta.db_table
        label = FIRST_LABELS.get(table, model._meta.label)
        is_plan = model.pgh_tracked_model is DeploymentPlan
        tables[label] = (table, "e.pgh_obj_id = %s" if is_plan else "e.plan_id = %s")
    chained = hashlib.sha256(b"")
    count = 0
    for label in sorted(tables):
        table, where = tables[label]
        for row in _rows(table, where + " AND e.pgh_id <= %s", [plan.pk, marks.get(label, 0)]):
            chained.update(_first_digest(table, label, row).encode("ascii"))
            count += 1
    return chained.hexdigest(), count


@pytest.fixture
def discussed(plan, owner, editor):
    """A plan whose task was edited and commented on, then signed (so sealed)."""
    task = plan.tasks.get(title="Team training")
    with context(user=editor.pk, request_id="rename-1"):
        planning_services.task_update(task=task, status="blocked", blocked_reason="Room booked")
        comments.comment_add(plan=plan, author=editor, body="Booked for Tuesday", task=task)
    signoff_services.role_assign(requirement=plan.roles.get(role="technical_lead"), assignee=editor)
    requirement = plan.roles.get(role="technical_lead")
    signoff_services.signoff_record(
        requirement=requirement,
        signer=editor,
        decision="approve",
        seen_digest=signoff_policies.role_digest(requirement),
    )
    return plan


def test_a_task_event_is_digested_under_the_label_it_was_first_sealed_under(discussed):
    event = Task.pgh_event_model.objects.filter(plan=discussed, pgh_label="update").last()
    [row] = _rows("planning_taskevent", "e.pgh_id = %s", [event.pgh_id])
    event = Task.pgh_event_model.objects.select_related("pgh_context").get(pk=event.pk)
    expected = _first_digest("planning_taskevent", "planning.WorkItemEvent", row)
    assert seals.event_digest(Task.pgh_event_model, event, with_context=True) == expected


def test_a_task_comment_is_digested_under_its_first_column_name(discussed):
    event = Comment.pgh_event_model.objects.select_related("pgh_context").get(plan=discussed)
    assert event.task_id is not None
    [row] = _rows("checklists_commentevent", "e.pgh_id = %s", [event.pgh_id])
    expected = _first_digest("checklists_commentevent", "checklists.CommentEvent", row)
    assert seals.event_digest(Comment.pgh_event_model, event, with_context=True) == expected


def test_a_seal_keeps_the_first_labels_and_order_so_earlier_chains_verify(discussed):
    [seal] = AuditSeal.objects.filter(plan_id=discussed.pk)
    assert "planning.WorkItemEvent" in seal.marks and "planning.TaskEvent" not in seal.marks
    last_task_event = Task.pgh_event_model.objects.filter(plan=discussed).latest("pgh_id")
    assert seal.marks["planning.WorkItemEvent"] == last_task_event.pgh_id
    # The digest, recomputed from the rows as a seal before the rename chained them: the
    # WorkItemEvent table after SupportContactEvent, the comment's task under work_item_id.
    assert _first_chain(discussed, seal.marks) == (seal.digest, seal.event_count)
    assert audit.verify(discussed.pk) == (1, None)


def test_events_after_the_rename_chain_on_and_verify(discussed):
    task = discussed.tasks.get(title="Team training")
    planning_services.task_update(task=task, status="done")
    seals.seal_take(plan_id=discussed.pk, reason="after the rename")
    first, second = AuditSeal.objects.filter(plan_id=discussed.pk).order_by("number")
    assert second.marks["planning.WorkItemEvent"] > first.marks["planning.WorkItemEvent"]
    assert audit.verify(discussed.pk) == (2, None)


def test_a_seals_marks_read_by_todays_labels_find_the_task_events(discussed):
    [seal] = AuditSeal.objects.filter(plan_id=discussed.pk)
    marks = audit.current_marks(seal.marks)
    assert marks["planning.TaskEvent"] == seal.marks["planning.WorkItemEvent"]
    assert "planning.WorkItemEvent" not in marks
