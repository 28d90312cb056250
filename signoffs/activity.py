"""How the activity feed words the events of signoffs' models: approval roles, signatures and
readiness packets. `register` is called from `SignoffsConfig.ready()`."""

from signoffs.models import Delegation, ReadinessPacket, Signoff, SignoffRequirement
from truststream import activity
from truststream.activity import Rules, choice, quote, url

# Sign-offs


def _role_assignee(change, look):
    title, new = change.data.get("title"), change.data.get("assignee_id")
    if new:
        return f"gave the {title} role to {look.person(new)}", ""
    old = change.was("assignee_id")
    return f"took the {title} role from {look.person(old)}", ""


_ROLE = Rules(
    noun="approval role",
    name=lambda c, look: quote(c.data.get("title")),
    link=lambda c, look: url(
        "signoffs:signoffs", look.plan_id, anchor=f"role-{c.data.get('role')}"
    ),
    fields={
        "assignee_id": _role_assignee,
        "team_id": lambda c, look: (
            f"gave the {c.data.get('title')} role to a team (any {c.data.get('quorum')})"
            if c.data.get("team_id")
            else f"gave the {c.data.get('title')} role back to one person",
            "",
        ),
        "quorum": lambda c, look: (
            f"set the {c.data.get('title')} quorum to {c.data.get('quorum')}",
            "",
        ),
        "approval_days": lambda c, look: (
            f"made {c.data.get('title')} approvals expire after {c.data.get('approval_days')} days"
            if c.data.get("approval_days")
            else f"made {c.data.get('title')} approvals not expire",
            "",
        ),
        "required": lambda c, look: (
            f"made the {c.data.get('title')} sign-off "
            + ("required" if c.data.get("required") else "optional"),
            "",
        ),
    },
)


def _signature(change, look):
    return f"{change.data.get('printed_name')}'s signature as {change.data.get('role_title')}"


def _signed(change, look):
    data = change.data
    role, decision = data.get("role_title"), data.get("decision")
    detail = data.get("reason") if decision == "reject" else data.get("comment")
    if change.actor_id and change.actor_id == data.get("signer_id"):
        if decision == "reject":
            return f"rejected as {role}", detail
        return f"signed as {role} ({decision})", detail
    return f"recorded {_signature(change, look)} ({decision})", detail


_SIGNOFF = Rules(
    noun="",
    name=_signature,
    link=lambda c, look: url("signoffs:signoffs", look.plan_id, anchor="signature-history"),
    insert=_signed,
    fields={
        "expiry_warned_at": lambda c, look: (
            f"told {c.data.get('printed_name')} that their approval as "
            f"{c.data.get('role_title')} is about to expire",
            "",
        ),
        "stale_notified_at": lambda c, look: (
            f"told {c.data.get('printed_name')} that their signature as "
            f"{c.data.get('role_title')} is stale",
            "",
        ),
    },
)


# Deputies


def _delegation(change, look):
    data = change.data
    return (
        f"{look.person(data.get('deputy_id'))} as deputy of {look.person(data.get('holder_id'))}"
        f" ({data.get('starts_on')} to {data.get('ends_on')})"
    )


_DELEGATION = Rules(
    noun="deputy",
    name=_delegation,
    link=lambda c, look: url("signoffs:signoffs", look.plan_id),
    insert=lambda c, look: (f"named {_delegation(c, look)}", ""),
    fields={"ended_at": lambda c, look: (f"ended {_delegation(c, look)}", "")},
)


# Packets


def _packet_name(change, look):
    return f"revision {change.data.get('revision')} ({change.data.get('kind')})"


def _packet_status(change, look):
    packet, status = f"packet {_packet_name(change, look)}", change.data.get("status")
    if status == "queued":
        return f"asked again for {packet}", ""
    if status == "rendering":
        return f"started rendering {packet}", ""
    if status == "ready":
        return f"rendered {packet}", ""
    if status == "failed":
        return f"could not render {packet}", change.data.get("failure", "")
    return f"set {packet} to {choice(ReadinessPacket, 'status', status)}", ""


_PACKET = Rules(
    noun="packet",
    name=_packet_name,
    link=lambda c, look: url("signoffs:packet_list", look.plan_id, anchor=f"packet-{c.id}"),
    insert=lambda c, look: (f"asked for packet {_packet_name(c, look)}", ""),
    fields={
        "status": _packet_status,
        "queued_at": lambda c, look: (f"queued packet {_packet_name(c, look)} again", ""),
    },
    # What rendering fills in along with the status, which tells of it.
    quiet=frozenset(
        {"attempts", "failure", "file", "size", "sha256", "rendered_at", "render_seconds"}
    ),
)


def register() -> None:
    """Register the kinds and rules of signoffs with the activity feed."""
    activity.register_kind("signoffs", "Sign-offs")
    activity.register_kind("packets", "Packets")
    activity.register(SignoffRequirement, _ROLE, kind="signoffs", copied_with_the_plan=True)
    activity.register(Signoff, _SIGNOFF, kind="signoffs")
    activity.register(Delegation, _DELEGATION, kind="signoffs")
    activity.register(ReadinessPacket, _PACKET, kind="packets")
