from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from planning import services
from planning.models import PlanMembership, Task
from signoffs import services as signoff_services
from signoffs.models import ReadinessPacket
from tests.factories import UserFactory, make_plan
from tests.signoffs.test_signoffs import sign
from truststream import activity
from truststream.audit.history import context

ITEM = "SSL certificates installed"


def sentences(plan, **filters) -> list[str]:
    events = activity.plan_activity(plan.pk, **filters)
    return [entry.sentence for entry in activity.describe(events, plan_id=plan.pk)]


def entries(plan) -> list[activity.Entry]:
    return activity.describe(activity.plan_activity(plan.pk), plan_id=plan.pk)


def item_of(plan, text=ITEM) -> ChecklistItem:
    return ChecklistItem.objects.get(plan=plan, text=text)


def task_of(plan, title="Infrastructure audit") -> Task:
    return Task.objects.get(plan=plan, title=title)


@pytest.fixture
def priya(plan, owner):
    person = UserFactory(username="priya", first_name="Priya", last_name="Patel")
    services.membership_add(plan=plan, actor=owner, email=person.email, role="editor")
    return person


def activity_page(client, plan, **params):
    return client.get(reverse("planning:activity", args=[plan.pk]), params)


# The sentences


def test_a_checklist_state_change_reads_as_a_sentence_and_links_to_the_item(plan, priya):
    with context(user=priya.pk):
        checklist_services.item_set_state(
            item=item_of(plan), actor=priya, state="passed", version=1
        )
    events = activity.plan_activity(plan.pk, user_id=priya.pk)
    [entry] = activity.describe(events, plan_id=plan.pk)
    assert entry.sentence == f"Priya Patel marked '{ITEM}' passed"
    assert (entry.actor_id, entry.via) == (priya.pk, "")
    assert entry.link == reverse("checklists:item_detail", args=[plan.pk, item_of(plan).pk])


def test_not_applicable_says_why_and_a_note_is_mentioned(plan, owner):
    item = ChecklistItem.objects.filter(plan=plan, conditional=True).first()
    with context(user=owner.pk):
        checklist_services.item_set_state(
            item=item,
            actor=owner,
            state="not_applicable",
            version=1,
            reason="No public endpoint",
            note="Checked with the network team",
        )
    assert (
        f"Olivia Owens marked '{item.text}' not applicable and changed its note: No public endpoint"
    ) in sentences(plan)


def test_evidence_added_names_the_item_and_the_evidence(plan, priya, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    item = item_of(plan)
    with context(user=priya.pk):
        checklist_services.link_add(item=item, actor=priya, url="https://ci.example/runs/7")
        checklist_services.file_add(
            item=item,
            actor=priya,
            upload=SimpleUploadedFile("cert-check.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf"),
        )
    said = sentences(plan, kind="checklists")
    assert f"Priya Patel added evidence to '{ITEM}': https://ci.example/runs/7" in said
    assert f"Priya Patel added evidence to '{ITEM}': cert-check.pdf" in said


def test_signatures_read_as_approvals_and_rejections(plan, holders):
    officer = holders["security_officer"]
    lead = holders["technical_lead"]
    with context(user=officer.pk):
        sign(plan, "security_officer", officer)
    with context(user=lead.pk):
        sign(plan, "technical_lead", lead, decision="reject", reason="Load test missing")
    said = sentences(plan, kind="signoffs")
    officer_name = officer.get_full_name()
    assert f"{officer_name} signed as Security Officer (approve)" in said
    assert f"{lead.get_full_name()} rejected as Technical Lead: Load test missing" in said
    signature = next(e for e in entries(plan) if e.action == "signed as Security Officer (approve)")
    assert signature.link.startswith(reverse("signoffs:signoffs", args=[plan.pk]))


def test_assigning_a_role_names_the_holder(plan, owner, editor):
    with context(user=owner.pk):
        signoff_services.role_assign(
            requirement=plan.roles.get(role="business_owner"), assignee=editor
        )
    assert f"Olivia Owens gave the Business Owner role to {editor.get_full_name()}" in sentences(
        plan
    )


def test_task_changes_read_as_moves_blocks_and_assignments(plan, owner, priya):
    task = task_of(plan)
    with context(user=owner.pk):
        services.task_update(task=task, status="blocked", blocked_reason="Vendor is late")
        services.task_update(task=task, status="done")
        services.task_update(task=task, assignee=priya)
    events = activity.plan_activity(plan.pk, user_id=owner.pk, kind="tasks")
    said = activity.describe(events, plan_id=plan.pk)
    assert [entry.sentence for entry in said] == [
        "Olivia Owens assigned 'Infrastructure audit' to Priya Patel",
        "Olivia Owens moved 'Infrastructure audit' to done",
        "Olivia Owens blocked 'Infrastructure audit': Vendor is late",
    ]
    board = reverse("planning:board", args=[plan.pk])
    assert said[0].link == f"{board}#task-{task.pk}"


def test_a_score_names_its_category(plan, owner):
    with context(user=owner.pk):
        checklist_services.score_set(
            plan=plan, actor=owner, category="security", score=7, rationale="Pen test passed"
        )
    assert sentences(plan, kind="readiness") == [
        "Olivia Owens scored Security 7/10: Pen test passed"
    ]


def test_members_added_rerolled_and_removed(plan, owner):
    eddie = UserFactory(username="eddie2", first_name="Eddie", last_name="Edwards")
    with context(user=owner.pk):
        services.membership_add(plan=plan, actor=owner, email=eddie.email, role="editor")
        membership = PlanMembership.objects.get(plan=plan, user=eddie)
        services.membership_change_role(membership=membership, role="owner")
        services.membership_remove(membership=membership)
    assert sentences(plan, kind="members")[:3] == [
        "Olivia Owens removed Eddie Edwards from the plan",
        "Olivia Owens changed the role of Eddie Edwards to owner",
        "Olivia Owens added Eddie Edwards as editor",
    ]


def test_plan_documents_requirements_contacts_and_packets(plan, owner, editor):
    document = plan.documents.first()
    contact = plan.support_contacts.first()
    with context(user=owner.pk):
        services.plan_update(plan=plan, title="Checkout 2")
        services.document_update(document=document, status="approved")
        services.contact_update(contact=contact, name="Nadia Night")
        signoff_services.packet_request(plan=plan, requested_by=owner, kind="draft")
    said = sentences(plan)
    assert "Olivia Owens renamed the plan to 'Checkout 2'" in said
    assert f"Olivia Owens set the document '{document.title}' to approved" in said
    assert f"Olivia Owens changed the name of the support contact '{contact.topic}'" in said
    assert "Olivia Owens asked for packet revision 1 (draft)" in said


def test_a_change_without_a_user_is_the_systems(plan):
    # A bulk update and raw SQL, as from a shell: no request, task or command.
    Task.objects.filter(plan=plan, title="Team training").update(status="done")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE planning_deploymentplan SET status = 'in_progress' WHERE id = %s", [plan.pk]
        )
    said = sentences(plan, system=True)
    assert "The system moved 'Team training' to done" in said
    assert "The system changed the plan's status to in progress" in said


def test_a_task_is_named_as_the_way_the_system_acted(plan, owner):
    packet = signoff_services.packet_request(plan=plan, requested_by=owner, kind="draft")
    with context(task="signoffs.tasks.packet_render", task_id="abc"):
        ReadinessPacket.objects.filter(pk=packet.pk).update(status="failed", failure="Too big")
    [entry] = [e for e in entries(plan) if e.action.startswith("could not")]
    assert entry.sentence == "The system could not render packet revision 1 (draft): Too big"
    assert (entry.actor_id, entry.via) == (None, "task packet_render")


def test_creating_a_plan_is_one_entry_not_its_copied_playbook(owner):
    with context(user=owner.pk, url="/plans/new/"):
        plan = make_plan(owner)
    # Both are of one transaction, so of one time: their order between them is not fixed.
    assert sorted(sentences(plan)) == [
        "Olivia Owens created the plan",
        "Olivia Owens joined the plan as owner",
    ]


def test_every_tracked_model_of_a_plan_gets_a_sentence(plan):
    for entry in entries(plan):
        assert entry.action and entry.actor == activity.SYSTEM
        assert "#" not in entry.action
    kinds = {entry.kind for entry in entries(plan)}
    assert {"tasks", "checklists", "signoffs", "members", "plan"} <= kinds


def event(model, label="insert", data=None, diff=None, user=None, **context):
    """An event as `plan_activity` yields it, for the sentence rules alone."""
    if user is not None:
        context["user"] = user
    return SimpleNamespace(
        pgh_obj_model=model,
        pgh_label=label,
        pgh_data=data or {},
        pgh_diff=diff,
        pgh_context=context or None,
        pgh_created_at=timezone.now(),
    )


def test_the_rules_read_events_without_the_database_but_for_names(plan, owner, editor):
    item = item_of(plan)
    task = task_of(plan)
    told = activity.describe(
        [
            event(
                "planning.Task",
                "update",
                {"id": task.pk, "title": task.title, "status": "done", "assignee_id": editor.pk},
                {"status": ["todo", "done"], "assignee_id": [None, editor.pk], "notes": ["", "x"]},
                user=owner.pk,
            ),
            event(
                "checklists.Comment",
                data={"id": 1, "item_id": item.pk, "body": "Renewed **today**"},
                user=editor.pk,
            ),
            event("checklists.Mention", data={"id": 1, "user_id": owner.pk}, user=editor.pk),
            event(
                "planning.DeploymentPlan",
                "update",
                {"id": plan.pk, "archived_at": None},
                {"updated_at": ["a", "b"]},
                command="fix_dates",
            ),
            event("planning.Playbook", data={"id": 3, "name": "TrustStram v4.4"}),
            event("planning.Task", "delete", {"id": task.pk, "title": task.title}),
        ],
        plan_id=plan.pk,
    )
    editor_name = editor.get_full_name()
    assert [entry.sentence for entry in told] == [
        f"Olivia Owens moved '{task.title}' to done, assigned it to {editor_name} and "
        "changed its notes",
        f"{editor_name} commented on '{ITEM}': Renewed **today**",
        f"{editor_name} mentioned Olivia Owens",
        "The system saved the plan with no changes",
        "The system added playbook 'TrustStram v4.4'",
        f"The system removed task '{task.title}'",
    ]
    assert told[1].link == (
        reverse("checklists:item_detail", args=[plan.pk, item.pk]) + "#comments"
    )
    assert (told[3].via, told[3].kind, told[4].kind) == ("command fix_dates", "plan", "")
    assert told[5].link == ""


# The page: who may see it


def test_every_member_sees_the_activity(client_for, plan, viewer, priya):
    with context(user=priya.pk):
        checklist_services.item_set_state(
            item=item_of(plan), actor=priya, state="passed", version=1
        )
    response = activity_page(client_for(viewer), plan)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<strong>Priya Patel</strong>" in body
    assert f"marked &#x27;{ITEM}&#x27; passed" in body
    assert 'aria-current="page">Activity</a>' in body
    assert '<time datetime="' in body and ' UTC">' in body


def test_an_outsider_gets_404_and_anonymous_goes_to_log_in(client_for, plan, outsider):
    url = reverse("planning:activity", args=[plan.pk])
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(outsider).post(url).status_code == 404
    response = client_for(None).get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_answers_get_only(client_for, plan, viewer):
    assert client_for(viewer).post(reverse("planning:activity", args=[plan.pk])).status_code == 405


def test_user_text_is_escaped(client_for, plan, owner, viewer):
    with context(user=owner.pk):
        services.task_update(
            task=task_of(plan), status="blocked", blocked_reason="<script>alert(1)</script>"
        )
    body = activity_page(client_for(viewer), plan).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_a_plan_with_no_events_says_so(client_for, plan, viewer):
    response = activity_page(client_for(viewer), plan, kind="packets")
    assert "Nothing matches these filters." in response.content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            for model in activity.audit.plan_event_models():
                cursor.execute(f'DELETE FROM "{model._meta.db_table}"')
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
    assert (
        "Nothing has happened on this plan yet."
        in activity_page(client_for(viewer), plan).content.decode()
    )


# Filters and pages


def test_it_filters_by_person_and_kind(client_for, plan, owner, viewer, priya):
    with context(user=priya.pk):
        checklist_services.item_set_state(
            item=item_of(plan), actor=priya, state="passed", version=1
        )
        services.task_update(task=task_of(plan), status="done")
    with context(user=owner.pk):
        services.task_update(task=task_of(plan, "Team training"), status="done")
    client = client_for(viewer)
    by_priya = activity_page(client, plan, person=str(priya.pk)).context["entries"]
    assert {e.sentence for e in by_priya} == {
        f"Priya Patel marked '{ITEM}' passed",
        "Priya Patel moved 'Infrastructure audit' to done",
    }
    tasks_by_priya = activity_page(client, plan, person=str(priya.pk), kind="tasks")
    assert [e.sentence for e in tasks_by_priya.context["entries"]] == [
        "Priya Patel moved 'Infrastructure audit' to done"
    ]
    by_system = activity_page(client, plan, person="system").context["entries"]
    assert by_system and all(e.actor == "The system" for e in by_system)


@pytest.mark.parametrize(
    "params, refused",
    [
        ({"person": "abc"}, True),
        ({"person": "999999"}, True),
        ({"person": "1 OR 1=1"}, True),
        ({"kind": "everything'"}, True),
        ({"kind": ["tasks", "nonsense"]}, True),
        ({"page": "-1"}, False),
        ({"page": "99999"}, False),
        ({"page": "x", "person": "", "kind": ""}, False),
    ],
)
def test_bad_filter_values_are_refused_on_the_form_not_with_an_error(
    client_for, plan, viewer, params, refused
):
    response = activity_page(client_for(viewer), plan, **params)
    assert response.status_code == 200
    assert response.context["entries"]
    assert ("this filter is off" in response.content.decode()) is refused


def test_a_valid_filter_still_applies_beside_an_invalid_one(client_for, plan, owner, viewer):
    with context(user=owner.pk):
        services.task_update(task=task_of(plan), status="done")
    response = activity_page(client_for(viewer), plan, person="nobody", kind="tasks")
    assert {e.kind for e in response.context["entries"]} == {"tasks"}
    assert "Choose someone from the list; this filter is off." in response.content.decode()


def test_it_pages_fifty_at_a_time(client_for, plan, viewer):
    client = client_for(viewer)
    first = activity_page(client, plan)
    total = first.context["page"].paginator.count
    assert total > 100  # the fixture's plan is made outside a request: every copy shows
    assert len(first.context["entries"]) == 50
    assert 'rel="next"' in first.content.decode()
    last = activity_page(client, plan, page=first.context["page"].paginator.num_pages)
    assert len(last.context["entries"]) == (total % 50 or 50)
    assert 'rel="prev"' in last.content.decode()


@pytest.mark.django_db(transaction=True)
def test_newest_first_and_the_same_queries_for_ten_times_the_events(client_for, owner):
    with context(user=owner.pk, url="/plans/new/"):
        plan = make_plan(owner)
    items = list(ChecklistItem.objects.filter(plan=plan).order_by("pk"))

    def work(rounds):
        with context(user=owner.pk):
            for n in range(rounds):
                item = items[n % len(items)]
                checklist_services.link_add(item=item, actor=owner, url=f"https://ci.example/{n}")
                version = ChecklistItem.objects.get(pk=item.pk).version
                checklist_services.item_update_note(
                    item=item, actor=owner, note=f"run {n}", version=version
                )
                checklist_services.score_set(
                    plan=plan, actor=owner, category="security", score=1 + n % 10, rationale="x"
                )
                Task.objects.filter(plan=plan).update(notes=f"round {n}")

    client = client_for(owner)
    url = reverse("planning:activity", args=[plan.pk])
    work(1)
    first = client.get(url)
    said = [e.sentence for e in first.context["entries"]]
    assert said[0].startswith("Olivia Owens edited the notes of '")
    order = [
        "Olivia Owens scored Security 1/10: x",
        f"Olivia Owens updated the note on '{items[0].text}'",
        f"Olivia Owens added evidence to '{items[0].text}': https://ci.example/0",
        "Olivia Owens created the plan",
    ]
    assert [said.index(sentence) for sentence in order] == sorted(
        said.index(sentence) for sentence in order
    )
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    work(12)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.context["page"].paginator.count >= 10 * first.context["page"].paginator.count
    assert len(response.context["entries"]) == 50
    assert {e.kind for e in response.context["entries"]} >= {"tasks", "readiness", "checklists"}
    assert len(many) == len(few)
    # Of them, the feed's own: the count and the page (one query across every event table),
    # then one bulk read each for the people, the evidence's items and the readiness categories.
    assert sum('"checklists_checklistitemevent" e' in q["sql"] for q in many) == 2
    assert sum('FROM "auth_user"' in q["sql"] for q in many) == 3  # the user, the filter, people
