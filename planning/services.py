"""Writes to plans and memberships. Callers have already checked the acting user's access."""

import datetime
import hashlib

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Max
from django.urls import reverse
from django.utils import timezone

from planning import live, playbook_schema, requirements, selectors, yamlsafe
from planning.access import sync_permissions
from planning.models import (
    DeploymentPlan,
    Invitation,
    Phase,
    PlanMembership,
    PlanningDocument,
    Playbook,
    RequirementSpec,
    SupportContact,
    Task,
)
from planning.signals import member_removed, plan_archived, plan_content_changed, plan_created
from planning.tasks import invitation_send as invitation_send_task
from planning.tasks import membership_added_notify as membership_added_notify_task
from truststream.models import NotificationKind
from truststream.services import notification_send

Role = PlanMembership.Role


class PlaybookInvalid(ValueError):
    def __init__(self, problems: list):
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@transaction.atomic
def playbook_load(*, text: str | bytes, source_name: str = "") -> tuple[Playbook, bool]:
    """Check a playbook file and load it as a new revision; (playbook, created).

    Nothing is loaded when anything is wrong: `PlaybookInvalid` carries every problem with its
    line. Loading the same content again returns the revision that has it. Revisions are
    never changed, so a plan always keeps what it was made from.
    """
    raw = text.encode("utf-8") if isinstance(text, str) else text
    try:
        document = yamlsafe.load(raw)
    except yamlsafe.YamlError as error:
        raise PlaybookInvalid([playbook_schema.Problem(error.line, "", error.message)]) from None
    problems = playbook_schema.check(document)
    if problems:
        raise PlaybookInvalid(problems)
    definition = playbook_schema.normalise(document.data)
    sha256 = hashlib.sha256(raw).hexdigest()
    # Serialise loads of one key, so that two loads cannot take the same revision number.
    existing = Playbook.objects.select_for_update().filter(key=definition["key"])
    same = existing.filter(sha256=sha256).first()
    if same is not None:
        return same, False
    latest = existing.aggregate(latest=Max("revision"))["latest"] or 0
    playbook = Playbook.objects.create(
        key=definition["key"],
        revision=latest + 1,
        name=definition["name"],
        version=definition["version"],
        sha256=sha256,
        definition=definition,
        source_name=source_name,
    )
    return playbook, True


def _only(changes: dict, editable) -> None:
    """A programming error, not a user's: a service was asked to change a field it does not."""
    unknown = set(changes) - set(editable)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")


def _lock_plan(plan: DeploymentPlan) -> DeploymentPlan:
    # Membership changes of one plan are serialised on the plan row, so that two owners
    # demoting each other at the same moment cannot leave the plan without an owner.
    return DeploymentPlan.objects.select_for_update().get(pk=plan.pk)


def _share_plan(plan: DeploymentPlan) -> DeploymentPlan:
    # FOR SHARE: held by any number of changes at once, and exclusive of FOR UPDATE.
    table = connection.ops.quote_name(DeploymentPlan._meta.db_table)
    query = f"SELECT * FROM {table} WHERE id = %s FOR SHARE"  # noqa: S608 - the model's table
    return DeploymentPlan.objects.raw(query, [plan.pk])[0]


def plan_lock_writable(
    plan: DeploymentPlan, *, content: bool = True, shared: bool = False
) -> DeploymentPlan:
    """Lock the plan and return it fresh, unless it is archived.

    Every change to a plan's content takes this lock first, so that a change cannot slip in
    beside an archive happening at the same moment, nor between a signer's snapshot and their
    signature. `content=False` is for writes beside the content (a packet request) that need
    the same guarantee but change nothing signed.

    `shared=True` is for a change to one part of the plan that guards that part itself
    (compare-and-set on a checklist item's version): it still waits for an archive, a
    signature or a packet request, and they for it, but changes of other parts at the same
    moment no longer queue behind each other for the whole of their transactions.
    """
    plan = _share_plan(plan) if shared else _lock_plan(plan)
    if plan.is_archived:
        raise ValidationError("This plan is archived. Restore it before changing it.")
    if content:
        plan_id = plan.pk
        transaction.on_commit(
            lambda: plan_content_changed.send_robust(sender=DeploymentPlan, plan_id=plan_id)
        )
    return plan


def _document_status(document: dict, environment: str) -> str:
    """Which register entries a new plan starts with in scope."""
    if document["category"] == "advanced":
        return PlanningDocument.Status.NOT_APPLICABLE
    if document.get("environment") not in (None, environment):
        return PlanningDocument.Status.NOT_APPLICABLE
    return PlanningDocument.Status.NOT_STARTED


def _copy_playbook(plan: DeploymentPlan) -> None:
    """Give a new plan its own copy of its playbook; later playbook changes never reach it."""
    definition = plan.playbook.definition
    items = []
    for phase_definition in definition["phases"]:
        starts_on = plan.week1_start + datetime.timedelta(weeks=phase_definition["week"] - 1)
        phase = Phase.objects.create(
            plan=plan,
            number=phase_definition["number"],
            title=phase_definition["title"],
            starts_on=starts_on,
            ends_on=starts_on + datetime.timedelta(days=6),
        )
        for group in phase_definition["groups"]:
            items.extend(
                Task(
                    plan=plan,
                    phase=phase,
                    group=group["title"],
                    title=title,
                    position=len(items) + 1,
                    due_on=phase.ends_on,
                )
                for title in group["tasks"]
            )
    Task.objects.bulk_create(items)
    PlanningDocument.objects.bulk_create(
        PlanningDocument(
            plan=plan,
            key=document["key"],
            title=document["title"],
            category=document["category"],
            description=document.get("description", ""),
            position=position,
            status=_document_status(document, plan.environment),
        )
        for position, document in enumerate(definition["documents"], start=1)
    )
    RequirementSpec.objects.bulk_create(
        RequirementSpec(
            plan=plan,
            kind=template["kind"],
            title=template["title"],
            definition={"sections": template["sections"]},
            values=requirements.defaults(template),
        )
        for template in definition["requirements"]
    )
    SupportContact.objects.bulk_create(
        SupportContact(plan=plan, position=position, **contact)
        for position, contact in enumerate(definition["support_contacts"], start=1)
    )


@transaction.atomic
def plan_create(
    *,
    user,
    playbook: Playbook,
    title: str,
    release_version: str,
    environment: str,
    week1_start: datetime.date,
    target_go_live: datetime.date,
    description: str = "",
    signoff_threshold: int = 80,
) -> DeploymentPlan:
    """Create a plan; its creator becomes its first owner."""
    plan = DeploymentPlan(
        playbook=playbook,
        signoff_threshold=signoff_threshold,
        title=title,
        release_version=release_version,
        environment=environment,
        week1_start=week1_start,
        target_go_live=target_go_live,
        description=description,
        created_by=user,
    )
    plan.full_clean()
    plan.save()
    PlanMembership.objects.create(plan=plan, user=user, role=Role.OWNER, added_by=user)
    sync_permissions(plan=plan, user=user, role=Role.OWNER)
    _copy_playbook(plan)
    # Checklists and later parts come from apps above this one (imports flow one way).
    plan_created.send(sender=DeploymentPlan, plan=plan)
    return plan


PLAN_EDITABLE_FIELDS = (
    "signoff_threshold",
    "title",
    "release_version",
    "environment",
    "week1_start",
    "target_go_live",
    "description",
)


@transaction.atomic
def plan_update(*, plan: DeploymentPlan, **changes) -> DeploymentPlan:
    """Change the plan's header fields. An archived plan is read-only until restored."""
    _only(changes, PLAN_EDITABLE_FIELDS)
    plan = plan_lock_writable(plan)
    shift = changes.get("week1_start", plan.week1_start) - plan.week1_start
    for field, value in changes.items():
        setattr(plan, field, value)
    plan.full_clean()
    plan.save()
    if shift:
        # The four weeks move with week 1, and the tasks' due dates with them.
        plan.phases.update(starts_on=F("starts_on") + shift, ends_on=F("ends_on") + shift)
        plan.tasks.update(due_on=F("due_on") + shift)
    return plan


@transaction.atomic
def plan_archive(*, plan: DeploymentPlan) -> DeploymentPlan:
    # Compare-and-set: archiving twice (two tabs, a double click) changes nothing the second time.
    DeploymentPlan.objects.filter(pk=plan.pk, archived_at__isnull=True).update(
        archived_at=timezone.now(), updated_at=timezone.now()
    )
    live.bump_on_commit(plan.pk)
    plan_id = plan.pk
    transaction.on_commit(lambda: plan_archived.send_robust(sender=DeploymentPlan, plan_id=plan_id))
    return DeploymentPlan.objects.get(pk=plan.pk)


@transaction.atomic
def plan_restore(*, plan: DeploymentPlan) -> DeploymentPlan:
    DeploymentPlan.objects.filter(pk=plan.pk, archived_at__isnull=False).update(
        archived_at=None, updated_at=timezone.now()
    )
    live.bump_on_commit(plan.pk)
    return DeploymentPlan.objects.get(pk=plan.pk)


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": f"{role!r} is not a role; choose owner, editor or viewer."})


@transaction.atomic
def membership_add(*, plan: DeploymentPlan, actor, email: str, role: str) -> PlanMembership:
    """Add an existing user, found by email, to the plan at once; they are told by email.

    For the demo data and tools run by operators: the plan's pages invite instead
    (`invitation_create`), so that an owner never learns whether an address has an account.
    """
    _check_role(role)
    plan = _lock_plan(plan)
    User = get_user_model()
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        raise ValidationError(
            {"email": "No user has this email address. Ask them to sign up first."}
        )
    if PlanMembership.objects.filter(plan=plan, user=user).exists():
        raise ValidationError({"email": f"{user.email} is already a member of this plan."})
    membership = _member_join(plan=plan, user=user, role=role, added_by=actor)
    # robust: with Redis away the member is still added; only the courtesy email is lost.
    transaction.on_commit(lambda: membership_added_notify_task.delay(membership.pk), robust=True)
    return membership


def _member_join(*, plan: DeploymentPlan, user, role: str, added_by) -> PlanMembership:
    # The caller holds the plan's lock and has checked that the user is not a member yet.
    membership = PlanMembership.objects.create(plan=plan, user=user, role=role, added_by=added_by)
    sync_permissions(plan=plan, user=user, role=role)
    live.bump_on_commit(plan.pk)
    return membership


@transaction.atomic
def invitation_create(*, plan: DeploymentPlan, actor, email: str, role: str) -> Invitation:
    """Invite an email address to the plan with `role`; the invitation is emailed once this
    commits. The same happens whether or not the address has an account, so that nothing here
    tells the owner which addresses do. An open invitation of the same address is replaced
    (its link stops working), which is how an owner sends one again."""
    _check_role(role)
    email = email.strip()
    plan = _lock_plan(plan)
    if plan.memberships.filter(user__email__iexact=email).exists():
        # Only members' addresses are compared: the owner sees those on the members list.
        raise ValidationError({"email": f"{email} is already a member of this plan."})
    now = timezone.now()
    plan.invitations.filter(
        email__iexact=email, accepted_at__isnull=True, withdrawn_at__isnull=True
    ).update(withdrawn_at=now)
    invitation = Invitation(
        plan=plan,
        email=email,
        role=role,
        invited_by=actor,
        expires_at=now + Invitation.VALID_FOR,
    )
    invitation.full_clean()
    invitation.save()
    # robust: with Redis away the invitation is still made; its email is lost, and the owner
    # withdraws it and invites again (docs/operations.md, "When Redis is away").
    transaction.on_commit(lambda: invitation_send_task.delay(invitation.pk), robust=True)
    live.bump_on_commit(plan.pk)
    return invitation


@transaction.atomic
def invitation_withdraw(*, invitation: Invitation) -> None:
    """Withdraw an invitation not yet accepted (or expired): its link stops working."""
    withdrawn = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, withdrawn_at__isnull=True
    ).update(withdrawn_at=timezone.now())
    if not withdrawn:
        raise ValidationError(
            f"The invitation of {invitation.email} was already accepted or withdrawn."
        )
    live.bump_on_commit(invitation.plan_id)


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user) -> tuple[PlanMembership, bool]:
    """`user` joins the plan with the invitation's role; (membership, joined now).

    Only the person the invitation was sent to may accept it: one of the account's verified
    email addresses must be the invited one, so that a forwarded or intercepted link is of no
    use to an account that does not prove it holds that address. Someone already a member
    keeps their role, and the invitation is used up all the same.
    """
    plan = _lock_plan(invitation.plan)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    state = invitation.state
    if state != "pending":
        raise ValidationError(f"This invitation is {state}: it can no longer be accepted.")
    if not selectors.has_verified_address(user, invitation.email):
        raise ValidationError(
            f"This invitation is for {invitation.email}. Confirm that address on your account, "
            "or sign in with the account that has it, to accept it."
        )
    Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now(), accepted_by=user)
    membership = PlanMembership.objects.filter(plan=plan, user=user).first()
    if membership is not None:
        live.bump_on_commit(plan.pk)
        return membership, False
    membership = _member_join(
        plan=plan, user=user, role=invitation.role, added_by=invitation.invited_by
    )
    return membership, True


def _other_owners(membership: PlanMembership) -> bool:
    return (
        PlanMembership.objects.filter(plan_id=membership.plan_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def membership_change_role(*, membership: PlanMembership, role: str) -> PlanMembership:
    _check_role(role)
    _lock_plan(membership.plan)
    membership = PlanMembership.objects.select_related("plan", "user").get(pk=membership.pk)
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER and not _other_owners(membership):
        raise ValidationError(
            {"role": "The last owner cannot be demoted. Make another member an owner first."}
        )
    membership.role = role
    membership.full_clean()
    membership.save(update_fields=["role"])
    sync_permissions(plan=membership.plan, user=membership.user, role=role)
    live.bump_on_commit(membership.plan_id)
    return membership


@transaction.atomic
def membership_remove(*, membership: PlanMembership) -> None:
    _lock_plan(membership.plan)
    membership = PlanMembership.objects.select_related("plan", "user").get(pk=membership.pk)
    if membership.role == Role.OWNER and not _other_owners(membership):
        raise ValidationError(
            "The last owner cannot be removed. Make another member an owner first."
        )
    sync_permissions(plan=membership.plan, user=membership.user, role=None)
    # Whoever leaves the plan stops being responsible for its tasks and documents.
    membership.plan.tasks.filter(assignee=membership.user).update(assignee=None)
    membership.plan.documents.filter(owner=membership.user).update(owner=None)
    member_removed.send(sender=DeploymentPlan, plan=membership.plan, user=membership.user)
    membership.delete()
    # Their tasks and documents lost their assignee: content that signatures may cover.
    plan_id = membership.plan_id
    transaction.on_commit(
        lambda: plan_content_changed.send_robust(sender=DeploymentPlan, plan_id=plan_id)
    )


def _check_member(plan: DeploymentPlan, user, field: str) -> None:
    if user is not None and not plan.memberships.filter(user=user).exists():
        raise ValidationError({field: "Choose a member of this plan."})


TASK_FIELDS = ("title", "group", "assignee", "due_on", "status", "blocked_reason", "notes")


def _clean_task(task: Task) -> None:
    if task.status != Task.Status.BLOCKED:
        task.blocked_reason = ""
    elif not task.blocked_reason.strip():
        raise ValidationError({"blocked_reason": "Say why the task is blocked."})
    task.full_clean()


@transaction.atomic
def task_create(*, phase: Phase, title: str, group: str, actor=None, **fields) -> Task:
    """Add a task at the end of its phase; due by default at the end of the phase's week.
    Its assignee, unless they made it themselves, is notified."""
    plan = plan_lock_writable(phase.plan)
    _check_member(plan, fields.get("assignee"), "assignee")
    last = plan.tasks.aggregate(last=Max("position"))["last"] or 0
    task = Task(
        plan=plan,
        phase=phase,
        title=title,
        group=group,
        position=last + 1,
        due_on=fields.pop("due_on", None) or phase.ends_on,
        **fields,
    )
    _clean_task(task)
    task.save()
    _tell_assignee(task, actor)
    return task


def _tell_assignee(task: Task, actor) -> None:
    if task.assignee_id is None or (actor is not None and task.assignee_id == actor.pk):
        return
    notification_send(
        user=task.assignee,
        kind=NotificationKind.TASK_ASSIGNED,
        key=f"task:{task.pk}:assigned:{timezone.now().timestamp():.0f}",
        text=f"{_name(actor)} gave you the task “{task.title}” on {task.plan}, due "
        f"{task.due_on:%d %b %Y}",
        url=reverse("planning:board", args=[task.plan_id]) + f"#task-{task.pk}",
        plan_id=task.plan_id,
    )


def _name(user) -> str:
    return (user.get_full_name() or user.email) if user is not None else "Someone"


@transaction.atomic
def task_update(*, task: Task, actor=None, **changes) -> Task:
    """Change a task; a new assignee, unless they gave it to themselves, is notified."""
    _only(changes, (*TASK_FIELDS, "phase"))
    plan = plan_lock_writable(task.plan)
    task = Task.objects.select_related("phase").get(pk=task.pk)
    assignee_before = task.assignee_id
    if "assignee" in changes:
        _check_member(plan, changes["assignee"], "assignee")
    if "phase" in changes and changes["phase"].plan_id != plan.pk:
        raise ValidationError({"phase": "Choose a phase of this plan."})
    for field, value in changes.items():
        setattr(task, field, value)
    if task.due_on is None:  # cleared: due at the end of its (perhaps new) week
        task.due_on = task.phase.ends_on
    _clean_task(task)
    task.save()
    if task.assignee_id != assignee_before:
        _tell_assignee(task, actor)
    return task


@transaction.atomic
def task_move(*, task: Task, direction: str) -> Task:
    """Swap the task with its neighbour above or below in the same phase and group."""
    if direction not in ("up", "down"):
        raise ValidationError("Move a task up or down.")
    plan_lock_writable(task.plan)
    task = Task.objects.get(pk=task.pk)
    siblings = Task.objects.filter(phase_id=task.phase_id, group=task.group)
    if direction == "up":
        neighbour = siblings.filter(position__lt=task.position).order_by("-position").first()
    else:
        neighbour = siblings.filter(position__gt=task.position).order_by("position").first()
    if neighbour is None:
        return task
    task.position, neighbour.position = neighbour.position, task.position
    Task.objects.bulk_update([task, neighbour], ["position"])
    return task


@transaction.atomic
def task_delete(*, task: Task) -> None:
    plan_lock_writable(task.plan)
    Task.objects.filter(pk=task.pk).delete()


DOCUMENT_FIELDS = ("status", "owner", "link", "notes")


@transaction.atomic
def document_update(*, document: PlanningDocument, **changes) -> PlanningDocument:
    _only(changes, DOCUMENT_FIELDS)
    plan = plan_lock_writable(document.plan)
    document = PlanningDocument.objects.get(pk=document.pk)
    if "owner" in changes:
        _check_member(plan, changes["owner"], "owner")
    for field, value in changes.items():
        setattr(document, field, value)
    document.full_clean()
    document.save()
    return document


@transaction.atomic
def document_include(*, document: PlanningDocument) -> PlanningDocument:
    """Bring a not-applicable document into scope (compare-and-set: twice is once)."""
    plan_lock_writable(document.plan)
    PlanningDocument.objects.filter(
        pk=document.pk, status=PlanningDocument.Status.NOT_APPLICABLE
    ).update(status=PlanningDocument.Status.NOT_STARTED)
    return PlanningDocument.objects.get(pk=document.pk)


@transaction.atomic
def requirement_update(*, spec: RequirementSpec, values: dict) -> RequirementSpec:
    """Replace the template's values with `values`, cleaned field by field.

    Raises `requirements.RequirementsInvalid` with every problem, saving nothing, unless all
    fields are valid.
    """
    plan_lock_writable(spec.plan)
    spec = RequirementSpec.objects.get(pk=spec.pk)
    spec.values = requirements.clean_values(spec.definition, values)
    spec.save(update_fields=["values", "updated_at"])
    return spec


@transaction.atomic
def requirement_import(*, spec: RequirementSpec, text: str | bytes) -> RequirementSpec:
    """Replace the values with those of a YAML document in the guide's shape."""
    plan_lock_writable(spec.plan)
    spec = RequirementSpec.objects.get(pk=spec.pk)
    spec.values = requirements.parse_yaml(spec.kind, spec.definition, text)
    spec.save(update_fields=["values", "updated_at"])
    return spec


@transaction.atomic
def contact_create(*, plan: DeploymentPlan, topic: str, name: str, email: str) -> SupportContact:
    plan = plan_lock_writable(plan)
    last = plan.support_contacts.aggregate(last=Max("position"))["last"] or 0
    contact = SupportContact(plan=plan, topic=topic, name=name, email=email, position=last + 1)
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def contact_update(*, contact: SupportContact, **changes) -> SupportContact:
    _only(changes, ("topic", "name", "email"))
    plan_lock_writable(contact.plan)
    contact = SupportContact.objects.get(pk=contact.pk)
    for field, value in changes.items():
        setattr(contact, field, value)
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def contact_delete(*, contact: SupportContact) -> None:
    plan_lock_writable(contact.plan)
    SupportContact.objects.filter(pk=contact.pk).delete()


@transaction.atomic
def overdue_notify(today: datetime.date | None = None) -> int:
    """Notify the assignees of open tasks past their due date on plans still in play."""
    today = today or timezone.localdate()
    overdue = (
        Task.objects.filter(due_on__lt=today, assignee__isnull=False, plan__archived_at=None)
        .exclude(status=Task.Status.DONE)
        .exclude(plan__status__in=[DeploymentPlan.Status.DEPLOYED, DeploymentPlan.Status.CANCELLED])
        .select_related("assignee", "plan")
    )
    told = 0
    for item in overdue:
        told += (
            notification_send(
                user=item.assignee,
                kind=NotificationKind.TASK_OVERDUE,
                key=f"task:{item.pk}:overdue:{item.due_on.isoformat()}",
                text=f"Your task “{item.title}” on {item.plan} was due {item.due_on:%d %b %Y}",
                url=reverse("planning:board", args=[item.plan_id]) + f"#task-{item.pk}",
                plan_id=item.plan_id,
            )
            is not None
        )
    return told
