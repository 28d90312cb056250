"""Comment threads on a plan, its tasks and its checklist items, and the @mentions in them."""

import datetime
import re

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checklists import comments
from checklists.models import ChecklistItem, Comment, Mention
from planning import services as planning_services
from tests.factories import UserFactory, make_plan
from truststream import audit
from truststream.models import Notification

HTMX = {"HX-Request": "true"}


def task_of(plan, title="Infrastructure audit"):
    return plan.tasks.get(title=title)


def item_of(plan, text="DNS records configured") -> ChecklistItem:
    return ChecklistItem.objects.get(plan=plan, text=text)


# The three threads: what the form posts as its target, what the service is given, and the page
# that shows the thread.
TARGETS = {
    "plan": lambda plan: ("plan", {}, reverse("planning:plan_detail", args=[plan.pk])),
    "task": lambda plan: (
        f"task:{task_of(plan).pk}",
        {"task": task_of(plan)},
        reverse("planning:task_edit", args=[plan.pk, task_of(plan).pk]),
    ),
    "item": lambda plan: (
        f"item:{item_of(plan).pk}",
        {"item": item_of(plan)},
        reverse("checklists:item_detail", args=[plan.pk, item_of(plan).pk]),
    ),
}


def add_url(plan):
    return reverse("checklists:comment_add", args=[plan.pk])


def edit_url(comment):
    return reverse("checklists:comment_edit", args=[comment.plan_id, comment.pk])


def delete_url(comment):
    return reverse("checklists:comment_delete", args=[comment.plan_id, comment.pk])


def thread_of(plan, **target):
    return list(
        Comment.objects.filter(
            plan=plan, task=target.get("task"), item=target.get("item")
        ).values_list("body", flat=True)
    )


def page_text(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def mentions_of(user):
    return Notification.objects.filter(user=user, kind="mention")


# Adding, on each of the three threads


@pytest.mark.parametrize("where", TARGETS)
def test_the_service_adds_a_comment_to_its_thread_only(plan, viewer, where):
    _, target, _ = TARGETS[where](plan)
    comment = comments.comment_add(
        plan=plan, author=viewer, body="  Looks right to me\r\n", **target
    )

    assert (comment.author, comment.body, comment.edited_at) == (viewer, "Looks right to me", None)
    assert thread_of(plan, **target) == ["Looks right to me"]
    for other in TARGETS.keys() - {where}:
        assert thread_of(plan, **TARGETS[other](plan)[1]) == []


@pytest.mark.parametrize("where", TARGETS)
def test_a_viewer_comments_in_place_with_htmx(client_for, plan, viewer, where):
    target, fields, _ = TARGETS[where](plan)
    response = client_for(viewer).post(
        add_url(plan), {"target": target, "body": "Who owns **this**?"}, headers=HTMX
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith("<section") and "<html" not in body
    assert f'id="thread-{target.replace(":", "-")}"' in body
    comment = Comment.objects.get(plan=plan)
    assert f'id="comment-{comment.pk}"' in body
    assert "Who owns <strong>this</strong>?" in body
    assert thread_of(plan, **fields) == ["Who owns **this**?"]


@pytest.mark.parametrize("where", TARGETS)
def test_a_plain_form_post_goes_back_to_the_comment_on_its_page(client_for, plan, viewer, where):
    target, _, page = TARGETS[where](plan)
    client = client_for(viewer)
    response = client.post(add_url(plan), {"target": target, "body": "Checked the runbook"})

    comment = Comment.objects.get(plan=plan)
    assert response.status_code == 302
    assert response["Location"] == f"{page}#comment-{comment.pk}"
    text = page_text(client, page)
    assert f'id="comment-{comment.pk}"' in text
    assert "Checked the runbook" in text


def test_each_page_shows_its_own_thread(client_for, plan, editor):
    for where in TARGETS:
        _, target, _ = TARGETS[where](plan)
        comments.comment_add(plan=plan, author=editor, body=f"About the {where}", **target)
    client = client_for(editor)
    for where in TARGETS:
        text = page_text(client, TARGETS[where](plan)[2])
        assert f"About the {where}" in text
        assert [w for w in TARGETS if f"About the {w}" in text] == [where]


def test_a_thread_costs_the_same_queries_however_long(client_for, plan, owner, editor, viewer):
    _, target, page = TARGETS["item"](plan)
    client = client_for(viewer)
    comments.comment_add(plan=plan, author=owner, body="One", **target)
    client.get(page)
    with CaptureQueriesContext(connection) as short:
        client.get(page)
    for n in range(12):
        author = (owner, editor, viewer)[n % 3]
        comments.comment_add(plan=plan, author=author, body=f"Reply {n} @vera", **target)
    with CaptureQueriesContext(connection) as long:
        text = client.get(page).content.decode()
    assert text.count('class="comment"') == 13
    assert len(long) == len(short)


# Markdown, shown safely


def test_markup_in_a_comment_is_shown_as_text(client_for, plan, editor):
    body = (
        "<script>alert(1)</script>\n\n"
        "<img src=x onerror=alert(2)>\n\n"
        "[click me](javascript:alert(3)) and ![pic](https://evil.example/p.png)"
    )
    client = client_for(editor)
    client.post(add_url(plan), {"target": "plan", "body": body})

    for text in (
        page_text(client, reverse("planning:plan_detail", args=[plan.pk])),
        client.post(
            add_url(plan), {"target": "plan", "body": "again: " + body}, headers=HTMX
        ).content.decode(),
    ):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "&lt;img src=x onerror=alert(2)&gt;" in text
        assert "<script>alert" not in text
        assert "<img src=x" not in text and "<img" not in text
        assert 'href="javascript:' not in text


# Bad input


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Write something first."),
        ("   \r\n  ", "Write something first."),
        ("x" * 5001, "A comment is at most 5,000 characters; this one has 5,001."),
        ("bad \x00 byte", "cannot be stored"),
    ],
)
def test_a_bad_body_is_refused_in_the_thread_and_nothing_is_saved(
    client_for, plan, editor, body, message
):
    target, _, _ = TARGETS["task"](plan)
    response = client_for(editor).post(
        add_url(plan), {"target": target, "body": body}, headers=HTMX
    )

    text = response.content.decode()
    # htmx swaps in only 2xx answers (base.html's htmx-config): the error must come back in one,
    # or the person sees nothing happen.
    assert response.status_code == 200
    assert 'role="alert"' in text and message in text
    assert Comment.objects.count() == 0


def test_a_huge_body_posted_without_htmx_comes_back_with_the_message(client_for, plan, editor):
    target, _, page = TARGETS["item"](plan)
    client = client_for(editor)
    response = client.post(add_url(plan), {"target": target, "body": "y" * 6000}, follow=True)

    assert response.redirect_chain == [(f"{page}#comments", 302)]
    assert "A comment is at most 5,000 characters; this one has 6,000." in (
        response.content.decode()
    )
    assert Comment.objects.count() == 0


def test_the_service_refuses_an_empty_or_huge_body(plan, editor):
    for body in ("", " \n ", "z" * 5001):
        with pytest.raises(ValidationError):
            comments.comment_add(plan=plan, author=editor, body=body)
    assert comments.comment_add(plan=plan, author=editor, body="z" * 5000).body == "z" * 5000
    assert Comment.objects.count() == 1


def test_the_service_refuses_a_target_of_another_plan(plan, owner):
    other = make_plan(owner, title="Payments rollout")
    for target in ({"task": task_of(other)}, {"item": item_of(other)}):
        with pytest.raises(ValidationError):
            comments.comment_add(plan=plan, author=owner, body="Hello", **target)
    with pytest.raises(ValidationError):
        comments.comment_add(
            plan=plan, author=owner, body="Hello", task=task_of(plan), item=item_of(plan)
        )
    assert Comment.objects.count() == 0


def test_a_task_or_item_of_another_plan_is_not_found(client_for, plan, owner):
    other = make_plan(owner, title="Payments rollout")
    client = client_for(owner)  # an owner of both plans
    for target in (f"task:{task_of(other).pk}", f"item:{item_of(other).pk}"):
        for headers in ({}, HTMX):
            response = client.post(
                add_url(plan), {"target": target, "body": "Hello"}, headers=headers
            )
            assert response.status_code == 404
    assert Comment.objects.count() == 0


@pytest.mark.parametrize(
    "target", ["", "plans", "plan:1", "task", "task:", "task:abc", "item:999999", "comment:1"]
)
def test_an_unknown_target_is_not_found(client_for, plan, editor, target):
    response = client_for(editor).post(add_url(plan), {"target": target, "body": "Hello"})
    assert response.status_code == 404
    assert Comment.objects.count() == 0


def test_a_comment_of_another_plan_is_not_found_through_this_one(client_for, plan, owner):
    other = make_plan(owner, title="Payments rollout")
    comment = comments.comment_add(plan=other, author=owner, body="Elsewhere")
    client = client_for(owner)
    for name in ("checklists:comment_edit", "checklists:comment_delete"):
        response = client.post(reverse(name, args=[plan.pk, comment.pk]), {"body": "Moved"})
        assert response.status_code == 404
    assert list(Comment.objects.values_list("body", flat=True)) == ["Elsewhere"]


# Editing and deleting


def test_the_author_edits_and_the_comment_shows_as_edited(client_for, plan, viewer):
    comment = comments.comment_add(plan=plan, author=viewer, body="Frist")
    response = client_for(viewer).post(edit_url(comment), {"body": "First"}, headers=HTMX)

    comment.refresh_from_db()
    assert response.status_code == 200
    assert comment.body == "First" and comment.edited_at is not None
    assert "edited</span>" in response.content.decode()


def test_saving_the_same_text_again_is_not_an_edit(plan, viewer):
    comment = comments.comment_add(plan=plan, author=viewer, body="Same")
    comments.comment_edit(comment=comment, actor=viewer, body="  Same  ")
    comment.refresh_from_db()
    assert comment.edited_at is None


def test_an_edit_to_an_empty_body_is_refused(client_for, plan, viewer):
    comment = comments.comment_add(plan=plan, author=viewer, body="Keep me")
    response = client_for(viewer).post(edit_url(comment), {"body": "  "}, headers=HTMX)
    assert "Write something first." in response.content.decode()
    comment.refresh_from_db()
    assert (comment.body, comment.edited_at) == ("Keep me", None)


@pytest.mark.parametrize("who", ["owner", "editor"])
def test_nobody_but_the_author_edits(client_for, plan, viewer, who, request):
    comment = comments.comment_add(plan=plan, author=viewer, body="Mine")
    other = request.getfixturevalue(who)
    assert client_for(other).post(edit_url(comment), {"body": "Theirs"}).status_code == 403
    with pytest.raises(PermissionDenied):
        comments.comment_edit(comment=comment, actor=other, body="Theirs")
    comment.refresh_from_db()
    assert (comment.body, comment.edited_at) == ("Mine", None)


@pytest.mark.parametrize("who", ["viewer", "owner"])
def test_the_author_or_an_owner_deletes(client_for, plan, viewer, who, request):
    _, fields, page = TARGETS["task"](plan)
    comment = comments.comment_add(plan=plan, author=viewer, body="Delete me", **fields)
    response = client_for(request.getfixturevalue(who)).post(delete_url(comment))

    assert response.status_code == 302
    assert response["Location"] == f"{page}#comments"
    assert not Comment.objects.exists()


def test_deleting_in_place_returns_the_thread_without_it(client_for, plan, owner, viewer):
    comment = comments.comment_add(plan=plan, author=viewer, body="Delete me")
    kept = comments.comment_add(plan=plan, author=viewer, body="Keep me")
    response = client_for(owner).post(delete_url(comment), headers=HTMX)

    text = response.content.decode()
    assert response.status_code == 200
    assert "Delete me" not in text and "Keep me" in text
    assert list(Comment.objects.all()) == [kept]


def test_another_editor_may_not_delete(client_for, plan, owner, editor, viewer):
    comment = comments.comment_add(plan=plan, author=viewer, body="Not yours")
    assert client_for(editor).post(delete_url(comment)).status_code == 403
    with pytest.raises(PermissionDenied):
        comments.comment_delete(comment=comment, actor=editor)
    assert Comment.objects.filter(pk=comment.pk).exists()


def test_the_buttons_follow_who_may_use_them(client_for, plan, owner, editor, viewer):
    comment = comments.comment_add(plan=plan, author=viewer, body="Mine")
    page = reverse("planning:plan_detail", args=[plan.pk])
    for person, may_edit, may_delete in (
        (viewer, True, True),
        (owner, False, True),
        (editor, False, False),
    ):
        text = page_text(client_for(person), page)
        assert (edit_url(comment) in text) is may_edit
        assert (delete_url(comment) in text) is may_delete


def test_the_audit_trail_keeps_every_version_of_a_deleted_comment(plan, owner, viewer):
    comment = comments.comment_add(plan=plan, author=viewer, body="The original words")
    comments.comment_edit(comment=comment, actor=viewer, body="Second thoughts")
    comments.comment_delete(comment=comment, actor=owner)

    CommentEvent = apps.get_model("checklists", "CommentEvent")
    events = CommentEvent.objects.filter(pgh_obj_id=comment.pk).order_by("pgh_id")
    assert [(e.pgh_label, e.body) for e in events] == [
        ("insert", "The original words"),
        ("update", "Second thoughts"),
        ("delete", "Second thoughts"),
    ]
    feed = [
        e
        for e in audit.plan_events_feed(plan.pk)
        if e.pgh_obj_model == "checklists.Comment" and e.pgh_obj_id == str(comment.pk)
    ]
    assert {e.pgh_label for e in feed} == {"insert", "update", "delete"}
    assert any(e.pgh_data["body"] == "The original words" for e in feed)


# Who may use the comment URLs


def comment_urls(plan, comment):
    return [add_url(plan), edit_url(comment), delete_url(comment)]


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_outsider_gets_404_on_every_comment_url(client_for, plan, viewer, outsider, method):
    comment = comments.comment_add(plan=plan, author=viewer, body="Members only")
    client = client_for(outsider)
    for url in comment_urls(plan, comment):
        response = getattr(client, method)(url, {"target": "plan", "body": "Hi"})
        assert response.status_code == 404, url
    assert list(Comment.objects.values_list("body", flat=True)) == ["Members only"]


def test_anonymous_is_sent_to_log_in(client_for, plan, viewer):
    comment = comments.comment_add(plan=plan, author=viewer, body="Members only")
    client = client_for(None)
    for url in comment_urls(plan, comment):
        response = client.post(url, {"target": "plan", "body": "Hi"})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    assert list(Comment.objects.values_list("body", flat=True)) == ["Members only"]


def test_a_member_gets_405_for_a_get(client_for, plan, viewer):
    comment = comments.comment_add(plan=plan, author=viewer, body="Mine")
    client = client_for(viewer)
    for url in comment_urls(plan, comment):
        assert client.get(url).status_code == 405


def test_a_post_without_the_csrf_token_is_refused(client_for, plan, viewer):
    response = client_for(viewer, send_token=False).post(
        add_url(plan), {"target": "plan", "body": "Hi"}
    )
    assert response.status_code == 403
    assert not Comment.objects.exists()


def test_an_archived_plan_takes_no_comments(client_for, plan, owner, viewer):
    comment = comments.comment_add(plan=plan, author=viewer, body="Before the archive")
    planning_services.plan_archive(plan=plan)
    client = client_for(viewer)

    response = client.post(add_url(plan), {"target": "plan", "body": "After"}, headers=HTMX)
    assert response.status_code == 200 and "archived" in response.content.decode()
    response = client.post(add_url(plan), {"target": "plan", "body": "After"}, follow=True)
    assert "archived" in response.content.decode()
    response = client.post(edit_url(comment), {"body": "Changed"}, follow=True)
    assert "archived" in response.content.decode()
    for person in (viewer, owner):
        response = client_for(person).post(delete_url(comment), follow=True)
        assert response.status_code == 200
        assert "archived" in response.content.decode()
    assert list(Comment.objects.values_list("body", flat=True)) == ["Before the archive"]
    for person in (viewer, owner):
        page = page_text(client_for(person), reverse("planning:plan_detail", args=[plan.pk]))
        assert "Before the archive" in page and "This plan is archived" in page
        assert [url for url in comment_urls(plan, comment) if url in page] == []
    with pytest.raises(ValidationError):
        comments.comment_add(plan=plan, author=viewer, body="After")


# Mentions: parsing


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("@olivia can you look?", {"olivia"}),
        ("Thanks, @olivia.", {"olivia"}),
        ("Ask @olivia, then @eddie; and (@vera)!", {"olivia", "eddie", "vera"}),
        ("@Olivia and @OLIVIA", {"olivia"}),
        ("Mail bob@example.com about it", set()),
        ("@@x and @@olivia", set()),
        ("an @ alone, and @.", set()),
        ("first.last@example.com and a.@olivia", set()),
        ("@jane.doe wrote @jane.doe... twice", {"jane.doe"}),
        ("line one\n@eddie on line two", {"eddie"}),
        ("see https://medium.com/@olivia/post", set()),
    ],
)
def test_mentions_are_read_from_the_text(body, names):
    assert comments.mentioned_usernames(body) == names


# Mentions: who is told


def test_a_mention_of_a_member_tells_them_once_with_a_link_to_the_comment(plan, owner, editor):
    _, target, page = TARGETS["item"](plan)
    comment = comments.comment_add(
        plan=plan, author=owner, body="@eddie please check, @EDDIE. Thanks @eddie", **target
    )

    [mention] = Mention.objects.all()
    assert (mention.user, mention.comment, mention.plan_id) == (editor, comment, plan.pk)
    [notification] = Notification.objects.filter(user=editor)
    assert notification.kind == "mention"
    assert notification.url == f"{page}#comment-{comment.pk}"
    assert notification.plan_id == plan.pk
    assert notification.text.startswith("Olivia Owens mentioned you on the checklist item")
    assert "DNS records configured" in notification.text


def test_a_mention_in_the_web_tells_the_member(client_for, plan, owner, viewer):
    client_for(viewer).post(
        add_url(plan), {"target": f"task:{task_of(plan).pk}", "body": "@olivia done?"}
    )
    comment = Comment.objects.get()
    [notification] = mentions_of(owner)
    assert notification.url == (
        reverse("planning:task_edit", args=[plan.pk, task_of(plan).pk]) + f"#comment-{comment.pk}"
    )
    assert "on the task “Infrastructure audit”" in notification.text


def test_the_author_mentioning_themselves_is_told_nothing(plan, owner):
    comments.comment_add(plan=plan, author=owner, body="Note to self, @olivia: check DNS")
    assert not Mention.objects.exists()
    assert not Notification.objects.filter(kind="mention").exists()


def test_a_former_or_inactive_member_is_not_told(plan, owner, editor, viewer, membership_of):
    planning_services.membership_remove(membership=membership_of(plan, editor))
    viewer.is_active = False
    viewer.save(update_fields=["is_active"])
    comments.comment_add(plan=plan, author=owner, body="@eddie @vera over to you")
    assert not Mention.objects.exists()
    assert not Notification.objects.filter(kind="mention").exists()


def _normalised(response, *words) -> str:
    text = response.content.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    text = re.sub(r"comment-\d+|comments/\d+/|edit-\d+", "comment-N", text)
    for word in words:
        text = text.replace(word, "NAME")
    return text


def test_a_mention_of_a_non_member_tells_nobody_and_gives_nothing_away(
    client_for, plan, editor, outsider
):
    client = client_for(editor)
    with time_machine.travel(datetime.datetime(2026, 11, 3, 9, 0, tzinfo=datetime.UTC), tick=False):
        exists = client.post(
            add_url(plan), {"target": "plan", "body": "@oscar can you help?"}, headers=HTMX
        )
        Comment.objects.all().delete()
        nobody = client.post(
            add_url(plan), {"target": "plan", "body": "@qzxnobody can you help?"}, headers=HTMX
        )

    assert exists.status_code == nobody.status_code == 200
    assert _normalised(exists, "@oscar") == _normalised(nobody, "@qzxnobody")
    assert "@oscar" not in exists.content.decode().split("mentionable-members")[1]
    assert not Mention.objects.exists()
    assert not Notification.objects.filter(user=outsider).exists()


def test_editing_in_a_new_mention_tells_only_the_new_person(plan, owner, editor, viewer):
    comment = comments.comment_add(plan=plan, author=owner, body="@eddie have a look")
    comments.comment_edit(comment=comment, actor=owner, body="@eddie and @vera have a look")
    comments.comment_edit(comment=comment, actor=owner, body="@vera, @eddie: look again")

    assert mentions_of(editor).count() == 1
    assert mentions_of(viewer).count() == 1
    assert set(Mention.objects.values_list("user__username", flat=True)) == {"eddie", "vera"}


def test_editing_in_the_web_tells_the_new_person(client_for, plan, owner, editor, viewer):
    comment = comments.comment_add(plan=plan, author=editor, body="Plain")
    client_for(editor).post(edit_url(comment), {"body": "Now @vera and @olivia"}, headers=HTMX)
    assert {n.user for n in Notification.objects.filter(kind="mention")} == {viewer, owner}


def test_a_person_mentioned_in_two_comments_is_told_twice(plan, owner, editor):
    comments.comment_add(plan=plan, author=owner, body="@eddie one")
    comments.comment_add(plan=plan, author=owner, body="@eddie two")
    assert mentions_of(editor).count() == 2


def test_a_member_with_mentions_turned_off_is_recorded_but_not_told(plan, owner, editor):
    from truststream.services import notification_preferences_set

    notification_preferences_set(user=editor, choices={"mention": "never"})
    comments.comment_add(plan=plan, author=owner, body="@eddie quiet please")
    assert Mention.objects.filter(user=editor).exists()
    assert not mentions_of(editor).exists()


def test_the_thread_offers_the_other_members_to_mention(client_for, plan, owner, editor):
    newcomer = UserFactory(username="nina")
    planning_services.membership_add(plan=plan, actor=owner, email=newcomer.email, role="viewer")
    text = page_text(client_for(editor), reverse("planning:plan_detail", args=[plan.pk]))
    offered = re.search(
        r'<script id="mentionable-members" type="application/json">(.*?)</script>', text
    ).group(1)
    assert '"username": "nina"' in offered and '"username": "olivia"' in offered
    assert '"username": "eddie"' not in offered  # not oneself
    assert "oscar" not in offered
