"""Writes to checklists, evidence and readiness scores.

Callers have checked that the acting user may change the plan (`change_deploymentplan`);
whether the user owns the plan is passed in where a rule depends on it.
"""

import hashlib
import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.text import get_valid_filename

from checklists.models import (
    Checklist,
    ChecklistItem,
    EvidenceFile,
    EvidenceLink,
    ReadinessScore,
)
from planning.models import DeploymentPlan
from planning.selectors import is_plan_person
from planning.services import plan_lock_writable
from truststream.models import NotificationKind
from truststream.services import notification_send
from truststream.validators import single_line

State = ChecklistItem.State


class StaleItem(Exception):
    """The item changed since the caller read it; `current` is what it is now."""

    def __init__(self, current: ChecklistItem):
        super().__init__("This item was changed by someone else in the meantime.")
        self.current = current


def checklists_create(*, plan: DeploymentPlan, **kwargs) -> None:
    """Give a new plan the playbook's checklists (the receiver of `planning.plan_created`)."""
    for position, definition in enumerate(plan.playbook.definition["checklists"], start=1):
        checklist = Checklist.objects.create(
            plan=plan, key=definition["key"], title=definition["title"], position=position
        )
        ChecklistItem.objects.bulk_create(
            ChecklistItem(
                plan=plan,
                checklist=checklist,
                text=item["text"],
                position=index,
                critical=item.get("critical", False),
                conditional=item.get("conditional", False),
            )
            for index, item in enumerate(definition["items"], start=1)
        )


# What an item said in the previous plan that is carried forward to be confirmed; an item left
# open there starts afresh.
CARRIED_STATES = (State.PASSED, State.FAILED, State.NOT_APPLICABLE)


def items_carry(*, plan: DeploymentPlan, previous: DeploymentPlan, **kwargs) -> None:
    """Carry the previous plan's checklist evidence into the new plan of the next environment
    (the receiver of `planning.plan_carried_forward`, inside the creation's transaction).

    Items pair by checklist and text, in order (both plans have the same playbook revision).
    An item decided there (passed, failed, not applicable) remembers its counterpart
    (`previous_item`) and brings its state as `carried_state`, with its reason, note, links
    and files, but stays open here: it counts for nothing
    (readiness, suggested scores, blockers, sign-off) until someone confirms a state in this
    plan. Files are carried by reference to the same stored content, which is never deleted
    (`file_remove` keeps it) and whose SHA-256 comes along. Items left open there, and every
    item's assignee (who sees an item through is decided in each environment), are not
    carried; only carried items are updated, so the new plan's trail tells each carry once.
    """
    earlier: dict[tuple[str, str], list[ChecklistItem]] = {}
    for item in (
        ChecklistItem.objects.filter(plan=previous)
        .select_related("checklist")
        .prefetch_related("links", "files")
        .order_by("checklist__position", "position", "id")
    ):
        earlier.setdefault((item.checklist.key, item.text), []).append(item)
    items = list(
        ChecklistItem.objects.filter(plan=plan)
        .select_related("checklist")
        .order_by("checklist__position", "position", "id")
    )
    carried, links, files = [], [], []
    for item in items:
        counterparts = earlier.get((item.checklist.key, item.text))
        if not counterparts:
            continue
        source = counterparts.pop(0)
        if source.state not in CARRIED_STATES:
            continue
        carried.append(item)
        item.previous_item = source
        item.carried_state = source.state
        item.carried_reason = source.na_reason
        item.carried_from = previous.environment
        item.note = source.note
        links.extend(
            EvidenceLink(plan=plan, item=item, url=link.url, added_by_id=link.added_by_id)
            for link in source.links.all()
        )
        files.extend(
            EvidenceFile(
                plan=plan,
                item=item,
                file=evidence.file.name,
                name=evidence.name,
                size=evidence.size,
                sha256=evidence.sha256,
                content_type=evidence.content_type,
                added_by_id=evidence.added_by_id,
            )
            for evidence in source.files.all()
        )
    ChecklistItem.objects.bulk_update(
        carried,
        ["previous_item", "carried_state", "carried_reason", "carried_from", "note"],
    )
    EvidenceLink.objects.bulk_create(links)
    EvidenceFile.objects.bulk_create(files)


def _compare_and_set(item: ChecklistItem, version: int, actor, **changes) -> ChecklistItem:
    """Apply `changes` only if the item is still at `version`; else raise `StaleItem`.

    Two people saving the same item at once: the first wins, the second is told and shown
    what the first did, and nothing is lost silently.
    """
    now = timezone.now()
    updated = ChecklistItem.objects.filter(pk=item.pk, version=version).update(
        **changes, version=F("version") + 1, changed_by=actor, changed_at=now
    )
    if updated and item.version == version:
        # The row was at the version this object was read at, so it now holds what the
        # object holds with these changes: no second read while the item's row is locked.
        for field, value in changes.items():
            setattr(item, field, value)
        item.version, item.changed_by, item.changed_at = version + 1, actor, now
        return item
    current = ChecklistItem.objects.select_related("changed_by", "checklist", "assignee").get(
        pk=item.pk
    )
    if not updated:
        raise StaleItem(current)
    return current


@transaction.atomic
def item_set_state(
    *,
    item: ChecklistItem,
    actor,
    state: str,
    version: int | None,
    reason: str = "",
    actor_is_owner: bool = False,
    note: str | None = None,
    links: list[str] = (),
) -> ChecklistItem:
    """Set an item's state, optionally with a note and evidence links, in one change.

    `version` None changes the item as it is now: every change of a plan takes the plan's lock
    first, so the version read here cannot move before the change. A replaced note is not
    lost: the audit trail keeps every version of it.
    """
    # Everything that can refuse the change is checked before any lock is taken, so that
    # the locks are held for the writes alone.
    if state not in State.values:
        raise ValidationError(
            {"state": f"{state!r} is not a state: use {', '.join(State.values)}."}
        )
    reason = _one_line(reason.strip(), "reason")
    if state == State.NOT_APPLICABLE:
        if not reason:
            raise ValidationError({"reason": "Say why this item does not apply."})
        # The documentation sign-off is part of the guide's approval: only an owner says one
        # of its items does not apply, whatever the playbook marks conditional.
        documentation = item.checklist.key == "documentation"
        if (documentation or not item.conditional) and not actor_is_owner:
            raise ValidationError(
                {
                    "state": "Only conditional items can be not applicable; a plan owner can "
                    "override this with a reason."
                }
            )
    else:
        reason = ""
    # Any state set in this plan is its own decision: a carried state stops waiting for one.
    changes = {"state": state, "na_reason": reason, "carried_state": "", "carried_reason": ""}
    if note is not None:
        changes["note"] = _clean_note(note)
    for url in links:
        _check_link(url)
    if version is None:
        # Changing the item as it is now: the version must not move before the change.
        plan_lock_writable(item.plan)
        version = ChecklistItem.objects.values_list("version", flat=True).get(pk=item.pk)
    else:
        # Compare-and-set guards the item; the plan's lock only has to keep archives and
        # signatures out, not the changes of other items.
        plan_lock_writable(item.plan, shared=True)
    item = _compare_and_set(item, version, actor, **changes)
    for url in links:
        EvidenceLink.objects.create(plan_id=item.plan_id, item=item, url=url, added_by=actor)
    return item


def _one_line(value: str, field: str) -> str:
    # The item is changed by an UPDATE, which runs no model validation: the API must be held
    # to the field's rule here, as the form is.
    try:
        single_line(value)
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from None
    return value


def _no_nul(value: str, field: str) -> str:
    # Postgres text cannot hold NUL; forms refuse it already, the API must too.
    if "\x00" in value:
        raise ValidationError({field: "Remove the NUL character."})
    return value


def _clean_note(note: str) -> str:
    note = _no_nul(note, "note").strip()
    limit = ChecklistItem._meta.get_field("note").max_length
    if len(note) > limit:
        raise ValidationError({"note": f"Use at most {limit} characters."})
    return note


def _check_link(url: str) -> None:
    _no_nul(url, "links")
    link = EvidenceLink(url=url)
    try:
        link.clean_fields(exclude=["plan", "item", "added_by"])
    except ValidationError:
        raise ValidationError({"links": f"{url[:100]!r} is not a valid http(s) link."}) from None
    if not url.lower().startswith(("http://", "https://")):
        raise ValidationError({"links": f"{url[:100]!r} is not a valid http(s) link."})


@transaction.atomic
def item_update_note(*, item: ChecklistItem, actor, note: str, version: int) -> ChecklistItem:
    note = _clean_note(note)
    plan_lock_writable(item.plan, shared=True)  # compare-and-set guards the item
    return _compare_and_set(item, version, actor, note=note)


@transaction.atomic
def item_assign(*, item: ChecklistItem, actor, assignee, version: int | None) -> ChecklistItem:
    """Make a member of the plan responsible for the item, or nobody (`assignee` None).

    `version` None assigns the item as it is now (the plan's lock keeps it from moving). The
    assignee is not part of what a signature covers, so no signature goes stale over it.
    Raises `StaleItem` when the item changed since `version`.
    """
    plan = plan_lock_writable(item.plan)
    if assignee is not None and not is_plan_person(plan, assignee):
        raise ValidationError({"assignee": "Choose a member of this plan."})
    current = ChecklistItem.objects.select_related("changed_by", "checklist", "assignee").get(
        pk=item.pk
    )
    if current.assignee_id == (assignee.pk if assignee else None):
        return current  # already so: no new version, nothing for the audit trail
    item = _compare_and_set(
        item, current.version if version is None else version, actor, assignee=assignee
    )
    if assignee is not None and assignee.pk != actor.pk:
        notification_send(
            user=assignee,
            kind=NotificationKind.TASK_ASSIGNED,
            key=f"item:{item.pk}:assigned:{timezone.now().timestamp():.0f}",
            text=f"{actor.get_full_name() or actor.email} gave you the checklist item "
            f"“{item.text}” on {plan}",
            url=reverse("checklists:item_detail", args=[plan.pk, item.pk]),
            plan_id=plan.pk,
        )
    return item


def items_release(*, plan: DeploymentPlan, user, **kwargs) -> None:
    """Whoever leaves a plan is assignee of none of its items any more (the receiver of
    `member_removed`, inside the removal's transaction).

    The version stays: nobody's pending change of the item is out of date because its
    assignee left, and the audit trail records the removal's author beside the change.
    """
    ChecklistItem.objects.filter(plan=plan, assignee=user).update(assignee=None)


@transaction.atomic
def link_add(*, item: ChecklistItem, actor, url: str) -> EvidenceLink:
    plan_lock_writable(item.plan)
    _check_link(url)
    return EvidenceLink.objects.create(plan_id=item.plan_id, item=item, url=url, added_by=actor)


@transaction.atomic
def link_remove(*, link: EvidenceLink) -> None:
    plan_lock_writable(link.item.plan)
    EvidenceLink.objects.filter(pk=link.pk).delete()


# Evidence files: what may be uploaded, recognised by extension and checked by content.
ALLOWED_FILES = {
    ".pdf": ("application/pdf", b"%PDF-"),
    ".png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    ".jpg": ("image/jpeg", b"\xff\xd8\xff"),
    ".jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    ".gif": ("image/gif", b"GIF8"),
    ".zip": ("application/zip", b"PK\x03\x04"),
    ".txt": ("text/plain", None),
    ".log": ("text/plain", None),
    ".md": ("text/plain", None),
    ".csv": ("text/csv", None),
    ".json": ("application/json", None),
    ".yaml": ("text/plain", None),
    ".yml": ("text/plain", None),
    ".xml": ("text/plain", None),
}


def _file_kind(upload) -> tuple[str, str]:
    """(clean name, content type) of an upload we accept, else ValidationError."""
    original = PurePath(upload.name.replace("\\", "/")).name
    try:
        name = get_valid_filename(original) if original.strip(". ") else ""
    except SuspiciousFileOperation:  # nothing usable is left of the name
        name = ""
    suffix = PurePath(name.lower()).suffix
    if len(name) > 150:  # shorten the stem, keep the extension
        name = PurePath(name).stem[: 150 - len(suffix)] + suffix
    if not name or suffix not in ALLOWED_FILES:
        allowed = ", ".join(sorted(ALLOWED_FILES))
        raise ValidationError(
            {"file": f"This type of file is not accepted. Use one of: {allowed}."}
        )
    limit = settings.EVIDENCE_MAX_BYTES
    if upload.size > limit:
        raise ValidationError({"file": f"The file is larger than {limit // (1024 * 1024)} MB."})
    if upload.size == 0:
        raise ValidationError({"file": "The file is empty."})
    content_type, magic = ALLOWED_FILES[suffix]
    upload.seek(0)
    head = upload.read(512)
    upload.seek(0)
    if magic is not None and not head.startswith(magic):
        raise ValidationError({"file": f"The file's content is not a {suffix} file."})
    if magic is None and b"\x00" in head:
        raise ValidationError({"file": f"A {suffix} file must be text."})
    return name, content_type


@transaction.atomic
def file_add(*, item: ChecklistItem, actor, upload) -> EvidenceFile:
    """Store an uploaded file as evidence, with its SHA-256, through the storage API."""
    plan_lock_writable(item.plan)
    name, content_type = _file_kind(upload)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    # The stored name is ours: nothing the uploader wrote decides where the file goes.
    path = default_storage.save(
        f"evidence/plan-{item.plan_id}/{uuid.uuid4().hex}{PurePath(name).suffix.lower()}", upload
    )
    return EvidenceFile.objects.create(
        plan_id=item.plan_id,
        item=item,
        file=path,
        name=name,
        size=upload.size,
        sha256=digest.hexdigest(),
        content_type=content_type,
        added_by=actor,
    )


@transaction.atomic
def file_remove(*, evidence: EvidenceFile) -> None:
    """Remove a file from the item. The stored content stays, so that the audit trail, which
    keeps the row's history, still points at something that can be checked."""
    plan_lock_writable(evidence.item.plan)
    EvidenceFile.objects.filter(pk=evidence.pk).delete()


@transaction.atomic
def score_set(
    *, plan: DeploymentPlan, actor, category: str, score: int, rationale: str
) -> ReadinessScore:
    plan = plan_lock_writable(plan)
    categories = {c["key"] for c in plan.playbook.definition["readiness"]["categories"]}
    if category not in categories:
        raise ValidationError({"category": "Choose one of the plan's readiness categories."})
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 10:
        raise ValidationError({"score": "Give a whole number from 1 to 10."})
    rationale = rationale.strip()
    if not rationale:
        raise ValidationError({"rationale": "Say why this score."})
    result = ReadinessScore(
        plan=plan, category=category, score=score, rationale=rationale, scored_by=actor
    )
    result.full_clean()
    result.save()
    return result
