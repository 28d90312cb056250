import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from checklists import services
from checklists.models import ChecklistItem
from planning import services as planning_services
from signoffs import snapshot
from tests.factories import make_plan


def item_of(plan, text="DNS records configured") -> ChecklistItem:
    return ChecklistItem.objects.select_related("assignee").get(plan=plan, text=text)


def assign_url(plan, item) -> str:
    return reverse("checklists:item_assign", args=[plan.pk, item.pk])


def detail_url(plan, item) -> str:
    return reverse("checklists:item_detail", args=[plan.pk, item.pk])


def state(plan):
    item = item_of(plan)
    return item.assignee_id, item.version, item.changed_by_id


# The service


def test_it_assigns_a_member_and_records_who_did_it(plan, editor, viewer):
    item = services.item_assign(item=item_of(plan), actor=editor, assignee=viewer, version=1)
    assert (item.assignee, item.version, item.changed_by) == (viewer, 2, editor)
    assert item.changed_at is not None
    event = (
        apps.get_model("checklists", "ChecklistItemEvent")
        .objects.filter(pgh_obj_id=item.pk)
        .latest("pgh_id")
    )
    assert (event.assignee_id, event.changed_by_id) == (viewer.pk, editor.pk)


def test_the_new_assignee_is_notified_with_a_link_to_the_item(plan, editor, viewer):
    from truststream.models import Notification

    item = services.item_assign(item=item_of(plan), actor=editor, assignee=viewer, version=1)
    notification = Notification.objects.get(user=viewer)
    assert notification.kind == "task_assigned"
    assert item.text in notification.text
    assert notification.url == detail_url(plan, item)
    services.item_assign(item=item_of(plan), actor=editor, assignee=editor, version=None)
    assert not Notification.objects.filter(user=editor).exists()  # they took it themselves


def test_assigning_the_same_member_again_changes_nothing(plan, editor, viewer):
    services.item_assign(item=item_of(plan), actor=editor, assignee=viewer, version=1)
    item = services.item_assign(item=item_of(plan), actor=editor, assignee=viewer, version=2)
    assert item.version == 2


def test_it_unassigns(plan, editor, viewer):
    services.item_assign(item=item_of(plan), actor=editor, assignee=viewer, version=None)
    services.item_assign(item=item_of(plan), actor=editor, assignee=None, version=None)
    assert item_of(plan).assignee is None


def test_a_non_member_cannot_be_assigned(plan, editor, outsider):
    with pytest.raises(ValidationError, match="Choose a member of this plan"):
        services.item_assign(item=item_of(plan), actor=editor, assignee=outsider, version=1)
    assert state(plan) == (None, 1, None)


def test_an_assignment_from_an_older_version_is_refused(plan, editor, owner, viewer):
    services.item_set_state(item=item_of(plan), actor=owner, state="passed", version=1)
    with pytest.raises(services.StaleItem):
        services.item_assign(item=item_of(plan), actor=editor, assignee=viewer, version=1)
    assert item_of(plan).assignee is None


def test_an_archived_plan_is_not_assigned(plan, editor, viewer):
    planning_services.plan_archive(plan=plan)
    with pytest.raises(ValidationError, match="archived"):
        services.item_assign(item=item_of(plan), actor=editor, assignee=viewer, version=1)
    assert state(plan) == (None, 1, None)


def test_the_assignee_is_not_part_of_what_is_signed(plan, editor, viewer):
    before = snapshot.sections(plan)
    services.item_assign(item=item_of(plan), actor=editor, assignee=viewer, version=1)
    assert snapshot.sections(plan) == before
    assert snapshot.digest(snapshot.sections(plan)) == snapshot.digest(before)


def test_a_member_who_leaves_is_assignee_of_nothing(plan, owner, editor, viewer, membership_of):
    services.item_assign(item=item_of(plan), actor=editor, assignee=viewer, version=1)
    other = make_plan(owner, title="Other")
    planning_services.membership_add(plan=other, actor=owner, email=viewer.email, role="viewer")
    kept = item_of(other)
    services.item_assign(item=kept, actor=owner, assignee=viewer, version=1)

    planning_services.membership_remove(membership=membership_of(plan, viewer))

    assert item_of(plan).assignee is None
    assert item_of(other).assignee == viewer  # only the plan they left lets go of them


# The item page


@pytest.mark.parametrize("who", ["editor", "owner"])
def test_an_editor_or_owner_assigns_from_the_item_page(client_for, plan, viewer, who, request):
    actor = request.getfixturevalue(who)
    item = item_of(plan)
    client = client_for(actor)
    response = client.post(assign_url(plan, item), {"assignee": viewer.pk, "version": 1})
    assert response.status_code == 302
    assert response["Location"] == detail_url(plan, item)
    assert state(plan) == (viewer.pk, 2, actor.pk)
    body = client.get(detail_url(plan, item)).content.decode()
    assert f"“DNS records configured” is assigned to {escape(viewer.get_full_name())}." in body
    assert f'<option value="{viewer.pk}" selected>' in body


def test_the_checklist_shows_who_an_item_is_assigned_to(client_for, plan, editor, viewer):
    services.item_assign(item=item_of(plan), actor=editor, assignee=viewer, version=1)
    body = client_for(viewer).get(reverse("checklists:checklists", args=[plan.pk])).content.decode()
    assert f"Assigned to {escape(viewer.get_full_name())}" in body


def test_assigning_a_non_member_is_refused_with_a_message(client_for, plan, editor, outsider):
    item = item_of(plan)
    response = client_for(editor).post(
        assign_url(plan, item), {"assignee": outsider.pk, "version": 1}
    )
    assert response.status_code == 400
    assert "Choose a member of this plan." in response.content.decode()
    assert state(plan) == (None, 1, None)


def test_an_assignment_made_from_an_old_page_is_explained(client_for, plan, owner, editor, viewer):
    services.item_set_state(item=item_of(plan), actor=owner, state="failed", version=1)
    response = client_for(editor).post(
        assign_url(plan, item_of(plan)), {"assignee": viewer.pk, "version": 1}
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "Someone else changed this item in the meantime; it is assigned to nobody now." in body
    assert 'name="version" value="2"' in body  # choosing again goes through
    assert state(plan) == (None, 2, owner.pk)


def test_only_editors_and_owners_see_the_assignment_form(client_for, plan, viewer, editor):
    item = item_of(plan)
    assert 'name="assignee"' not in client_for(viewer).get(detail_url(plan, item)).content.decode()
    assert 'name="assignee"' in client_for(editor).get(detail_url(plan, item)).content.decode()


def test_a_viewer_cannot_assign(client_for, plan, viewer):
    item = item_of(plan)
    response = client_for(viewer).post(
        assign_url(plan, item), {"assignee": viewer.pk, "version": 1}
    )
    assert response.status_code == 403
    assert state(plan) == (None, 1, None)


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_outsider_gets_404(client_for, plan, outsider, method):
    item = item_of(plan)
    response = getattr(client_for(outsider), method)(
        assign_url(plan, item), {"assignee": outsider.pk, "version": 1}
    )
    assert response.status_code == 404
    assert state(plan) == (None, 1, None)


def test_anonymous_is_sent_to_log_in(client_for, plan):
    response = client_for(None).post(assign_url(plan, item_of(plan)), {"version": 1})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_wrong_method_gets_405(client_for, plan, editor):
    assert client_for(editor).get(assign_url(plan, item_of(plan))).status_code == 405


def test_another_plans_item_is_404(client_for, plan, owner, outsider):
    foreign = item_of(make_plan(outsider, title="Other"))
    response = client_for(owner).post(
        reverse("checklists:item_assign", args=[plan.pk, foreign.pk]),
        {"assignee": owner.pk, "version": 1},
    )
    assert response.status_code == 404
    assert ChecklistItem.objects.get(pk=foreign.pk).assignee is None
