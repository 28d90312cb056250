"""Writes of comments and mentions. Callers have checked that the acting user is a member.

A comment belongs to the plan's own thread, a task's or a checklist item's. `@username` names a
member: they are notified once per comment. A name that is not a member's stays plain text and
tells nobody anything, so that a comment cannot probe who has an account.
"""

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from checklists.models import ChecklistItem, Comment, Mention
from planning import live
from planning.models import DeploymentPlan, PlanMembership, Task
from planning.selectors import plan_people
from planning.services import plan_lock_writable
from truststream.models import NotificationKind
from truststream.services import notification_send

MAX_BODY = 5000
# Not after a word character, @, a dot or a slash: emails and links (…/@name) are no mentions.
MENTION = re.compile(r"(?<![\w@./])@([A-Za-z0-9_.+-]{1,150})")


def mentioned_usernames(body: str) -> set[str]:
    """The usernames written as @name in `body`, lowercased (a trailing full stop is prose)."""
    return {name.rstrip(".").lower() for name in MENTION.findall(body) if name.rstrip(".")}


def _clean_body(body: str) -> str:
    body = body.replace("\r\n", "\n").strip()
    if "\x00" in body:
        raise ValidationError({"body": "The comment contains a character that cannot be stored."})
    if not body:
        raise ValidationError({"body": "Write something first."})
    if len(body) > MAX_BODY:
        raise ValidationError(
            {"body": f"A comment is at most {MAX_BODY:,} characters; this one has {len(body):,}."}
        )
    return body


def target_of(comment: Comment) -> tuple[str, str, str]:
    """(what it is about, its title, the URL of its page) for notifications and pages."""
    if comment.item_id:
        return (
            "checklist item",
            comment.item.text,
            reverse("checklists:item_detail", args=[comment.plan_id, comment.item_id]),
        )
    if comment.task_id:
        return (
            "task",
            comment.task.title,
            reverse("planning:task_edit", args=[comment.plan_id, comment.task_id]),
        )
    return ("plan", comment.plan.title, reverse("planning:plan_detail", args=[comment.plan_id]))


def _mention(comment: Comment, author) -> None:
    """Record and notify the members named in the comment who were not named before."""
    names = mentioned_usernames(comment.body)
    if not names:
        return
    members = plan_people(DeploymentPlan(pk=comment.plan_id)).exclude(pk=author.pk)
    already = set(comment.mentions.values_list("user_id", flat=True))
    kind, title, url = target_of(comment)
    for user in members:
        if user.get_username().lower() not in names or user.pk in already:
            continue
        Mention.objects.create(plan_id=comment.plan_id, comment=comment, user=user)
        notification_send(
            user=user,
            kind=NotificationKind.MENTION,
            key=f"comment:{comment.pk}:mention:{user.pk}",
            text=f"{author.get_full_name() or author.email} mentioned you on the {kind} "
            f"“{title[:120]}”",
            url=f"{url}#comment-{comment.pk}",
            plan_id=comment.plan_id,
        )


@transaction.atomic
def comment_add(
    *,
    plan: DeploymentPlan,
    author,
    body: str,
    task: Task | None = None,
    item: ChecklistItem | None = None,
) -> Comment:
    """Add a comment to the plan's thread, a task's or a checklist item's (the caller found
    the task or item within this plan)."""
    # Comments are not signed content, but an archived plan takes none.
    plan = plan_lock_writable(plan, content=False)
    if task is not None and item is not None:
        raise ValidationError("A comment is about one thing.")
    for target in (task, item):
        if target is not None and target.plan_id != plan.pk:
            raise ValidationError("That is not part of this plan.")
    comment = Comment(plan=plan, task=task, item=item, author=author, body=_clean_body(body))
    comment.save()
    _mention(comment, author)
    live.bump_on_commit(plan.pk)
    return comment


@transaction.atomic
def comment_edit(*, comment: Comment, actor, body: str) -> Comment:
    """Its author rewrites a comment; members named for the first time are notified."""
    plan_lock_writable(comment.plan, content=False)
    comment = Comment.objects.select_related("plan", "item", "task").get(pk=comment.pk)
    if comment.author_id != actor.pk:
        raise PermissionDenied
    body = _clean_body(body)
    if body != comment.body:
        comment.body = body
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "edited_at"])
        _mention(comment, actor)
        live.bump_on_commit(comment.plan_id)
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, actor) -> None:
    """Its author or an owner of the plan deletes a comment; the audit trail keeps it."""
    plan_lock_writable(comment.plan, content=False)
    is_owner = PlanMembership.objects.filter(
        plan_id=comment.plan_id, user=actor, role=PlanMembership.Role.OWNER
    ).exists()
    if comment.author_id != actor.pk and not is_owner:
        raise PermissionDenied
    Comment.objects.filter(pk=comment.pk).delete()
    live.bump_on_commit(comment.plan_id)
