import csv
import io
import re

import pghistory.models
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from planning.models import DeploymentPlan, Task
from signoffs import policies as signoff_policies
from signoffs import services as signoff_services
from signoffs.models import Signoff
from truststream import audit
from truststream.audit import seals
from truststream.audit.history import context
from truststream.models import AuditSeal

EVENT_TABLE = "planning_taskevent"


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {EVENT_TABLE} SET title = 'forged'",
        f"DELETE FROM {EVENT_TABLE}",
        f"TRUNCATE {EVENT_TABLE}",
        "UPDATE truststream_auditseal SET digest = 'x'",
        "DELETE FROM truststream_auditseal",
        "TRUNCATE truststream_auditseal",
        "UPDATE pghistory_context SET metadata = '{\"user\": 1}'",
        "DELETE FROM pghistory_context",
        "TRUNCATE pghistory_context",
        "DELETE FROM truststream_sealedcontext",
    ],
)
def test_the_audit_tables_refuse_to_be_edited(signed, statement):
    before = (
        Task.pgh_event_model.objects.count(),
        list(AuditSeal.objects.values()),
        list(pghistory.models.Context.objects.values("id", "metadata")),
    )
    with (
        pytest.raises(DatabaseError, match="pgtrigger: Cannot"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert (
        Task.pgh_event_model.objects.count(),
        list(AuditSeal.objects.values()),
        list(pghistory.models.Context.objects.values("id", "metadata")),
    ) == before


def test_bulk_updates_and_raw_sql_are_recorded_too(plan):
    Task.objects.filter(plan=plan, title="Team training").update(status="done")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE planning_task SET notes = 'edited by hand' WHERE plan_id = %s "
            "AND title = 'Go-live checklist'",
            [plan.pk],
        )
    events = Task.pgh_event_model.objects.filter(plan=plan, pgh_label="update")
    assert set(events.values_list("title", "status", "notes")) == {
        ("Team training", "done", ""),
        ("Go-live checklist", "todo", "edited by hand"),
    }


def test_a_request_records_who_from_where_with_an_id(client_for, plan, editor):
    item = plan.tasks.first()
    client_for(editor).post(
        reverse("planning:task_status", args=[plan.pk, item.pk]),
        {"status": "done"},
        REMOTE_ADDR="10.9.8.7",
        headers={"X-Request-ID": "req-123"},
    )
    event = Task.pgh_event_model.objects.filter(pgh_obj=item).latest("pgh_id")
    metadata = pghistory.models.Context.objects.get(pk=event.pgh_context_id).metadata
    assert metadata["user"] == editor.pk
    assert (metadata["ip"], metadata["request_id"]) == ("10.9.8.7", "req-123")
    assert metadata["url"] == reverse("planning:task_status", args=[plan.pk, item.pk])


def test_a_management_command_records_its_name(db):
    call_command("load_demo", "--i-know-this-is-not-production")
    event = DeploymentPlan.pgh_event_model.objects.earliest("pgh_id")
    metadata = pghistory.models.Context.objects.get(pk=event.pgh_context_id).metadata
    assert metadata["command"] == "load_demo"


@pytest.fixture
def signed(plan, owner, editor):
    """A plan with one signature, so with one seal; the signature made in a request's context."""
    signoff_services.role_assign(requirement=plan.roles.get(role="technical_lead"), assignee=editor)
    requirement = plan.roles.get(role="technical_lead")
    with context(user=editor.pk, url="/sign/", ip="10.1.2.3", request_id="sign-1"):
        signoff_services.signoff_record(
            requirement=requirement,
            signer=editor,
            decision="approve",
            seen_digest=signoff_policies.role_digest(requirement),
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
    with pytest.raises(CommandError, match=r"seal 1 .*an event it sealed, or the context"):
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
        seen_digest=signoff_policies.role_digest(requirement),
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
    Task.objects.filter(plan=plan, title="Team training").update(status="done")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE planning_task SET notes = 'raw note' WHERE plan_id = %s AND title = %s",
            [plan.pk, "Go-live checklist"],
        )
    body = client_for(viewer).get(reverse("planning:audit", args=[plan.pk])).content.decode()
    assert "<del>todo</del> → done" in body
    assert "<del></del> → raw note" in body
    assert "Audit trail" in body


def test_a_plans_trail_holds_its_events_and_no_other_plans(plan, owner, editor):
    from tests.factories import make_plan

    other = make_plan(owner, title="Another plan")
    Task.objects.filter(plan=other).update(status="done")
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
    client = client_for(viewer)
    url = reverse("planning:audit", args=[plan.pk])
    with context(user=editor.pk):
        Task.objects.filter(plan=plan, title="Team training").update(status="done")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    with context(user=editor.pk):
        for round_ in range(10):
            Task.objects.filter(plan=plan).update(notes=f"round {round_}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(response.context["rows"]) == 50
    assert response.context["older"] is not None
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
    item = plan.tasks.first()
    client_for(editor).post(
        reverse("planning:task_edit", args=[plan.pk, item.pk]),
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
    """ChecklistItemEvent gained `assignee_id` after seals existed, then the columns of an
    item carried from the previous environment's plan: while they are empty (null, or the
    empty text their migration gave older rows), an event digests as it did before the
    columns were there."""
    import hashlib
    import json

    from django.apps import apps
    from django.core.serializers.json import DjangoJSONEncoder

    model = apps.get_model("checklists", "ChecklistItemEvent")
    event = model.objects.filter(plan_id=plan.pk).first()
    later = ("assignee_id", "previous_item_id", "carried_state", "carried_reason", "carried_from")
    assert [getattr(event, column) for column in later] == [None, None, "", "", ""]
    before = {
        field.attname: getattr(event, field.attname)
        for field in model._meta.concrete_fields
        if field.attname not in ("pgh_id", *later)
    }
    canonical = json.dumps(
        {"table": model._meta.label, "id": event.pgh_id, "data": before},
        sort_keys=True,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
    )
    assert audit.event_digest(model, event) == hashlib.sha256(canonical.encode()).hexdigest()


# What the seal covers beyond the event rows


def _signoff_event(plan):
    return plan.signoffs.get().events.get()


def test_a_seal_covers_the_context_its_events_were_made_in(signed, editor):
    event = _signoff_event(signed)
    assert pghistory.models.Context.objects.get(pk=event.pgh_context_id).metadata["user"] == (
        editor.pk
    )
    assert audit.verify(signed.pk) == (1, None)
    with pytest.raises(DatabaseError, match="Cannot update the context"), transaction.atomic():
        pghistory.models.Context.objects.filter(pk=event.pgh_context_id).update(metadata={})


def test_changing_the_context_of_a_sealed_event_is_detected(signed, owner):
    _as_superuser_without_triggers(
        "UPDATE pghistory_context SET metadata = jsonb_set(metadata, '{user}', %s::jsonb) "
        "WHERE id = %s",
        [str(owner.pk), _signoff_event(signed).pgh_context_id],
    )
    with pytest.raises(
        CommandError, match=r"plan \d+, seal 1 .*an event it sealed, or the context it was made in"
    ):
        call_command("verify_audit")


def test_removing_the_context_of_a_sealed_event_is_detected(signed):
    _as_superuser_without_triggers(
        "DELETE FROM pghistory_context WHERE id = %s", [_signoff_event(signed).pgh_context_id]
    )
    with pytest.raises(CommandError, match=r"seal 1 .*the context it was made in, was altered"):
        call_command("verify_audit", "--plan", str(signed.pk))


def test_pghistory_still_names_the_user_late_in_a_context_no_seal_covers(plan, editor):
    """An API call records its token's use before it knows the user, in another transaction;
    the context is updated then, which only a seal forbids."""
    item = plan.tasks.first()
    with context(url="/api/v1/"):
        Task.objects.filter(pk=item.pk).update(notes="before the user is known")
        context(user=editor.pk)
        Task.objects.filter(pk=item.pk).update(notes="after")
    events = Task.pgh_event_model.objects.filter(pgh_obj=item, pgh_label="update")
    [context_id] = set(events.values_list("pgh_context_id", flat=True))
    assert pghistory.models.Context.objects.get(pk=context_id).metadata["user"] == editor.pk


def test_seals_taken_before_contexts_were_sealed_still_verify(plan, editor):
    with context(user=editor.pk):
        Task.objects.filter(plan=plan).update(notes="sealed the old way")
    marks = {
        model._meta.label: audit.plan_events(model, plan.pk).latest("pgh_id").pgh_id
        for model in audit.plan_event_models()
        if audit.plan_events(model, plan.pk).exists()
    }
    chained = seals._chain("", plan.pk, {}, marks, with_context=False)
    AuditSeal.objects.create(
        plan_id=plan.pk,
        number=1,
        reason="before contexts were sealed",
        marks=marks,
        event_count=chained.count,
        digest=chained.digest,
        covers_context=False,
    )
    audit.seal_take(plan_id=plan.pk, reason="after")
    assert audit.verify(plan.pk) == (2, None)


def _packet(plan, owner):
    return signoff_services.packet_request(plan=plan, requested_by=owner, kind="draft")


def test_removing_the_newest_seal_is_detected_through_the_packet_that_cites_it(signed, owner):
    packet = _packet(signed, owner)
    assert packet.seal_number == 2
    assert audit.verify(signed.pk) == (2, None)
    _as_superuser_without_triggers(
        "DELETE FROM truststream_auditseal WHERE plan_id = %s AND number = 2", [signed.pk]
    )
    with pytest.raises(
        CommandError,
        match=rf"plan {signed.pk}, packet revision 1 \(draft\): it cites seal 2, which is missing",
    ):
        call_command("verify_audit")


def test_a_newest_seal_taken_again_is_detected_through_the_packet(signed, owner):
    """Removing the newest seal and sealing again gives seal 2 another digest."""
    _packet(signed, owner)
    _as_superuser_without_triggers(
        "DELETE FROM truststream_auditseal WHERE plan_id = %s AND number = 2", [signed.pk]
    )
    Task.objects.filter(plan=signed).update(notes="after the seal was removed")
    audit.seal_take(plan_id=signed.pk, reason="a new seal 2")
    with pytest.raises(CommandError, match=r"packet revision 1 \(draft\): it cites seal 2 with"):
        call_command("verify_audit", "--plan", str(signed.pk))


def test_removing_an_event_from_the_middle_of_the_chain_is_detected(signed, owner):
    _packet(signed, owner)  # a second seal after the first
    _as_superuser_without_triggers(
        f"DELETE FROM {EVENT_TABLE} WHERE pgh_id = (SELECT pgh_id FROM {EVENT_TABLE} "
        "WHERE plan_id = %s ORDER BY pgh_id OFFSET 5 LIMIT 1)",
        [signed.pk],
    )
    with pytest.raises(CommandError, match=r"seal 1 .*sealed (\d+) events, (?!\1)\d+ are there"):
        call_command("verify_audit")


# Request ids


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-2026.11_30", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("<script>alert(1)</script>", False),
        ("=cmd|' /C calc'!A0", False),
        ("id with spaces", False),
        ("²", False),
    ],
)
def test_a_client_request_id_is_kept_only_when_it_is_a_plain_token(
    client_for, plan, editor, given, kept
):
    item = plan.tasks.first()
    client_for(editor).post(
        reverse("planning:task_status", args=[plan.pk, item.pk]),
        {"status": "done"},
        headers={"X-Request-ID": given},
    )
    event = Task.pgh_event_model.objects.filter(pgh_obj=item).latest("pgh_id")
    request_id = pghistory.models.Context.objects.get(pk=event.pgh_context_id).metadata[
        "request_id"
    ]
    if kept:
        assert request_id == given
    else:
        assert request_id != given and re.fullmatch(r"[0-9a-f]{32}", request_id)


# Who sees where people were


def change_and_sign_from_somewhere(plan, editor, client_for) -> Signoff:
    """A change made from 10.9.8.7, and a signature that recorded 203.0.113.9 and a browser."""
    item = plan.tasks.first()
    client_for(editor).post(
        reverse("planning:task_status", args=[plan.pk, item.pk]),
        {"status": "done"},
        REMOTE_ADDR="10.9.8.7",
    )
    signoff_services.role_assign(requirement=plan.roles.get(role="technical_lead"), assignee=editor)
    requirement = plan.roles.get(role="technical_lead")
    return signoff_services.signoff_record(
        requirement=requirement,
        signer=editor,
        decision="approve",
        seen_digest=signoff_policies.role_digest(requirement),
        ip_address="203.0.113.9",
        user_agent="PeculiarBrowser/7.1",
    )


@pytest.fixture
def signed_from_somewhere(plan, editor, client_for):
    change_and_sign_from_somewhere(plan, editor, client_for)
    return plan


WHERE_PEOPLE_WERE = ("10.9.8.7", "203.0.113.9", "PeculiarBrowser")


def _page_and_csv(client, plan) -> tuple[str, str]:
    page = client.get(reverse("planning:audit", args=[plan.pk])).content.decode()
    response = client.get(reverse("planning:audit_csv", args=[plan.pk]))
    return page, b"".join(response.streaming_content).decode()


@pytest.mark.parametrize("reader", ["owner", "superuser"])
def test_owners_see_the_addresses_and_browsers_in_the_trail(
    client_for, signed_from_somewhere, reader, request, outsider
):
    if reader == "superuser":
        outsider.is_superuser = True  # not a member: a superuser holds every permission
        outsider.save()
    person = outsider if reader == "superuser" else request.getfixturevalue(reader)
    page, csv_text = _page_and_csv(client_for(person), signed_from_somewhere)
    for text in WHERE_PEOPLE_WERE:
        assert text in csv_text
    # The page lists a signature's first dozen fields, where its browser is not.
    assert "from 10.9.8.7" in page and "203.0.113.9" in page
    assert csv_text.splitlines()[0].endswith(",ip")


@pytest.mark.parametrize("member", ["editor", "viewer"])
def test_other_members_read_the_trail_without_addresses_and_browsers(
    client_for, signed_from_somewhere, member, request
):
    page, csv_text = _page_and_csv(
        client_for(request.getfixturevalue(member)), signed_from_somewhere
    )
    for text in WHERE_PEOPLE_WERE:
        assert text not in page
        assert text not in csv_text
    assert "Approve" in page and "status" in csv_text  # the rest is there
    assert "ip" not in csv_text.splitlines()[0].split(",")


# Reading a long trail


def _fill(plan, events: int, notes: str = "filled"):
    """`events` update events of the plan's first task, written straight into its event table
    in one statement (so all at one time), as a bulk import would."""
    item = plan.tasks.order_by("pk").first()
    values = {"pgh_created_at": "NOW()", "pgh_label": "'update'", "pgh_obj_id": "w.id"}
    values |= {"pgh_context_id": "NULL", "notes": "%s || n"}
    columns = [f.column for f in Task.pgh_event_model._meta.concrete_fields]
    columns.remove("pgh_id")
    quoted = [connection.ops.quote_name(column) for column in columns]
    selected = [
        values.get(column, f"w.{name}") for column, name in zip(columns, quoted, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EVENT_TABLE} ({', '.join(quoted)}) SELECT {', '.join(selected)} "
            "FROM planning_task w, generate_series(1, %s) n WHERE w.id = %s",
            [notes, events, item.pk],
        )
        cursor.execute(f"ANALYZE {EVENT_TABLE}")  # as autovacuum would after such an import


def _every_event(plan) -> list:
    return [
        (model._meta.label, event.pgh_id)
        for model in audit.plan_event_models()
        for event in audit.plan_events(model, plan.pk)
    ]


def test_the_keyset_reads_every_event_once_newest_first_across_equal_times(plan, editor):
    _fill(plan, 1234)  # all at one time: ties broken by table and id
    with context(user=editor.pk):
        Task.objects.filter(plan=plan).update(notes="a later transaction")
    read = [
        (event.pgh_model, event.pgh_id, event.pgh_created_at)
        for events in audit.plan_event_chunks(plan.pk, size=100)
        for event in events
    ]
    assert sorted((label, pgh_id) for label, pgh_id, _ in read) == sorted(_every_event(plan))
    keys = [(at, label, pgh_id) for label, pgh_id, at in read]
    assert keys == sorted(keys, reverse=True)


def test_the_csv_holds_every_event_past_a_hundred_thousand(client_for, plan, viewer):
    _fill(plan, 100_100, notes="filled ")
    response = client_for(viewer).get(reverse("planning:audit_csv", args=[plan.pk]))
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    filled = [row for row in rows if row[4] == "notes" and row[6].startswith("filled ")]
    assert len(filled) == 100_100
    assert {row[6] for row in filled[:2]} == {"filled 100100", "filled 100099"}


def test_the_audit_page_reads_older_and_newer_pages_by_keyset(client_for, plan, viewer):
    _fill(plan, 120)
    client = client_for(viewer)
    url = reverse("planning:audit", args=[plan.pk])
    first = client.get(url, {"section": "planning.TaskEvent"})
    older = client.get(
        url, {"section": "planning.TaskEvent", "before": str(first.context["older"])}
    )
    back = client.get(url, {"section": "planning.TaskEvent", "after": str(older.context["newer"])})
    assert back.context["rows"] == first.context["rows"]
    assert back.context["newer"] is None
    firsts = {(r["at"], r["what"], str(r["changes"])) for r in first.context["rows"]}
    olders = {(r["at"], r["what"], str(r["changes"])) for r in older.context["rows"]}
    assert len(olders) == 50 and not firsts & olders
    assert "Older →" in older.content.decode() and "← Newer" in older.content.decode()


@pytest.mark.parametrize("cursor", ["²_planning.TaskEvent_1", "9" * 40, "1_nope.Event_1", "x"])
def test_a_page_cursor_that_is_not_ours_shows_the_newest_page(client_for, plan, viewer, cursor):
    client = client_for(viewer)
    url = reverse("planning:audit", args=[plan.pk])
    newest = client.get(url)
    for key in ("before", "after"):
        response = client.get(url, {key: cursor})
        assert response.status_code == 200
        assert response.context["rows"] == newest.context["rows"]


# The user, the plan with the user's permissions on it, the filter's people, the page of the
# trail (one query over every event table), the people it names, the seals.
AUDIT_PAGE_QUERIES = 6


def test_other_plans_events_change_neither_the_page_nor_its_queries(
    client_for, plan, owner, viewer
):
    from tests.factories import make_plan

    client = client_for(viewer)
    url = reverse("planning:audit", args=[plan.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as alone:
        before = client.get(url)
    other = make_plan(owner, title="A busy plan")
    _fill(other, 20_000)
    with context(user=owner.pk):
        for round_ in range(5):
            Task.objects.filter(plan=other).update(notes=f"round {round_}")
    with CaptureQueriesContext(connection) as crowded:
        after = client.get(url)
    assert after.context["rows"] == before.context["rows"]
    assert len(crowded) == len(alone) == AUDIT_PAGE_QUERIES
    [feed] = [q["sql"] for q in crowded.captured_queries if "UNION ALL" in q["sql"]]
    assert feed.count(f'plan_id" = {plan.pk}') + feed.count(f'pgh_obj_id" = {plan.pk}') == len(
        audit.plan_event_models()
    )
