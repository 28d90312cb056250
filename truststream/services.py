"""Writes of the core app: personal API tokens, notifications and teams."""

import datetime
import hashlib
import logging
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from truststream import outbox
from truststream.models import (
    ApiToken,
    Delivery,
    Notification,
    NotificationKind,
    NotificationPreference,
    OutboxEmail,
    Team,
    TeamMembership,
)
from truststream.ratelimit import rate_limit
from truststream.signals import team_left
from truststream.tasks import notification_email as notification_email_task
from truststream.tasks import outbox_email_send as outbox_email_send_task
from truststream.validators import email_subject

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "tsr_"  # noqa: S105 - marks our tokens for secret scanners; not a secret
MAX_ACTIVE_TOKENS = 20


def token_digest(token: str) -> str:
    # Tokens carry 256 random bits, so one SHA-256 is enough to store them safely.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def token_create(
    *, user, name: str, expires_at: datetime.datetime | None = None
) -> tuple[ApiToken, str]:
    """Make a token for `user`; returns it with the plain token, which is never stored."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the token a name, such as the pipeline using it."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "Choose a time in the future."})
    # Lock the user's row so that two creations at once cannot both pass the limit.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    active = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    if active.count() >= MAX_ACTIVE_TOKENS:
        raise ValidationError(f"You have {MAX_ACTIVE_TOKENS} tokens; revoke one first.")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name,
        prefix=plain[: len(TOKEN_PREFIX) + 6],
        digest=token_digest(plain),
        expires_at=expires_at,
    )
    token.full_clean()
    token.save()
    return token, plain


@transaction.atomic
def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


@transaction.atomic
def tokens_revoke_all(*, user, reason: str) -> list[str]:
    """Revoke every token of `user` still in force; they are emailed the names of those revoked
    and `reason` (a sentence: "your password was changed") once this commits. Returns the
    names."""
    active = ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True)
    names = list(active.order_by("created_at", "id").values_list("name", flat=True))
    if names:
        active.update(revoked_at=timezone.now())
        email_queue(
            kind=outbox.TOKENS_REVOKED,
            to=user.email,
            context={"names": names, "reason": reason},
        )
    return names


def token_find(plain: str) -> ApiToken | None:
    """The token in force that `plain` is (its user active, loaded with it), or None for an
    unknown, revoked or expired one. Records its use."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(plain), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    now = timezone.now()
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        return None
    # Last use to the minute is enough, and spares a write on every call.
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_authenticate(plain: str):
    """The active user a token belongs to, or None for an unknown, revoked or expired token."""
    token = token_find(plain)
    return token.user if token is not None else None


def token_throttle(*, token: ApiToken) -> int:
    """Count one call made with `token`: 0 while it is within API_RATE_PER_MINUTE calls this
    minute, else the seconds until it may call again."""
    return rate_limit(f"api:{token.pk}", limit=settings.API_RATE_PER_MINUTE, seconds=60)


# Notifications


def notification_delivery(user, kind: str) -> str:
    preference = NotificationPreference.objects.filter(user=user, kind=kind).first()
    return preference.delivery if preference else Delivery.IMMEDIATELY


def notification_send(
    *,
    user,
    kind: str,
    key: str,
    text: str,
    url: str,
    plan_id: int | None = None,
    subject: str = "",
) -> Notification | None:
    """Tell `user` of something, as they chose for its kind, once per `key`; an immediate
    email is headed `subject` when one is given, else the text.

    Call it inside the transaction that made the change: an immediate email is queued when
    that commits. Nothing is made for a kind they chose never to hear of.
    """
    delivery = notification_delivery(user, kind)
    if delivery == Delivery.NEVER:
        return None
    notification, created = Notification.objects.get_or_create(
        user=user,
        key=key[:100],
        defaults={
            "kind": kind,
            "text": text[:500],
            "subject": subject[:200],
            "url": url[:500],
            "plan_id": plan_id,
            "delivery": delivery,
        },
    )
    if created and delivery == Delivery.IMMEDIATELY:
        transaction.on_commit(lambda: notification_email_task.delay(notification.pk), robust=True)
    return notification if created else None


def notification_emails_requeue(*, limit: int = 500) -> list[int]:
    """Queue again the immediate emails not sent NOTIFICATION_EMAIL_RETRY_SECONDS after they
    were last queued (Redis was away when the change committed, or the mail server refused
    through every retry); give up, and log, those whose notification is older than
    NOTIFICATION_EMAIL_GIVE_UP_HOURS. Returns the ids queued, once this commits.

    The email task sends each at most once (compare-and-set on `emailed_at`), so a message
    that was only late and this one do not both send."""
    now = timezone.now()
    unsent = Notification.objects.filter(
        delivery=Delivery.IMMEDIATELY, emailed_at__isnull=True, email_given_up_at__isnull=True
    )
    with transaction.atomic():
        too_old = list(
            unsent.filter(
                created_at__lt=now
                - datetime.timedelta(hours=settings.NOTIFICATION_EMAIL_GIVE_UP_HOURS)
            ).values_list("pk", flat=True)[:limit]
        )
        if too_old:
            Notification.objects.filter(pk__in=too_old).update(email_given_up_at=now)
            logger.error(
                "Gave up emailing %d notification(s), still unsent after %d hours: ids %s",
                len(too_old),
                settings.NOTIFICATION_EMAIL_GIVE_UP_HOURS,
                too_old,
            )
        cutoff = now - datetime.timedelta(seconds=settings.NOTIFICATION_EMAIL_RETRY_SECONDS)
        # Skip rows a sending worker holds: it is sending them now.
        due = list(
            unsent.select_for_update(skip_locked=True)
            .filter(
                Q(email_queued_at__lte=cutoff)
                | Q(email_queued_at__isnull=True, created_at__lte=cutoff)
            )
            .order_by("created_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        Notification.objects.filter(pk__in=due).update(email_queued_at=now)
        if due:
            logger.warning("Queued %d unsent notification email(s) again: ids %s", len(due), due)
            transaction.on_commit(lambda: [notification_email_task.delay(pk) for pk in due])
    return due


# The outbox: emails other than notifications, kept in Postgres until they are sent.


@transaction.atomic
def email_queue(
    *, kind: str, to: str, ref_id: int | None = None, context: dict | None = None
) -> OutboxEmail:
    """Owe `to` an email of `kind` (a kind registered in truststream.outbox), about the row
    `ref_id` and with `context` (JSON) for what no row keeps. Call it inside the transaction of
    the change that causes it: the row commits with that change, and the email is queued once
    it does. With Redis away the change still commits, and `emails_requeue` queues it later."""
    if kind not in outbox.RENDERERS:
        raise ValueError(f"No renderer is registered for outbox emails of kind {kind!r}.")
    email = OutboxEmail.objects.create(
        kind=kind,
        to=to,
        ref_id=ref_id,
        context=context or {},
        queued_at=timezone.now(),
        attempts=1,
    )
    email_id = email.pk
    transaction.on_commit(lambda: outbox_email_send_task.delay(email_id), robust=True)
    return email


OUTBOX_KEPT = datetime.timedelta(days=30)


def email_send(*, email_id: int) -> bool:
    """Send one outbox email, at most once however often it was queued; True if this call sent
    it. One whose renderer finds it no longer wanted is cancelled instead; one already sent,
    cancelled or given up is left alone. When the mail server fails, nothing is marked and the
    sweep queues it again."""
    email = OutboxEmail.objects.filter(pk=email_id).first()
    if email is None:
        return False
    try:
        rendered = outbox.render(email)
    except LookupError:
        logger.exception("Cannot write outbox email %d; the sweep gives up on it later", email_id)
        return False
    with transaction.atomic():
        waiting = OutboxEmail.objects.filter(
            pk=email_id, sent_at__isnull=True, cancelled_at__isnull=True, given_up_at__isnull=True
        )
        if rendered is None:
            waiting.update(cancelled_at=timezone.now())
            return False
        # Marked and sent in one transaction: the mark is undone if sending fails, and the row
        # stays locked meanwhile, so a second message for it waits, then finds it sent.
        if not waiting.update(sent_at=timezone.now()):
            return False
        subject, body = rendered
        send_mail(
            # A header holds one line: titles written elsewhere may carry line breaks.
            subject=email_subject(subject),
            message=body,
            from_email=None,
            recipient_list=[email.to],
        )
    return True


def emails_requeue(*, limit: int = 500) -> list[int]:
    """Queue again the outbox emails still unsent NOTIFICATION_EMAIL_RETRY_SECONDS after they
    were last queued (Redis was away, the worker died, the mail server refused); give up, and
    log, those made more than NOTIFICATION_EMAIL_GIVE_UP_HOURS ago; delete those sent or
    cancelled more than OUTBOX_KEPT ago (given-up ones stay). Returns the ids queued,
    once this commits. `email_send` sends each at most once, so a message that was only late
    and this one do not both send."""
    now = timezone.now()
    unsent = OutboxEmail.objects.filter(
        sent_at__isnull=True, cancelled_at__isnull=True, given_up_at__isnull=True
    )
    with transaction.atomic():
        too_old = list(
            unsent.filter(
                created_at__lt=now
                - datetime.timedelta(hours=settings.NOTIFICATION_EMAIL_GIVE_UP_HOURS)
            ).values_list("pk", flat=True)[:limit]
        )
        if too_old:
            OutboxEmail.objects.filter(pk__in=too_old).update(given_up_at=now)
            logger.error(
                "Gave up sending %d outbox email(s), still unsent after %d hours: ids %s",
                len(too_old),
                settings.NOTIFICATION_EMAIL_GIVE_UP_HOURS,
                too_old,
            )
        cutoff = now - datetime.timedelta(seconds=settings.NOTIFICATION_EMAIL_RETRY_SECONDS)
        # Skip rows a sending worker holds: it is sending them now.
        due = list(
            unsent.select_for_update(skip_locked=True)
            .filter(queued_at__lte=cutoff)
            .order_by("created_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        OutboxEmail.objects.filter(pk__in=due).update(queued_at=now, attempts=F("attempts") + 1)
        if due:
            logger.warning("Queued %d unsent outbox email(s) again: ids %s", len(due), due)
            transaction.on_commit(lambda: [outbox_email_send_task.delay(pk) for pk in due])
        # Sent and cancelled rows are kept a while for whoever asks "was it sent?", then go.
        OutboxEmail.objects.filter(
            Q(sent_at__lt=now - OUTBOX_KEPT) | Q(cancelled_at__lt=now - OUTBOX_KEPT)
        ).delete()
    return due


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read: these ones, or all of them."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


@transaction.atomic
def notification_preferences_set(*, user, choices: dict[str, str]) -> None:
    """Set how the user hears of each kind; all or nothing."""
    for kind, delivery in choices.items():
        if kind not in NotificationKind.values:
            raise ValidationError({kind: "Unknown kind of notification."})
        if delivery not in Delivery.values:
            raise ValidationError({kind: "Choose immediately, a daily digest or never."})
    for kind, delivery in choices.items():
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"delivery": delivery}
        )


# Teams. The caller has checked who may do this: an admin creates teams, a team's maintainers
# (or an admin) change its members. A member holds the team's rights through its guardian
# group, which is changed in the same transaction as the membership.


def _lock_team(team: Team) -> Team:
    # Serialises changes of one team's members, so that two maintainers adding the same person
    # at once get one membership and a clear refusal.
    return Team.objects.select_for_update().get(pk=team.pk)


@transaction.atomic
def team_create(
    *, actor, name: str, slug: str = "", description: str = "", sso_group: str = ""
) -> Team:
    name, sso_group = name.strip(), sso_group.strip()
    slug = slug.strip() or slugify(name)[:60]
    if name and not slug:
        raise ValidationError(
            {
                "name": "Use letters or digits: the team's short name, in its address, is made "
                "from them."
            }
        )
    if Team.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": "A team with this name exists already."})
    if Team.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": "A team with this short name exists already."})
    if sso_group and Team.objects.filter(sso_group=sso_group).exists():
        raise ValidationError({"sso_group": "Another team is mapped to this SSO group."})
    team = Team(
        name=name, slug=slug, description=description.strip(), sso_group=sso_group, created_by=actor
    )
    # The group is the team's permissions holder; its name only has to be unique.
    team.group = Group(name=f"team:{slug}")
    team.full_clean(exclude=["group"])
    team.group.save()
    team.save()
    return team


def _check_team_role(role: str) -> None:
    if role not in TeamMembership.Role.values:
        raise ValidationError(
            {"role": f"{role!r} is not a team role; choose member or maintainer."}
        )


def _team_join(*, team: Team, user, role: str, source: str, added_by) -> TeamMembership:
    # The caller holds the team's lock and has checked that the user is not a member yet.
    membership = TeamMembership.objects.create(
        team=team, user=user, role=role, source=source, added_by=added_by
    )
    user.groups.add(team.group_id)
    return membership


def _team_leave(membership: TeamMembership) -> None:
    membership.user.groups.remove(membership.team.group_id)
    membership.delete()
    team_left.send(sender=Team, team=membership.team, user=membership.user)


@transaction.atomic
def team_member_add(*, team: Team, actor, email: str, role: str) -> TeamMembership:
    """Add an existing account, found by email, to the team."""
    _check_team_role(role)
    team = _lock_team(team)
    user = get_user_model().objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        raise ValidationError({"email": "No account has this email address."})
    if team.memberships.filter(user=user).exists():
        raise ValidationError({"email": f"{user.email} is already a member of this team."})
    return _team_join(
        team=team, user=user, role=role, source=TeamMembership.Source.MANUAL, added_by=actor
    )


@transaction.atomic
def team_member_change_role(*, membership: TeamMembership, role: str) -> TeamMembership:
    _check_team_role(role)
    _lock_team(membership.team)
    # A membership the maintainer now sets by hand is theirs to keep: sign-ins leave it alone.
    TeamMembership.objects.filter(pk=membership.pk).update(
        role=role, source=TeamMembership.Source.MANUAL
    )
    return TeamMembership.objects.select_related("team", "user").get(pk=membership.pk)


@transaction.atomic
def team_member_remove(*, membership: TeamMembership) -> None:
    """Take someone out of the team: the rights the team gave them end in this transaction,
    and where the team was their only way into a plan, they leave it (`team_left`)."""
    _lock_team(membership.team)
    membership = TeamMembership.objects.select_related("team", "user").get(pk=membership.pk)
    _team_leave(membership)


@transaction.atomic
def team_memberships_sync(*, user, groups: list[str]) -> None:
    """Make the user's team memberships follow their identity provider's group claim, at
    sign-in: they join each team mapped to one of `groups`, and leave the teams that a sign-in
    added them to and that their groups no longer name. Memberships a maintainer made stay."""
    mapped = Team.objects.filter(sso_group__in=[group for group in groups if group])
    wanted = set(mapped.values_list("pk", flat=True))
    held = {m.team_id: m for m in TeamMembership.objects.filter(user=user).select_related("team")}
    for team_id in sorted(wanted - held.keys()):
        team = _lock_team(Team(pk=team_id))
        if not team.memberships.filter(user=user).exists():
            _team_join(
                team=team,
                user=user,
                role=TeamMembership.Role.MEMBER,
                source=TeamMembership.Source.SSO,
                added_by=None,
            )
    for team_id, membership in sorted(held.items()):
        if team_id not in wanted and membership.source == TeamMembership.Source.SSO:
            _lock_team(membership.team)
            _team_leave(membership)
