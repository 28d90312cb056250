import pghistory.models
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from truststream.audit.history import refuse_truncate, tracked
from truststream.validators import single_line


@tracked()
class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the token itself is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, validators=[single_line])
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditSeal(models.Model):
    """A link in a plan's chain of seals: the SHA-256 over the plan's audit events since the
    previous seal, chained to that seal's digest. `marks` says, per event table, the last
    event the seal covers, so that `verify_audit` can recompute exactly what it sealed."""

    plan_id = models.BigIntegerField(db_index=True)
    number = models.PositiveIntegerField()
    reason = models.CharField(max_length=200)
    marks = models.JSONField()
    event_count = models.PositiveIntegerField()
    previous_digest = models.CharField(max_length=64, blank=True)
    digest = models.CharField(max_length=64)
    # Whether each event's context (who, from where, which request) is in the digest. Seals
    # taken before contexts were sealed are False, and verify as they were taken.
    covers_context = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan_id", "number"], name="seal_number_unique")
        ]
        triggers = [
            pgtrigger.Protect(
                name="seal_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
            refuse_truncate("seal_no_truncate"),
        ]

    def __str__(self) -> str:
        return f"Seal {self.number} of plan {self.plan_id}"


class SealTimestamp(models.Model):
    """An RFC 3161 token from the timestamp authority over a seal's plan, number and digest
    (see `truststream.audit.seals.timestamp_data`), asked for after the seal's transaction
    committed. Whoever rewrites the history a token covers cannot make the token anew: the
    authority signs it."""

    # No foreign-key constraint in the database, as for the event tables: the seal table's own
    # TRUNCATE trigger must be what refuses, and seals are never deleted anyway.
    seal = models.OneToOneField(
        AuditSeal, on_delete=models.PROTECT, related_name="timestamp", db_constraint=False
    )
    token = models.BinaryField()
    # The authority's time in the token, kept beside it to be listed without parsing it.
    stamped_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seal_id"]
        triggers = [
            pgtrigger.Protect(
                name="seal_timestamp_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
            refuse_truncate("seal_timestamp_no_truncate"),
        ]

    def __str__(self) -> str:
        return f"Timestamp of seal {self.seal_id} at {self.stamped_at:%Y-%m-%d %H:%M:%S}"


class SealedContext(models.Model):
    """An audit context (`pghistory_context` row) that a seal covers: from then on the
    context refuses to change (see `AuditContext`)."""

    context_id = models.UUIDField(primary_key=True)

    class Meta:
        triggers = [
            pgtrigger.Protect(
                name="sealed_context_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
            refuse_truncate("sealed_context_no_truncate"),
        ]

    def __str__(self) -> str:
        return f"Sealed context {self.context_id}"


class AuditContext(pghistory.models.Context):
    """django-pghistory's context table, with the triggers that keep it as it was sealed.

    DELETE and TRUNCATE are always refused. UPDATE cannot be refused outright: pghistory keys
    a context by its request (or task), not by its transaction, and upserts the row whenever
    the request's metadata changes — an API call names its user only after the token was read
    and its last use recorded, in another transaction. What must not change is a context some
    seal covers, so that is what UPDATE refuses; a request that changed its metadata after
    sealing would fail rather than rewrite who made the sealed events.
    """

    class Meta:
        proxy = True
        triggers = [
            pgtrigger.Trigger(
                name="context_sealed_no_update",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                func=(
                    "IF EXISTS (SELECT 1 FROM truststream_sealedcontext "
                    "WHERE context_id = OLD.id) THEN "
                    "RAISE EXCEPTION 'pgtrigger: Cannot update the context % of sealed audit "
                    "events', OLD.id; END IF; RETURN NEW;"
                ),
            ),
            pgtrigger.Protect(name="context_no_delete", operation=pgtrigger.Delete),
            refuse_truncate("context_no_truncate"),
        ]


class NotificationKind(models.TextChoices):
    MENTION = "mention", "Someone mentions you"
    TASK_ASSIGNED = "task_assigned", "A task or checklist item is assigned to you"
    TASK_OVERDUE = "task_overdue", "A task of yours falls overdue"
    ROLE_ASSIGNED = "role_assigned", "An approval role is given to you"
    SIGNATURE_STALE = "signature_stale", "A signature of yours turns stale"
    APPROVAL_EXPIRING = "approval_expiring", "An approval of yours expires in three days"
    PACKET_READY = "packet_ready", "A packet you asked for is ready"


class Delivery(models.TextChoices):
    IMMEDIATELY = "immediately", "Immediately"
    DAILY = "daily", "In a daily digest"
    NEVER = "never", "Never"


@tracked()
class Notification(models.Model):
    """Something a person is told about: shown under the bell, and emailed as they chose.

    `key` names the event it tells of (e.g. "task:12:overdue"), so that the same event is
    told once however often the code that finds it runs.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    plan_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    key = models.CharField(max_length=100)
    text = models.CharField(max_length=500)
    # The email's subject when it should be shorter than the text (blank: the text).
    subject = models.CharField(max_length=200, blank=True)
    url = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # How it is emailed, fixed when it is made; emailed_at once it was (alone or in a digest).
    delivery = models.CharField(max_length=12, choices=Delivery.choices)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # An immediate email not sent yet (Redis was away when it was queued, the mail server
    # refused through every retry) is queued again by `notification_emails_requeue`:
    # email_queued_at is when it last was (blank: when it was made), email_given_up_at when
    # that sweep stopped trying (NOTIFICATION_EMAIL_GIVE_UP_HOURS after it was made).
    email_queued_at = models.DateTimeField(null=True, blank=True)
    email_given_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_event")
        ]
        indexes = [
            models.Index(
                fields=["user", "created_at"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(
                fields=["delivery", "created_at"],
                condition=models.Q(emailed_at__isnull=True),
                name="notification_to_email",
            ),
        ]

    def __str__(self) -> str:
        return self.text


class OutboxEmail(models.Model):
    """An email the site owes someone (an invitation, "you were added to a plan", "your tokens
    were revoked"): written in the transaction of the change that causes it, so that it
    outlives Redis being away when that change commits. `email_send` renders and sends it at
    most once (compare-and-set on `sent_at`); `emails_requeue` queues again those still unsent
    NOTIFICATION_EMAIL_RETRY_SECONDS after they were last queued, and gives up on those older
    than NOTIFICATION_EMAIL_GIVE_UP_HOURS. Notifications keep their own columns for this.

    `kind` names the renderer an app registered for it (truststream.outbox); `ref_id` is the
    row it tells of (an invitation, a membership), read afresh when it is sent, and `context`
    what the email needs that no row keeps. `cancelled_at`: its renderer found it no longer
    wanted when it came to be sent (the invitation was withdrawn, the member removed)."""

    kind = models.CharField(max_length=40)
    to = models.EmailField()
    ref_id = models.BigIntegerField(null=True, blank=True)
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When it was last queued, and how many times it was (the first time and each sweep's).
    queued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    given_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(
                    sent_at__isnull=True, cancelled_at__isnull=True, given_up_at__isnull=True
                ),
                name="outbox_email_unsent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}"


@tracked()
class NotificationPreference(models.Model):
    """How a person wants to be told of one kind of thing; without a row, immediately."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    delivery = models.CharField(max_length=12, choices=Delivery.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} {self.delivery}"


@tracked()
class Team(models.Model):
    """An organisation-wide team ("Platform", "Security", "SRE"). Admins create teams; its
    maintainers add and remove members. Each team has its own guardian group: what a team may
    do on a plan is that group's object permissions, which its members hold through it."""

    name = models.CharField(max_length=100, validators=[single_line])
    slug = models.SlugField(max_length=60, unique=True)
    description = models.CharField(max_length=300, blank=True, validators=[single_line])
    # The value of the identity provider's group claim that makes a person a member at sign-in
    # (blank: none does). See docs/single-sign-on.md.
    sso_group = models.CharField("SSO group", max_length=150, blank=True, validators=[single_line])
    group = models.OneToOneField("auth.Group", on_delete=models.PROTECT, related_name="team")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="team_name_unique"),
            models.UniqueConstraint(
                fields=["sso_group"], condition=~Q(sso_group=""), name="team_sso_group_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


@tracked()
class TeamMembership(models.Model):
    class Role(models.TextChoices):
        MAINTAINER = "maintainer", "Maintainer"
        MEMBER = "member", "Member"

    class Source(models.TextChoices):
        # Added on the team's page, or by the identity provider's group claim at sign-in; a
        # sign-in only ever removes what a sign-in added.
        MANUAL = "manual", "Added by a maintainer"
        SSO = "sso", "From single sign-on"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.MEMBER)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="team_membership_one_per_user"),
            models.CheckConstraint(
                condition=Q(role__in=["maintainer", "member"]), name="team_membership_role_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=["manual", "sso"]), name="team_membership_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.team}"
