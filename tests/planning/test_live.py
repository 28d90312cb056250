"""Live plan pages: the poll answers 304 until the plan or the people looking at it change."""

import pytest
from django.urls import reverse

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from planning import live


def poll(client, plan, etag=None):
    headers = {"If-None-Match": etag} if etag else {}
    return client.get(reverse("planning:live", args=[plan.pk]), headers=headers)


def test_a_change_after_the_page_was_read_reaches_it(client_for, plan, viewer):
    """The page's poller carries the version read before the page read the plan."""
    client = client_for(viewer)
    page = client.get(reverse("planning:plan_detail", args=[plan.pk]))
    version = live.etag_version(page.context["etag"])
    live.bump(plan.pk)  # a change that committed after the page was read
    response = poll(client, plan, page.context["etag"])
    assert version == live.version(plan.pk) - 1
    assert response["HX-Trigger"] == "plan-changed"


def test_nothing_changed_is_a_304_and_a_change_reloads_the_page(
    client_for, plan, editor, viewer, django_capture_on_commit_callbacks
):
    client = client_for(viewer)
    first = poll(client, plan)
    assert first.status_code == 200 and first["Cache-Control"] == "no-store"
    etag = first["ETag"]
    assert poll(client, plan, etag).status_code == 304

    item = ChecklistItem.objects.get(plan=plan, text="Firewall rules configured")
    with django_capture_on_commit_callbacks(execute=True):
        checklist_services.item_set_state(item=item, actor=editor, state="passed", version=1)
    changed = poll(client, plan, etag)
    assert changed.status_code == 200
    assert changed["HX-Trigger"] == "plan-changed"
    assert changed["ETag"] != etag
    assert poll(client, plan, changed["ETag"]).status_code == 304


def test_someone_else_opening_the_plan_shows_them_without_reloading_the_page(
    client_for, plan, editor, viewer
):
    client = client_for(viewer)
    etag = poll(client, plan)["ETag"]
    poll(client_for(editor), plan)
    response = poll(client, plan, etag)
    assert response.status_code == 200
    assert "HX-Trigger" not in response  # the plan did not change, only who is here
    assert "Also looking at this plan" in response.content.decode()
    assert editor.get_full_name() in response.content.decode()


def test_people_who_left_are_no_longer_shown(client_for, plan, editor, viewer):
    import datetime

    import time_machine

    with time_machine.travel(datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)):
        poll(client_for(editor), plan)
        assert editor.get_full_name() in poll(client_for(viewer), plan).content.decode()
    later = datetime.datetime(2026, 11, 2, 9, 0, live.PRESENT_SECONDS + 1, tzinfo=datetime.UTC)
    with time_machine.travel(later):
        assert editor.get_full_name() not in poll(client_for(viewer), plan).content.decode()


def test_the_poll_is_for_members_only(client_for, plan, outsider):
    assert poll(client_for(outsider), plan).status_code == 404
    # Signed out meanwhile: the page reloads itself, and then asks them to sign in.
    response = poll(client_for(None), plan)
    assert response.status_code == 401 and response["HX-Refresh"] == "true"


def test_a_superuser_who_may_open_the_plan_may_poll_it(client_for, plan, outsider):
    outsider.is_superuser = True
    outsider.save()
    assert poll(client_for(outsider), plan).status_code == 200
    plan_id = plan.pk
    plan.delete()
    response = client_for(outsider).get(reverse("planning:live", args=[plan_id]))
    assert response.status_code == 404


def test_the_poll_costs_three_queries(client_for, plan, viewer, django_assert_num_queries):
    client = client_for(viewer)
    etag = poll(client, plan)["ETag"]
    # The user (the session is cached), the plan with the user's permissions, the unread count.
    with django_assert_num_queries(3):
        assert poll(client, plan, etag).status_code == 304


@pytest.mark.parametrize("value", ['"12.abc"', "12.abc", "W/x", "", '"."'])
def test_an_etag_gives_back_its_version_or_nothing(value):
    assert live.etag_version(value) in (12, None)
