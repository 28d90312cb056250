"""Every write of the planning app, by subject: playbooks, plans and their lock, the next
environment, members (memberships, invitations, plan teams), people, tasks, the register.
Callers have already checked the acting user's access.

The public names are here, so that callers write `services.plan_create(...)` whichever
module holds it.
"""

from planning.services.locks import plan_lock_writable
from planning.services.members import (
    invitation_accept,
    invitation_create,
    invitation_withdraw,
    membership_add,
    membership_change_role,
    membership_remove,
    plan_team_add,
    plan_team_change_role,
    plan_team_remove,
    plan_teams_release,
)
from planning.services.next_environment import NoNextEnvironment, plan_create_next
from planning.services.people import PERSON_SHOWN, person_shown_before, person_shown_changed
from planning.services.plans import (
    PLAN_EDITABLE_FIELDS,
    plan_archive,
    plan_create,
    plan_restore,
    plan_update,
)
from planning.services.playbooks import PlaybookInvalid, playbook_load
from planning.services.register import (
    DOCUMENT_FIELDS,
    contact_create,
    contact_delete,
    contact_update,
    document_include,
    document_update,
    requirement_import,
    requirement_update,
)
from planning.services.tasks import (
    TASK_FIELDS,
    overdue_notify,
    task_create,
    task_delete,
    task_move,
    task_update,
)

__all__ = [
    "DOCUMENT_FIELDS",
    "PERSON_SHOWN",
    "PLAN_EDITABLE_FIELDS",
    "TASK_FIELDS",
    "NoNextEnvironment",
    "PlaybookInvalid",
    "contact_create",
    "contact_delete",
    "contact_update",
    "document_include",
    "document_update",
    "invitation_accept",
    "invitation_create",
    "invitation_withdraw",
    "membership_add",
    "membership_change_role",
    "membership_remove",
    "overdue_notify",
    "person_shown_before",
    "person_shown_changed",
    "plan_archive",
    "plan_create",
    "plan_create_next",
    "plan_lock_writable",
    "plan_restore",
    "plan_team_add",
    "plan_team_change_role",
    "plan_team_remove",
    "plan_teams_release",
    "plan_update",
    "playbook_load",
    "requirement_import",
    "requirement_update",
    "task_create",
    "task_delete",
    "task_move",
    "task_update",
]
