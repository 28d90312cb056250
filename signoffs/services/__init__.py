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
from signoffs.services.roles import role_assign, role_set_required, roles_create, roles_release
from signoffs.services.signatures import after_plan_change, meaning, signoff_record

__all__ = [
    "PacketFailure",
    "after_plan_change",
    "meaning",
    "packet_fail",
    "packet_release",
    "packet_render",
    "packet_request",
    "packets_requeue",
    "role_assign",
    "role_set_required",
    "roles_create",
    "roles_release",
    "signoff_record",
]
