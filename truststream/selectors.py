from truststream.models import Notification


def unread_count(user) -> int:
    """The bell's count: the person's notifications not yet read (a partial index serves it)."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
