"""Every write of the sign-offs app, by subject: approval roles, signatures, packets.

The public names are here, so that callers write `services.signoff_record(...)` whichever
module holds it.
"""

from signoffs.services.packets import (
    PacketFailure,
    packet_fail,
    packet_release,
    packet_render,
    packet_request,
    packets_requeue,
)
from signoffs.services.roles import (
    delegation_create,
    delegation_end,
    role_assign,
    role_policy_set,
    role_set_required,
    roles_create,
    roles_release,
    roles_release_team,
    team_roles_resync,
)
from signoffs.services.signatures import after_plan_change, meaning, signoff_record

__all__ = [
    "PacketFailure",
    "after_plan_change",
    "delegation_create",
    "delegation_end",
    "meaning",
    "packet_fail",
    "packet_release",
    "packet_render",
    "packet_request",
    "packets_requeue",
    "role_assign",
    "role_policy_set",
    "role_set_required",
    "roles_create",
    "roles_release",
    "roles_release_team",
    "signoff_record",
    "team_roles_resync",
]
