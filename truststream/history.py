"""What every audited model shares: Postgres triggers record each insert, update and delete,
whatever made it (a view, a task, the admin, raw SQL), in an append-only event table."""

import pghistory


def audited() -> tuple:
    """The trackers for `@pghistory.track(*audited())`.

    New instances each time: pghistory trackers are bound to the model they decorate.
    """
    return (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
