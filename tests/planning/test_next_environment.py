"""Planning the next environment: the new plan copied from this one (planning's part; the
checklists' carry-over is in tests/checklists/test_carry.py)."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from planning import services
from planning.models import DeploymentPlan, PlanMembership
from tests.factories import UserFactory, make_plan

NEW_START = datetime.date(2026, 12, 7)  # five weeks after the shared plan's week 1


def plan_next(plan, user, **fields):
    return services.plan_create_next(plan=plan, user=user, **{"week1_start": NEW_START, **fields})


def test_the_next_plan_is_for_the_next_environment_and_linked(plan, editor):
    new = plan_next(plan, editor)
    assert (new.environment, new.previous_plan_id) == ("production", plan.pk)
    assert (new.title, new.release_version, new.playbook_id) == (
        plan.title,
        plan.release_version,
        plan.playbook_id,
    )
    assert new.status == DeploymentPlan.Status.DRAFT
    assert list(plan.next_plans.all()) == [new]
    # Same distance from week 1 to go-live as the staging plan: 28 days.
    assert new.target_go_live == NEW_START + datetime.timedelta(days=28)
    development = make_plan(editor, environment="development")
    assert plan_next(development, editor).environment == "staging"


def test_the_four_weeks_move_with_week_1_and_every_task_starts_again(plan, owner, editor):
    task = plan.tasks.order_by("id").first()
    services.task_update(
        task=task, status="blocked", blocked_reason="Waiting", assignee=editor, notes="See runbook"
    )
    services.task_update(task=plan.tasks.order_by("id")[1], status="done")
    services.task_create(phase=plan.phases.get(number=2), title="Extra check", group="Extra")

    new = plan_next(plan, owner)

    shift = NEW_START - plan.week1_start
    assert [(p.number, p.title, p.starts_on, p.ends_on) for p in new.phases.all()] == [
        (p.number, p.title, p.starts_on + shift, p.ends_on + shift) for p in plan.phases.all()
    ]
    old = list(plan.tasks.order_by("phase__number", "position", "id"))
    copied = list(new.tasks.order_by("phase__number", "position", "id"))
    assert [(t.phase.number, t.group, t.title) for t in copied] == [
        (t.phase.number, t.group, t.title) for t in old
    ]
    assert {t.status for t in copied} == {"todo"}
    assert {t.blocked_reason for t in copied} == {""}
    assert [t.due_on for t in copied] == [t.due_on + shift for t in old]
    first = new.tasks.get(title=task.title, phase__number=task.phase.number)
    assert (first.assignee, first.notes) == (editor, "See runbook")
    assert new.tasks.filter(title="Extra check").exists()


def test_requirements_register_and_contacts_are_copied(plan, owner, editor):
    spec = plan.requirements.get(kind="infrastructure")
    values = spec.values
    values["compute"]["cpu_cores"] = 64
    services.requirement_update(spec=spec, values=values)
    document = plan.documents.get(key="disaster-recovery-planning")
    services.document_update(
        document=document, status="approved", owner=editor, link="https://wiki.example/dr"
    )
    services.contact_create(plan=plan, topic="On call", name="Pager", email="pager@example.com")

    new = plan_next(plan, owner)

    assert new.requirements.get(kind="infrastructure").values["compute"]["cpu_cores"] == 64
    assert list(new.requirements.values_list("kind", "values").order_by("id")) == list(
        plan.requirements.values_list("kind", "values").order_by("id")
    )
    copy = new.documents.get(key="disaster-recovery-planning")
    assert (copy.status, copy.owner, copy.link) == ("approved", editor, "https://wiki.example/dr")
    # Each environment's own document is in scope in that environment's plan only.
    assert new.documents.get(key="staging-environment").status == "not_applicable"
    assert new.documents.get(key="production-environment").status == "not_started"
    assert list(new.support_contacts.values_list("topic", "email")) == list(
        plan.support_contacts.values_list("topic", "email")
    )


def test_members_keep_their_roles_and_the_creator_owns_the_new_plan(
    plan, owner, editor, viewer, client_for
):
    gone = UserFactory(username="gone")
    services.membership_add(plan=plan, actor=owner, email=gone.email, role="editor")
    gone.is_active = False
    gone.save()
    services.invitation_create(plan=plan, actor=owner, email="ivy@example.com", role="viewer")

    new = plan_next(plan, editor)

    roles = dict(new.memberships.values_list("user__username", "role"))
    assert roles == {"olivia": "owner", "eddie": "owner", "vera": "viewer"}
    assert not new.invitations.exists()
    # The permissions follow the memberships, as for any plan.
    assert client_for(viewer).get(reverse("planning:plan_detail", args=[new.pk])).status_code == 200
    assert client_for(viewer).get(reverse("planning:plan_edit", args=[new.pk])).status_code == 403


def test_approvals_role_holders_and_scores_are_not_carried(plan, owner, holders):
    from checklists import services as checklist_services
    from signoffs import snapshot
    from tests.signoffs.test_signoffs import sign

    checklist_services.score_set(
        plan=plan, actor=owner, category="security", score=9, rationale="Pen test clean"
    )
    sign(plan, "technical_lead", holders["technical_lead"])
    signed = snapshot.digest(snapshot.sections(plan))
    new = plan_next(plan, owner)
    # Nothing signed on the previous plan changed, and its signature stays there.
    assert snapshot.digest(snapshot.sections(plan)) == signed
    assert plan.signoffs.count() == 1
    assert not new.signoffs.exists()
    assert new.roles.count() == plan.roles.count()
    assert not new.roles.filter(assignee__isnull=False).exists()
    assert not new.readiness_scores.exists()
    assert not new.comments.exists()


def test_a_production_plan_has_no_next_environment(owner):
    production = make_plan(owner, environment="production")
    with pytest.raises(ValidationError, match="production plan has no next environment"):
        plan_next(production, owner)
    assert DeploymentPlan.objects.count() == 1


def test_an_archived_plan_is_restored_first(plan, owner):
    services.plan_archive(plan=plan)
    with pytest.raises(ValidationError, match="archived"):
        plan_next(plan, owner)


def test_one_next_plan_in_play_at_a_time(plan, owner):
    first = plan_next(plan, owner)
    with pytest.raises(ValidationError, match="production plan of this plan exists already"):
        plan_next(plan, owner)
    # Once that one is archived, the next environment can be planned again.
    services.plan_archive(plan=first)
    second = plan_next(plan, owner)
    assert set(plan.next_plans.all()) == {first, second}


@pytest.mark.django_db(transaction=True)
def test_two_people_planning_the_next_environment_at_once_make_one_plan(plan, owner, editor):
    """The previous plan's lock serialises them: one makes the plan, the other is told."""
    barrier = threading.Barrier(2)
    outcomes = {}

    def make(person):
        try:
            barrier.wait(timeout=10)
            plan_next(plan, person)
            outcomes[person.username] = "made"
        except ValidationError as refused:
            outcomes[person.username] = " ".join(refused.messages)
        finally:
            connection.close()

    threads = [threading.Thread(target=make, args=(who,)) for who in (owner, editor)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    made = [who for who, outcome in outcomes.items() if outcome == "made"]
    told = [outcome for outcome in outcomes.values() if outcome != "made"]
    assert len(made) == 1
    assert len(told) == 1 and "exists already" in told[0]
    assert plan.next_plans.count() == 1


def test_a_go_live_before_week_1_is_refused_and_nothing_is_made(plan, owner):
    with pytest.raises(ValidationError):
        plan_next(plan, owner, target_go_live=NEW_START - datetime.timedelta(days=1))
    assert not plan.next_plans.exists()


# The page


def url(plan):
    return reverse("planning:plan_next", args=[plan.pk])


@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("editor", 200), ("viewer", 403)])
def test_who_may_open_the_form(client_for, plan, request, who, status):
    assert client_for(request.getfixturevalue(who)).get(url(plan)).status_code == status


def test_an_outsider_gets_404_and_anonymous_logs_in(client_for, plan, outsider):
    assert client_for(outsider).post(url(plan), {"week1_start": "2026-12-07"}).status_code == 404
    response = client_for(None).post(url(plan), {"week1_start": "2026-12-07"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not plan.next_plans.exists()


@pytest.mark.parametrize("who", ["owner", "editor"])
def test_an_owner_or_editor_plans_the_next_environment(client_for, plan, request, who):
    person = request.getfixturevalue(who)
    response = client_for(person).post(url(plan), {"week1_start": "2026-12-07"})
    new = plan.next_plans.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("planning:plan_detail", args=[new.pk])
    assert new.memberships.get(user=person).role == PlanMembership.Role.OWNER
    page = client_for(person).get(response["Location"]).content.decode()
    assert "Made from" in page
    assert reverse("checklists:compare", args=[new.pk]) in page
    before = client_for(person).get(reverse("planning:plan_detail", args=[plan.pk]))
    assert "Planned next" in before.content.decode()
    assert "Plan the next environment" not in before.content.decode()


def test_the_viewer_sees_no_button_and_the_editor_does(client_for, plan, viewer, editor):
    detail = reverse("planning:plan_detail", args=[plan.pk])
    assert "Plan the next environment" not in client_for(viewer).get(detail).content.decode()
    assert url(plan) in client_for(editor).get(detail).content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"week1_start": "2026-13-45"}, "week1_start", "Enter a valid date."),
        ({"week1_start": ""}, "week1_start", "This field is required."),
        ({"week1_start": "9999-12-31"}, "week1_start", "Enter a date before 2101."),
        (
            {"week1_start": "2026-12-07", "target_go_live": "2026-12-01"},
            "target_go_live",
            "cannot be before week 1",
        ),
    ],
)
def test_bad_dates_are_shown_on_the_form(client_for, plan, owner, data, field, message):
    response = client_for(owner).post(url(plan), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert field in response.context["form"].errors
    assert not plan.next_plans.exists()


def test_a_production_plan_offers_nothing_and_refuses_the_post(client_for, owner):
    production = make_plan(owner, environment="production")
    detail = client_for(owner).get(reverse("planning:plan_detail", args=[production.pk]))
    assert url(production) not in detail.content.decode()
    response = client_for(owner).post(url(production), {"week1_start": "2026-12-07"})
    assert response.status_code == 400
    assert "A production plan has no next environment." in response.content.decode()
    assert DeploymentPlan.objects.count() == 1


def test_a_second_next_plan_is_refused_on_the_page(client_for, plan, owner):
    client = client_for(owner)
    client.post(url(plan), {"week1_start": "2026-12-07"})
    response = client.post(url(plan), {"week1_start": "2026-12-14"})
    assert response.status_code == 400
    assert "exists already" in response.content.decode()
    assert plan.next_plans.count() == 1


def test_the_creation_is_in_the_audit_trail_and_the_activity(client_for, plan, owner):
    client_for(owner).post(url(plan), {"week1_start": "2026-12-07"})
    new = plan.next_plans.get()
    event = DeploymentPlan.pgh_event_model.objects.get(pgh_obj_id=new.pk, pgh_label="insert")
    assert event.previous_plan_id == plan.pk
    assert event.pgh_context.metadata["user"] == owner.pk
    feed = client_for(owner).get(reverse("planning:activity", args=[new.pk])).content.decode()
    assert "created the plan for production from the plan of the previous environment" in feed
