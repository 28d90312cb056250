import pghistory.models
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from planning.models import DeploymentPlan, WorkItem
from signoffs import selectors as signoff_selectors
from signoffs import services as signoff_services
from truststream import audit
from truststream.models import AuditSeal

EVENT_TABLE = "planning_workitemevent"


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {EVENT_TABLE} SET title = 'forged'",
        f"DELETE FROM {EVENT_TABLE}",
        f"TRUNCATE {EVENT_TABLE}",
        "UPDATE truststream_auditseal SET digest = 'x'",
        "DELETE FROM truststream_auditseal",
        "TRUNCATE truststream_auditseal",
    ],
)
def test_the_audit_tables_refuse_to_be_edited(signed, statement):
    before = (WorkItem.pgh_event_model.objects.count(), list(AuditSeal.objects.values()))
    with (
        pytest.raises(DatabaseError, match="pgtrigger: Cannot"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert (WorkItem.pgh_event_model.objects.count(), list(AuditSeal.objects.values())) == before


def test_bulk_updates_and_raw_sql_are_recorded_too(plan):
    WorkItem.objects.filter(plan=plan, title="Team training").update(status="done")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE planning_workitem SET notes = 'edited by hand' WHERE plan_id = %s "
            "AND title = 'Go-live checklist'",
            [plan.pk],
        )
    events = WorkItem.pgh_event_model.objects.filter(plan=plan, pgh_label="update")
    assert set(events.values_list("title", "status", "notes")) == {
        ("Team training", "done", ""),
        ("Go-live checklist", "todo", "edited by hand"),
    }


def test_a_request_records_who_from_where_with_an_id(client_for, plan, editor):
    item = plan.work_items.first()
    client_for(editor).post(
        reverse("planning:work_item_status", args=[plan.pk, item.pk]),
        {"status": "done"},
        REMOTE_ADDR="10.9.8.7",
        headers={"X-Request-ID": "req-123"},
    )
    event = WorkItem.pgh_event_model.objects.filter(pgh_obj=item).latest("pgh_id")
    metadata = pghistory.models.Context.objects.get(pk=event.pgh_context_id).metadata
    assert metadata["user"] == editor.pk
    assert (metadata["ip"], metadata["request_id"]) == ("10.9.8.7", "req-123")
    assert metadata["url"] == reverse("planning:work_item_status", args=[plan.pk, item.pk])


def test_a_management_command_records_its_name(db):
    call_command("load_demo", "--i-know-this-is-not-production")
    event = DeploymentPlan.pgh_event_model.objects.earliest("pgh_id")
    metadata = pghistory.models.Context.objects.get(pk=event.pgh_context_id).metadata
    assert metadata["command"] == "load_demo"


@pytest.fixture
def signed(plan, owner, editor):
    """A plan with one signature, so with one seal."""
    signoff_services.role_assign(requirement=plan.roles.get(role="technical_lead"), assignee=editor)
    requirement = plan.roles.get(role="technical_lead")
    signoff_services.signoff_record(
        requirement=requirement,
        signer=editor,
        decision="approve",
        seen_digest=signoff_selectors.role_digest(requirement),
    )
    return plan


def test_every_signature_seals_the_trail(signed, editor):
    [seal] = AuditSeal.objects.filter(plan_id=signed.pk)
    assert seal.number == 1 and seal.previous_digest == ""
    assert seal.event_count > 100  # the plan's creation, its copy of the playbook, the signature
    assert "Approve by" in seal.reason and "Technical Lead" in seal.reason
    item = ChecklistItem.objects.filter(plan=signed).first()
    checklist_services.item_set_state(item=item, actor=editor, state="passed", version=1)
    signoff_services.role_assign(requirement=signed.roles.get(role="technical_lead"), assignee=None)
    assert audit.verify(signed.pk) == (1, None)


def test_verify_audit_reports_an_intact_trail(signed, capsys):
    call_command("verify_audit", "--plan", str(signed.pk))
    assert "1 seals verified for plan" in capsys.readouterr().out


def _as_superuser_without_triggers(sql, params=()):
    """What someone with the database's superuser could do: switch the triggers off."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def test_tampering_with_a_sealed_event_is_detected(signed):
    _as_superuser_without_triggers(
        f"UPDATE {EVENT_TABLE} SET title = 'Nothing to see' WHERE pgh_id = "
        f"(SELECT min(pgh_id) FROM {EVENT_TABLE} WHERE plan_id = %s)",
        [signed.pk],
    )
    with pytest.raises(CommandError, match=r"seal 1 .*an event it sealed was altered"):
        call_command("verify_audit")


def test_removing_a_sealed_event_is_detected(signed):
    _as_superuser_without_triggers(
        f"DELETE FROM {EVENT_TABLE} WHERE pgh_id = "
        f"(SELECT max(pgh_id) FROM {EVENT_TABLE} WHERE plan_id = %s)",
        [signed.pk],
    )
    with pytest.raises(CommandError, match=r"sealed \d+ events, \d+ are there now"):
        call_command("verify_audit", "--plan", str(signed.pk))


def test_removing_a_seal_is_detected(signed, editor):
    requirement = signed.roles.get(role="technical_lead")
    signoff_services.signoff_record(
        requirement=requirement,
        signer=editor,
        decision="approve",
        seen_digest=signoff_selectors.role_digest(requirement),
    )
    _as_superuser_without_triggers(
        "DELETE FROM truststream_auditseal WHERE plan_id = %s AND number = 1", [signed.pk]
    )
    with pytest.raises(CommandError, match="seal 1 is missing"):
        call_command("verify_audit")


def test_a_plans_events_include_its_evidence(signed, editor):
    labels = {model._meta.label for model in audit.plan_event_models()}
    assert {
        "planning.DeploymentPlanEvent",
        "checklists.EvidenceFileEvent",
        "checklists.EvidenceLinkEvent",
        "signoffs.SignoffEvent",
    } <= labels


def test_a_trail_holding_an_evidence_file_is_sealed_and_verified(plan, editor, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    item = ChecklistItem.objects.filter(plan=plan).first()
    pdf = SimpleUploadedFile("scan.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")
    checklist_services.file_add(item=item, actor=editor, upload=pdf)
    seal = audit.seal_take(plan_id=plan.pk, reason="test")
    assert seal.event_count > 0
    assert audit.verify(plan.pk) == (1, None)


# The audit page


def test_every_member_reads_the_trail_with_before_and_after(client_for, plan, viewer, editor):
    WorkItem.objects.filter(plan=plan, title="Team training").update(status="done")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE planning_workitem SET notes = 'raw note' WHERE plan_id = %s AND title = %s",
            [plan.pk, "Go-live checklist"],
        )
    body = client_for(viewer).get(reverse("planning:audit", args=[plan.pk])).content.decode()
    assert "<del>todo</del> → done" in body
    assert "<del></del> → raw note" in body
    assert "Audit trail" in body


def test_a_plans_trail_holds_its_events_and_no_other_plans(plan, owner, editor):
    from tests.factories import make_plan

    other = make_plan(owner, title="Another plan")
    WorkItem.objects.filter(plan=other).update(status="done")
    expected = {
        (model._meta.label, event.pgh_id)
        for model in audit.plan_event_models()
        for event in audit.plan_events(model, plan.pk)
    }
    feed = {(event.pgh_model, event.pgh_id) for event in audit.plan_events_feed(plan.pk)}
    assert feed == expected
    assert ("planning.DeploymentPlanEvent", other.events.first().pgh_id) not in feed
    # Each event table is filtered on its own plan column, before the tables are combined.
    sql = str(audit.plan_events_feed(plan.pk).query)
    assert sql.count(f"_event.plan_id = {plan.pk}") >= len(audit.plan_event_models()) - 1
    assert f"_event.pgh_obj_id = {plan.pk}" in sql


def test_the_audit_page_costs_the_same_queries_for_ten_times_the_events(
    client_for, plan, editor, viewer
):
    from truststream.history import context

    client = client_for(viewer)
    url = reverse("planning:audit", args=[plan.pk])
    with context(user=editor.pk):
        WorkItem.objects.filter(plan=plan, title="Team training").update(status="done")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    with context(user=editor.pk):
        for round_ in range(10):
            WorkItem.objects.filter(plan=plan).update(notes=f"round {round_}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(response.context["rows"]) == 50
    assert response.context["page"].paginator.count > 280
    assert len(many) == len(few)


def test_the_trail_filters_by_section_and_person(client_for, plan, editor, viewer):
    item = ChecklistItem.objects.filter(plan=plan).first()
    client_for(editor).post(
        reverse("checklists:item_state", args=[plan.pk, item.pk]), {"state": "passed", "version": 1}
    )
    url = reverse("planning:audit", args=[plan.pk])
    response = client_for(viewer).get(
        url, {"section": "checklists.ChecklistItemEvent", "person": str(editor.pk)}
    )
    rows = response.context["rows"]
    assert len(rows) == 1
    assert rows[0]["what"].startswith("checklist item #")
    assert ("state", "open", "passed") in rows[0]["changes"]


def test_an_outsider_cannot_read_the_trail(client_for, plan, outsider):
    assert client_for(outsider).get(reverse("planning:audit", args=[plan.pk])).status_code == 404
    assert (
        client_for(outsider).get(reverse("planning:audit_csv", args=[plan.pk])).status_code == 404
    )


def test_the_csv_export_neutralises_formulas(client_for, plan, editor, viewer):
    item = plan.work_items.first()
    client_for(editor).post(
        reverse("planning:work_item_edit", args=[plan.pk, item.pk]),
        {
            "title": '=HYPERLINK("http://evil.example","click")',
            "group": item.group,
            "phase": item.phase_id,
            "due_on": item.due_on.isoformat(),
            "status": "todo",
        },
    )
    response = client_for(viewer).get(reverse("planning:audit_csv", args=[plan.pk]))
    content = b"".join(response.streaming_content).decode()
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "'=HYPERLINK" in content
    assert ",=HYPERLINK" not in content and '"=HYPERLINK' not in content


def test_a_column_added_to_an_event_table_later_leaves_older_seals_valid(plan):
    """ChecklistItemEvent gained `assignee_id` after seals existed: while it is empty, an
    event digests as it did before the column was there."""
    import hashlib
    import json

    from django.apps import apps
    from django.core.serializers.json import DjangoJSONEncoder

    model = apps.get_model("checklists", "ChecklistItemEvent")
    event = model.objects.filter(plan_id=plan.pk).first()
    assert event.assignee_id is None
    before = {
        field.attname: getattr(event, field.attname)
        for field in model._meta.concrete_fields
        if field.attname not in ("pgh_id", "assignee_id")
    }
    canonical = json.dumps(
        {"table": model._meta.label, "id": event.pgh_id, "data": before},
        sort_keys=True,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
    )
    assert audit.event_digest(model, event) == hashlib.sha256(canonical.encode()).hexdigest()
