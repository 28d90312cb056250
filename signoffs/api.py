"""The sign-offs part of the JSON API: the sign-off state and readiness packets (mounted with
the rest in `gates.api`; the authentication and errors are `truststream.api`'s)."""

import datetime
from typing import Literal

from django.urls import reverse
from ninja import Router, Schema, Status
from pydantic import Field

from planning.access import CHANGE, VIEW, get_plan_for_user
from signoffs import packet_selectors, packets, policies, services
from signoffs.models import ReadinessPacket
from signoffs.views import packet_file
from truststream.api import ERRORS, InvalidOut, PathId

router = Router(tags=["sign-offs and packets"])


class SignatureOut(Schema):
    signer: str
    decision: Literal["approve", "reject"]
    meaning: str
    comment: str
    reason: str
    signed_at: datetime.datetime
    digest: str = Field(description="The SHA-256 of the sections it covers, when signed")


class RoleOut(Schema):
    role: str
    title: str
    required: bool
    holder: str | None = Field(description="The email of the person holding the role")
    state: Literal["missing", "not_holder", "stale", "approved", "rejected"]
    label: str
    current_digest: str = Field(description="The SHA-256 of its sections as they are now")
    changed_sections: list[str] = Field(description="For a stale signature: what changed")
    latest: SignatureOut | None


class DocumentationItemOut(Schema):
    text: str
    state: str


class SignoffStateOut(Schema):
    status: str = Field(description="The plan's status")
    signed_off: bool = Field(description="Every required role approved the plan as it is now")
    approvals_complete: bool
    documentation_complete: bool
    roles: list[RoleOut]
    documentation_open: list[DocumentationItemOut]


class PacketOut(Schema):
    id: int
    revision: int
    kind: Literal["final", "draft"]
    status: Literal["queued", "rendering", "ready", "failed"]
    failure: str
    superseded: bool = Field(description="The plan changed since the packet's revision")
    content_digest: str
    requested_at: datetime.datetime
    rendered_at: datetime.datetime | None
    size: int | None
    sha256: str | None = Field(description="The PDF's SHA-256, once ready")
    download: str | None = Field(description="Where the API serves the PDF, once ready")


class PacketIn(Schema):
    kind: Literal["final", "draft"] = Field(
        description="final needs a plan signed off on its content as it is now"
    )


def _name(user) -> str:
    return user.get_full_name() or user.email


@router.get("/plans/{plan_id}/signoffs", response={200: SignoffStateOut, **ERRORS})
def get_signoffs(request, plan_id: PathId):
    """Each approval role with its latest decision, judged against the plan's digests now."""
    plan = get_plan_for_user(request.user, plan_id, VIEW)
    state = policies.signoff_state(plan)
    roles = []
    for role in state.roles:
        requirement, latest = role.requirement, role.latest
        roles.append(
            {
                "role": requirement.role,
                "title": requirement.title,
                "required": requirement.required,
                "holder": requirement.assignee.email if requirement.assignee_id else None,
                "state": role.state,
                "label": role.label,
                "current_digest": role.current_digest,
                "changed_sections": role.changed_sections,
                "latest": None
                if latest is None
                else {
                    "signer": latest.printed_name,
                    "decision": latest.decision,
                    "meaning": latest.meaning,
                    "comment": latest.comment,
                    "reason": latest.reason,
                    "signed_at": latest.signed_at,
                    "digest": latest.digest,
                },
            }
        )
    return {
        "status": plan.status,
        "signed_off": state.signed_off,
        "approvals_complete": state.approvals_complete,
        "documentation_complete": state.documentation_complete,
        "roles": roles,
        "documentation_open": [
            {"text": item["text"], "state": item["state"]} for item in state.documentation_open
        ],
    }


def _packet_out(request, packet: ReadinessPacket, current_digest: str) -> dict:
    ready = packet.status == ReadinessPacket.Status.READY
    download = None
    if ready:
        path = reverse("api-v1:download_packet", args=[packet.plan_id, packet.pk])
        download = request.build_absolute_uri(path)
    return {
        "id": packet.pk,
        "revision": packet.revision,
        "kind": packet.kind,
        "status": packet.status,
        "failure": packet.failure,
        "superseded": packets.packet_superseded(packet, current_digest),
        "content_digest": packet.content_digest,
        "requested_at": packet.requested_at,
        "rendered_at": packet.rendered_at,
        "size": packet.size,
        "sha256": packet.sha256 or None,
        "download": download,
    }


def _current_digest(plan) -> str:
    return packets.revision_digest(packet_selectors.packet_contents(plan))


@router.get("/plans/{plan_id}/packets", response={200: list[PacketOut], **ERRORS})
def list_packets(request, plan_id: PathId):
    """The plan's readiness packets, newest revision first."""
    plan = get_plan_for_user(request.user, plan_id, VIEW)
    current = _current_digest(plan)
    rows = plan.packets.order_by("-revision", "kind", "-id")
    return [_packet_out(request, packet, current) for packet in rows]


@router.post(
    "/plans/{plan_id}/packets",
    response={202: PacketOut, 400: InvalidOut, **ERRORS},
)
def request_packet(request, plan_id: PathId, payload: PacketIn):
    """Ask for a packet of the plan as it is now (editors and owners). The worker renders it;
    poll the list until its status is ready. Asking again for the same revision gives the
    same packet."""
    plan = get_plan_for_user(request.user, plan_id, CHANGE)
    packet = services.packet_request(plan=plan, requested_by=request.user, kind=payload.kind)
    packet = ReadinessPacket.objects.get(pk=packet.pk)
    return Status(202, _packet_out(request, packet, packet.content_digest))


PDF = {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}


@router.get(
    "/plans/{plan_id}/packets/{packet_id}/download",
    response={**ERRORS},
    openapi_extra={"responses": {200: {"description": "The signed PDF", **PDF}}},
)
def download_packet(request, plan_id: PathId, packet_id: PathId):
    """The packet's PDF, streamed from storage (404 until it is ready)."""
    return packet_file(get_plan_for_user(request.user, plan_id, VIEW), packet_id)
