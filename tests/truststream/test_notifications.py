"""Notifications: made as each person chose, emailed at once or in a daily digest, read under
the bell; and the changes that make them (mentions, tasks, roles, packets)."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from checklists import comments
from planning import services as planning_services
from signoffs import services as signoff_services
from signoffs.status import plan_transition
from tests.conftest import wait_for
from tests.factories import make_plan
from truststream import services, tasks
from truststream.models import Notification, NotificationKind, NotificationPreference

UTC = datetime.UTC
KINDS = NotificationKind.values


def send(user, key="event:1", kind="mention", text="Olivia mentioned you", url="/plans/", **kw):
    return services.notification_send(user=user, kind=kind, key=key, text=text, url=url, **kw)


def prefer(user, **choices):
    services.notification_preferences_set(user=user, choices=choices)


def at(year, month, day, hour=9, minute=0):
    return time_machine.travel(
        datetime.datetime(year, month, day, hour, minute, tzinfo=UTC), tick=False
    )


@pytest.fixture
def run_tasks_inline(monkeypatch):
    """`.delay` runs the task here and now, as the worker would once the change commits."""
    monkeypatch.setattr(tasks.notification_email, "delay", tasks.notification_email)


# Made as the person chose


def test_immediately_means_an_email_through_the_worker_once_committed(
    editor, run_tasks_inline, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks() as callbacks:
        notification = send(editor, text="Olivia mentioned you on the plan", url="/plans/7/#c-1")
    assert len(callbacks) == 1 and mailoutbox == []  # nothing goes out before the commit

    callbacks[0]()
    [message] = mailoutbox
    assert message.to == [editor.email]
    assert message.subject == "[TrustStram] Olivia mentioned you on the plan"
    assert "http://127.0.0.1:8000/plans/7/#c-1" in message.body
    assert "http://127.0.0.1:8000/accounts/notifications/" in message.body
    notification.refresh_from_db()
    assert (notification.delivery, notification.emailed_at is not None) == ("immediately", True)

    tasks.notification_email(notification.pk)  # the message came back: no second email
    assert len(mailoutbox) == 1


def test_a_kind_with_its_own_subject_heads_the_email_with_it(editor, mailoutbox):
    notification = send(
        editor,
        kind="approval_expiring",
        text="Your approval of Checkout as Technical Lead expires on 04 Dec 2026 09:00 UTC, …",
        subject="Your approval of Checkout expires on 04 Dec 2026",
    )
    tasks.notification_email(notification.pk)
    [message] = mailoutbox
    assert message.subject == "[TrustStram] Your approval of Checkout expires on 04 Dec 2026"
    assert "expires on 04 Dec 2026 09:00 UTC" in message.body


def test_approval_expiry_warnings_have_a_choice_of_their_own(client_for, editor):
    text = client_for(editor).get(settings_url()).content.decode()
    assert "An approval of yours expires in three days" in text
    prefer(editor, approval_expiring="never", signature_stale="immediately")
    assert send(editor, kind="approval_expiring") is None
    assert send(editor, key="other", kind="signature_stale") is not None


def test_an_email_that_failed_is_sent_when_the_task_is_retried(editor, monkeypatch, mailoutbox):
    notification = send(editor)
    real_send_mail = tasks.send_mail

    def broken(**kwargs):
        raise ConnectionRefusedError("the mail server is down")

    monkeypatch.setattr(tasks, "send_mail", broken)
    with pytest.raises(OSError):
        tasks.notification_email(notification.pk)
    notification.refresh_from_db()
    assert notification.emailed_at is None

    monkeypatch.setattr(tasks, "send_mail", real_send_mail)
    tasks.notification_email(notification.pk)  # the retry
    assert [m.to for m in mailoutbox] == [[editor.email]]


def test_the_email_task_leaves_digest_and_missing_notifications_alone(editor, mailoutbox):
    prefer(editor, mention="daily")
    notification = send(editor)
    tasks.notification_email(notification.pk)
    tasks.notification_email(notification.pk + 1000)
    assert mailoutbox == []
    notification.refresh_from_db()
    assert notification.emailed_at is None


def test_daily_means_one_digest_email_a_day_listing_all_that_waited(
    editor, viewer, owner, django_capture_on_commit_callbacks, mailoutbox
):
    prefer(editor, mention="daily", task_assigned="daily")
    prefer(viewer, mention="daily")
    with django_capture_on_commit_callbacks() as callbacks:
        with at(2026, 11, 3, 8, 15):
            send(editor, key="a", text="Olivia mentioned you on the plan", url="/plans/1/#c-1")
        with at(2026, 11, 3, 16, 40):
            send(editor, key="b", kind="task_assigned", text="Olivia gave you a task", url="/b/")
            send(viewer, key="c", text="Eddie mentioned you", url="/plans/1/#c-2")
    assert callbacks == []  # nothing is emailed at once
    send(editor, key="d", kind="role_assigned", text="You are Technical Lead", url="/d/")
    send(owner, key="e", text="Vera mentioned you", url="/e/")  # immediate ones are not in it

    with at(2026, 11, 4, 6, 0):
        tasks.notifications_digest()

    assert sorted(m.to[0] for m in mailoutbox) == sorted([editor.email, viewer.email])
    [digest] = [m for m in mailoutbox if m.to == [editor.email]]
    assert digest.subject == "[TrustStram] Your daily digest: 2 notifications"
    assert "03 Nov 08:15 UTC: Olivia mentioned you on the plan" in digest.body
    assert "http://127.0.0.1:8000/plans/1/#c-1" in digest.body
    assert "03 Nov 16:40 UTC: Olivia gave you a task" in digest.body
    assert digest.body.index("08:15") < digest.body.index("16:40")
    assert "Technical Lead" not in digest.body
    [other] = [m for m in mailoutbox if m.to == [viewer.email]]
    assert other.subject == "[TrustStram] Your daily digest: 1 notification"
    assert "Eddie mentioned you" in other.body and "Olivia" not in other.body

    with at(2026, 11, 5, 6, 0):
        tasks.notifications_digest()
    assert len(mailoutbox) == 2  # each one goes out in one digest only

    with at(2026, 11, 5, 10, 0):
        send(editor, key="f", text="Vera mentioned you")
    with at(2026, 11, 6, 6, 0):
        tasks.notifications_digest()
    assert len(mailoutbox) == 3
    assert "Vera mentioned you" in mailoutbox[-1].body
    assert "Olivia" not in mailoutbox[-1].body


def test_never_means_nothing_is_made(editor, django_capture_on_commit_callbacks, mailoutbox):
    prefer(editor, mention="never")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert send(editor) is None
    assert callbacks == [] and mailoutbox == []
    assert not Notification.objects.exists()
    assert send(editor, kind="task_assigned") is not None  # other kinds still come


def test_the_same_event_is_told_once(editor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = send(editor, key="task:3:overdue:2026-11-08")
        again = send(editor, key="task:3:overdue:2026-11-08", text="Told again?")
    assert first is not None and again is None
    assert len(callbacks) == 1
    assert list(Notification.objects.values_list("text", flat=True)) == ["Olivia mentioned you"]


def test_how_it_is_delivered_is_fixed_when_it_is_made(editor, mailoutbox):
    prefer(editor, mention="daily")
    send(editor, key="a")
    prefer(editor, mention="never")
    tasks.notifications_digest()
    assert len(mailoutbox) == 1  # it was made for the digest, so it goes in the digest


def test_preferences_are_set_all_or_nothing(editor):
    prefer(editor, mention="daily")
    for choices in ({"mention": "never", "task_overdue": "weekly"}, {"gossip": "never"}):
        with pytest.raises(ValidationError):
            services.notification_preferences_set(user=editor, choices=choices)
    assert dict(
        NotificationPreference.objects.filter(user=editor).values_list("kind", "delivery")
    ) == {"mention": "daily"}


# Under the bell


def notifications_url():
    return reverse("notifications")


def open_url(notification):
    return reverse("notification_open", args=[notification.pk])


def bell(text: str) -> str:
    found = re.search(r'<a id="bell"[^>]*>(.*?)</a>', text, re.S)
    assert found, "no bell on the page"
    return re.sub(r"<[^>]+>", "", found.group(1))


def test_the_bell_counts_the_unread_on_every_page(client_for, plan, editor, viewer):
    for n in range(3):
        send(editor, key=f"k{n}")
    services.notifications_mark_read(user=editor, ids=[Notification.objects.first().pk])
    send(viewer, key="v")

    client = client_for(editor)
    for page in (
        reverse("planning:plan_list"),
        reverse("planning:plan_detail", args=[plan.pk]),
        notifications_url(),
    ):
        assert bell(client.get(page).content.decode()) == "Notifications 2 unread"
    services.notifications_mark_read(user=editor)
    assert bell(client.get(reverse("planning:plan_list")).content.decode()) == "Notifications"


def test_the_bell_costs_one_query_however_many(client_for, editor):
    client = client_for(editor)
    page = reverse("planning:plan_list")
    client.get(page)
    with CaptureQueriesContext(connection) as none:
        client.get(page)
    for n in range(40):
        send(editor, key=f"k{n}")
    with CaptureQueriesContext(connection) as many:
        text = client.get(page).content.decode()
    assert bell(text) == "Notifications 40 unread"
    assert len(many) == len(none)


def test_the_list_shows_ones_own_newest_first_with_the_unread_marked(client_for, editor, viewer):
    with at(2026, 11, 3, 9):
        older = send(editor, key="a", text="The older one")
    with at(2026, 11, 3, 10):
        send(editor, key="b", text="The newer one")
    send(viewer, key="c", text="Vera's own")
    services.notifications_mark_read(user=editor, ids=[older.pk])

    text = client_for(editor).get(notifications_url()).content.decode()
    assert text.index("The newer one") < text.index("The older one")
    assert "Vera&#x27;s own" not in text and "Vera's own" not in text
    assert text.count('<span class="badge">New</span>') == 1
    assert "Someone mentions you" in text
    assert "Mark all read" in text


def test_the_text_is_shown_as_text(client_for, editor):
    send(editor, text="Olivia gave you the task “<script>alert(1)</script>”")
    text = client_for(editor).get(notifications_url()).content.decode()
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_an_empty_list_says_what_will_come(client_for, editor):
    text = client_for(editor).get(notifications_url()).content.decode()
    assert "Nothing yet." in text and "Mark all read" not in text


def test_the_list_comes_in_pages_at_a_fixed_cost(client_for, editor):
    client = client_for(editor)
    for n in range(3):
        send(editor, key=f"k{n}", text=f"Event number {n}")
    with CaptureQueriesContext(connection) as few:
        client.get(notifications_url())
    for n in range(3, 35):
        send(editor, key=f"k{n}", text=f"Event number {n}")
    with CaptureQueriesContext(connection) as many:
        first = client.get(notifications_url()).content.decode()
    assert len(many) == len(few)

    assert first.count("Event number") == 30 and "Page 1 of 2" in first
    second = client.get(notifications_url(), {"page": 2}).content.decode()
    assert [int(n) for n in re.findall(r"Event number (\d+)", second)] == [4, 3, 2, 1, 0]


def test_opening_one_marks_it_read_and_goes_to_the_thing(client_for, editor):
    notification = send(editor, url="/plans/5/tasks/9/#comment-3")
    other = send(editor, key="other")
    response = client_for(editor).post(open_url(notification))

    assert response.status_code == 302
    assert response["Location"] == "/plans/5/tasks/9/#comment-3"
    notification.refresh_from_db()
    other.refresh_from_db()
    assert notification.read_at is not None and other.read_at is None


@pytest.mark.parametrize(
    "url",
    ["https://evil.example/phish", "//evil.example/phish", "javascript:alert(1)", "plans/5/", ""],
)
def test_a_url_that_is_not_our_own_path_is_not_followed(client_for, editor, url):
    notification = send(editor, url=url)
    response = client_for(editor).post(open_url(notification))
    assert response.status_code == 302
    assert response["Location"] == notifications_url()


def test_a_backslash_does_not_lead_off_the_site(client_for, editor):
    # Browsers read a backslash after the first slash as a slash ("//host": another site).
    notification = send(editor, url="/\\evil.example/phish")
    location = client_for(editor).post(open_url(notification))["Location"]
    assert url_has_allowed_host_and_scheme(location, allowed_hosts={"testserver"})
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert "\\" not in location


def test_opening_needs_a_post(client_for, editor):
    notification = send(editor)
    assert client_for(editor).get(open_url(notification)).status_code == 405
    notification.refresh_from_db()
    assert notification.read_at is None


def test_another_persons_notification_is_not_found(client_for, editor, viewer):
    notification = send(viewer)
    assert client_for(editor).post(open_url(notification)).status_code == 404
    assert client_for(editor).post(reverse("notification_open", args=[999999])).status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_read_marks_only_ones_own(client_for, editor, viewer):
    send(editor, key="a")
    send(editor, key="b")
    theirs = send(viewer, key="c")
    response = client_for(editor).post(reverse("notifications_read_all"), follow=True)

    assert response.redirect_chain == [(notifications_url(), 302)]
    assert "2 notifications marked read." in response.content.decode()
    assert not Notification.objects.filter(user=editor, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert bell(response.content.decode()) == "Notifications"


def test_anonymous_is_sent_to_log_in(client_for, editor):
    notification = send(editor)
    client = client_for(None)
    for method, url in (
        ("get", notifications_url()),
        ("post", open_url(notification)),
        ("post", reverse("notifications_read_all")),
        ("get", reverse("notification_settings")),
        ("post", reverse("notification_settings")),
    ):
        response = getattr(client, method)(url, {k: "never" for k in KINDS})
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login"))
    notification.refresh_from_db()
    assert notification.read_at is None
    assert not NotificationPreference.objects.exists()


# Choosing how one hears of things


def settings_url():
    return reverse("notification_settings")


def test_the_settings_page_shows_each_kind_with_the_current_choice(client_for, editor):
    prefer(editor, task_overdue="daily")
    text = client_for(editor).get(settings_url()).content.decode()
    for label in NotificationKind.labels:
        assert label in text
    selected = dict(
        re.findall(r'<select name="(\w+)".*?<option value="(\w+)" selected>', text, flags=re.S)
    )
    assert selected == {
        kind: "daily" if kind == "task_overdue" else "immediately" for kind in KINDS
    }


def test_the_settings_are_saved(client_for, editor):
    choices = {kind: "immediately" for kind in KINDS} | {
        "mention": "daily",
        "packet_ready": "never",
    }
    response = client_for(editor).post(settings_url(), choices, follow=True)

    assert response.redirect_chain == [(settings_url(), 302)]
    assert "Your notification settings are saved." in response.content.decode()
    assert (
        dict(NotificationPreference.objects.filter(user=editor).values_list("kind", "delivery"))
        == choices
    )
    assert send(editor, kind="packet_ready") is None


@pytest.mark.parametrize("bad", ["weekly", "", "NEVER"])
def test_an_unknown_choice_is_refused_and_nothing_changes(client_for, editor, bad):
    prefer(editor, mention="daily")
    choices = {kind: "never" for kind in KINDS} | {"task_assigned": bad}
    response = client_for(editor).post(settings_url(), choices)

    assert response.status_code == 400
    text = response.content.decode()
    assert "Select a valid choice." in text or "This field is required." in text
    assert "saved" not in text
    assert dict(
        NotificationPreference.objects.filter(user=editor).values_list("kind", "delivery")
    ) == {"mention": "daily"}


def test_the_settings_need_the_csrf_token(client_for, editor):
    response = client_for(editor, send_token=False).post(
        settings_url(), {kind: "never" for kind in KINDS}
    )
    assert response.status_code == 403
    assert not NotificationPreference.objects.exists()


# What makes them: mentions


def test_a_mention_reaches_the_member_by_email_through_the_worker(
    celery_worker, client_for, plan, owner, editor
):
    client_for(owner).post(
        reverse("checklists:comment_add", args=[plan.pk]),
        {"target": "plan", "body": "@eddie can you confirm the DNS change?"},
    )
    comment = plan.comments.get()

    def told():
        return [m for m in mail.outbox if m.to == [editor.email] and "mentioned" in m.subject]

    [message] = wait_for(told)
    assert message.subject == (
        "[TrustStram] Olivia Owens mentioned you on the plan “Checkout service rollout”"
    )
    assert f"http://127.0.0.1:8000/plans/{plan.pk}/#comment-{comment.pk}" in message.body
    # The email leaves before the worker's transaction that records it commits.
    wait_for(lambda: Notification.objects.get(user=editor).emailed_at is not None)


def test_a_mention_opened_from_the_bell_leads_to_the_comment(client_for, plan, owner, editor):
    comment = comments.comment_add(plan=plan, author=owner, body="@eddie over to you")
    client = client_for(editor)
    [notification] = Notification.objects.filter(user=editor, kind="mention")
    response = client.post(open_url(notification))
    assert response["Location"] == reverse("planning:plan_detail", args=[plan.pk]) + (
        f"#comment-{comment.pk}"
    )
    assert f'id="comment-{comment.pk}"' in client.get(response["Location"]).content.decode()


# What makes them: tasks


def task_of(plan, title="Infrastructure audit"):
    return plan.tasks.get(title=title)


def task_form(plan, item, **changes):
    """The task page's form as posted, with `changes` (the board tests post it the same way)."""
    from tests.planning.test_board import _edit

    return _edit(plan, item, **changes)


def assigned(user):
    return Notification.objects.filter(user=user, kind="task_assigned")


def test_giving_someone_a_task_on_the_board_tells_them(client_for, plan, editor, viewer):
    item = task_of(plan)
    url, data = task_form(plan, item, assignee=viewer.pk)
    assert client_for(editor).post(url, data).status_code == 302

    [notification] = assigned(viewer)
    assert notification.plan_id == plan.pk
    assert notification.url == reverse("planning:board", args=[plan.pk]) + f"#task-{item.pk}"
    assert notification.text.startswith(
        f"{editor.get_full_name()} gave you the task “Infrastructure audit”"
    )
    assert "due 08 Nov 2026" in notification.text
    assert not assigned(editor).exists()

    url, data = task_form(plan, task_of(plan), notes="Saved again, same assignee")
    client_for(editor).post(url, data)
    assert assigned(viewer).count() == 1


def test_taking_a_task_oneself_tells_nobody(client_for, plan, editor):
    url, data = task_form(plan, task_of(plan), assignee=editor.pk)
    assert client_for(editor).post(url, data).status_code == 302
    assert task_of(plan).assignee == editor
    assert not Notification.objects.filter(kind="task_assigned").exists()


def test_passing_a_task_on_tells_the_new_assignee(client_for, plan, owner, editor, viewer):
    client = client_for(owner)
    client.post(*task_form(plan, task_of(plan), assignee=viewer.pk))
    with time_machine.travel(datetime.timedelta(minutes=5)):
        client.post(*task_form(plan, task_of(plan), assignee=editor.pk))
        client.post(*task_form(plan, task_of(plan), assignee=""))
    assert (assigned(viewer).count(), assigned(editor).count()) == (1, 1)
    assert assigned(editor).get().text.startswith("Olivia Owens gave you the task")


def test_a_task_made_with_an_assignee_tells_them_unless_they_made_it(plan, owner, editor):
    phase = plan.phases.get(number=2)
    planning_services.task_create(
        phase=phase, title="Chaos drill", group="Ops", assignee=editor, actor=owner
    )
    planning_services.task_create(
        phase=phase, title="Own drill", group="Ops", assignee=editor, actor=editor
    )
    [notification] = assigned(editor)
    assert "“Chaos drill”" in notification.text


def overdue(user):
    return Notification.objects.filter(user=user, kind="task_overdue")


def test_assignees_of_overdue_open_tasks_are_told_once(plan, owner, editor, viewer):
    audit_task, inventory, baseline = (
        task_of(plan, title)
        for title in ("Infrastructure audit", "Application inventory", "Performance baseline")
    )
    planning_services.task_update(task=audit_task, assignee=editor)
    planning_services.task_update(
        task=inventory, assignee=editor, status="blocked", blocked_reason="Waiting for access"
    )
    planning_services.task_update(task=baseline, assignee=viewer, status="done")
    archived = make_plan(owner, title="Payments rollout")
    planning_services.task_update(task=task_of(archived), assignee=owner)
    planning_services.plan_archive(plan=archived)
    cancelled = make_plan(owner, title="Search rollout")
    planning_services.task_update(task=task_of(cancelled), assignee=owner)
    plan_transition(plan=cancelled, to="cancelled", actor_can={"change", "manage"})

    assert planning_services.overdue_notify(today=datetime.date(2026, 11, 8)) == 0  # due today
    assert planning_services.overdue_notify(today=datetime.date(2026, 11, 9)) == 2
    assert sorted(n.text for n in overdue(editor)) == [
        "Your task “Application inventory” on Checkout service rollout 4.4.0 was due 08 Nov 2026",
        "Your task “Infrastructure audit” on Checkout service rollout 4.4.0 was due 08 Nov 2026",
    ]
    assert overdue(editor).first().url.startswith(reverse("planning:board", args=[plan.pk]))
    assert not overdue(viewer).exists() and not overdue(owner).exists()

    assert planning_services.overdue_notify(today=datetime.date(2026, 11, 10)) == 0
    assert overdue(editor).count() == 2


def test_a_task_given_a_new_date_that_passes_too_is_told_again(plan, editor):
    item = task_of(plan)
    planning_services.task_update(task=item, assignee=editor)
    planning_services.overdue_notify(today=datetime.date(2026, 11, 9))
    planning_services.task_update(task=item, due_on=datetime.date(2026, 11, 12))
    assert planning_services.overdue_notify(today=datetime.date(2026, 11, 10)) == 0
    assert planning_services.overdue_notify(today=datetime.date(2026, 11, 13)) == 1
    assert overdue(editor).count() == 2


def test_the_daily_overdue_task_runs_the_service(plan, editor):
    from planning.tasks import overdue_notify

    planning_services.task_update(task=task_of(plan), assignee=editor)
    with at(2026, 11, 20):
        overdue_notify()
    assert overdue(editor).count() == 1


# What makes them: approval roles and packets


def test_a_role_given_to_someone_tells_them(plan, editor, viewer):
    requirement = plan.roles.get(role="technical_lead")
    signoff_services.role_assign(requirement=requirement, assignee=editor)
    signoff_services.role_assign(requirement=requirement, assignee=editor)  # no change

    [notification] = Notification.objects.filter(user=editor)
    assert notification.kind == "role_assigned"
    assert notification.text.startswith("You are Technical Lead for Checkout service rollout")
    assert notification.url == reverse("signoffs:signoffs", args=[plan.pk])
    assert notification.plan_id == plan.pk

    signoff_services.role_assign(requirement=requirement, assignee=None)
    assert Notification.objects.count() == 1


def test_the_role_holders_are_each_told(plan, holders):
    for person in holders.values():
        assert Notification.objects.filter(user=person, kind="role_assigned").count() == 1


def test_a_rendered_packet_tells_the_person_who_asked_for_it(plan, owner, editor):
    packet = signoff_services.packet_request(plan=plan, requested_by=owner, kind="draft")
    assert not Notification.objects.filter(kind="packet_ready").exists()

    signoff_services.packet_render(packet_id=packet.pk)
    signoff_services.packet_render(packet_id=packet.pk)  # the message came back

    [notification] = Notification.objects.filter(kind="packet_ready")
    assert notification.user == owner
    assert notification.url == reverse("signoffs:packet_list", args=[plan.pk])
    assert notification.text == (
        "Readiness packet revision 1 (draft) of Checkout service rollout 4.4.0 is ready"
    )
    assert not Notification.objects.filter(user=editor).exists()
