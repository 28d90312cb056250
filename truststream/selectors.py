from django.db.models import Case, Count, QuerySet, When

from truststream.models import Notification, Team, TeamMembership


def unread_count(user) -> int:
    """The bell's count: the person's notifications not yet read (a partial index serves it)."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def teams_with_counts() -> QuerySet[Team]:
    """Every team with its number of members, by name. One query."""
    return Team.objects.annotate(member_count=Count("memberships")).order_by("name", "id")


def team_members(team: Team) -> list[TeamMembership]:
    """The team's members, maintainers first, then by email. One query."""
    return list(
        team.memberships.select_related("user").order_by(
            Case(When(role=TeamMembership.Role.MAINTAINER, then=0), default=1), "user__email"
        )
    )


def may_maintain(user, team: Team) -> bool:
    """An admin may change every team's members; a maintainer their team's."""
    return (
        user.is_staff
        or team.memberships.filter(user=user, role=TeamMembership.Role.MAINTAINER).exists()
    )
