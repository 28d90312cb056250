"""Reads of readiness packets: the plan read once into a packet's data (`packet_contents`),
the audit events its seal covers, and the verification of a file or SHA-256 against the
packets of record. What follows from the data alone is `packets.py`'s. Nothing here writes
or queues a task."""

import hashlib
from dataclasses import dataclass

from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import Q

from checklists.history import total_history
from checklists.selectors import plan_checklists, readiness
from planning import fieldtypes, requirements
from planning.models import DeploymentPlan
from planning.selectors import document_rows, plan_members, requirement_specs
from signoffs import packets, pdfsign, snapshot
from signoffs.models import ReadinessPacket, Signoff
from signoffs.policies import RoleState, signoff_state
from signoffs.selectors import signoff_moments
from truststream.audit import current_marks, plan_events_feed
from truststream.models import AuditSeal


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _name(user) -> str | None:
    return (user.get_full_name() or user.email) if user is not None else None


def packet_contents(plan: DeploymentPlan) -> dict:
    """Everything a packet shows, as plain data: the signed sections exactly as signatures
    bind to them (`snapshot.sections`), plus what a reader needs beside them (names, who
    changed what and when, the readiness decision, the sign-off manifest). Its
    `packets.revision_digest` names the plan's revision. A fixed number of queries."""
    sections = snapshot.sections(plan)
    state = signoff_state(plan, sections)
    sections = {name: data for name, data in sections.items() if name != "phases"}
    result = readiness(plan)
    checklists = plan_checklists(plan)
    members = plan_members(plan)
    return {
        "format": packets.FORMAT,
        "plan": {
            "id": plan.pk,
            "title": plan.title,
            "release_version": plan.release_version,
            "environment": plan.get_environment_display(),
            "week1_start": plan.week1_start.isoformat(),
            "target_go_live": plan.target_go_live.isoformat(),
            "status": plan.status,
            "status_label": plan.get_status_display(),
            "signoff_threshold": plan.signoff_threshold,
            "playbook": {
                "key": plan.playbook.key,
                "revision": plan.playbook.revision,
                "title": plan.playbook.name,
            },
        },
        "sections": sections,
        "people": {m.user.email: _name(m.user) for m in members},
        "members": [
            {"email": m.user.email, "name": _name(m.user), "role": m.get_role_display()}
            for m in members
        ],
        "readiness_definition": plan.playbook.definition["readiness"],
        "readiness": {
            "total": str(result.total),
            "band": result.band["title"],
            "band_key": result.band["key"],
            "score_band": result.score_band["title"],
            "complete": result.complete,
            "blockers": [item.text for item in result.blockers],
            "advice": [advice.text for advice in result.advice],
            "categories": [
                {
                    "key": c.key,
                    "title": c.title,
                    "weight": c.weight,
                    "score": c.score,
                    "suggested": c.suggested,
                    "weighted": str(c.weighted),
                    "rationale": c.rationale,
                    "scored_by": _name(c.scored_by),
                    "scored_at": _iso(c.scored_at),
                }
                for c in result.categories
            ],
        },
        "checklists": [
            {
                "key": checklist.key,
                "title": checklist.title,
                "done": checklist.done,
                "total": checklist.total,
                "items": [
                    {
                        "id": item.pk,
                        "text": item.text,
                        "critical": item.critical,
                        "state": item.get_state_display(),
                        "reason": item.na_reason,
                        "note": item.note,
                        "links": [link.url for link in item.links.all()],
                        "files": [
                            {"name": f.name, "sha256": f.sha256, "size": f.size}
                            for f in item.files.all()
                        ],
                        "changed_by": _name(item.changed_by),
                        "changed_at": _iso(item.changed_at),
                    }
                    for item in checklist.item_list
                ],
            }
            for checklist in checklists
        ],
        "requirements": [
            {
                "kind": spec.kind,
                "title": spec.title,
                "rows": [
                    [
                        section.replace("_", " ").capitalize(),
                        requirements.label(name, field),
                        fieldtypes.display(field, spec.values.get(section, {}).get(name)),
                    ]
                    for section, name, field in requirements.fields(spec.definition)
                ],
            }
            for spec in requirement_specs(plan)
        ],
        "documents": [
            {
                "title": d.title,
                "category": d.get_category_display(),
                "status": d.get_status_display(),
                "owner": _name(d.owner),
                "link": d.link,
            }
            for d in document_rows(plan)
        ],
        "signoffs": {
            "signed_off": state.signed_off,
            "approvals_complete": state.approvals_complete,
            "documentation_open": [item["text"] for item in state.documentation_open],
            "roles": [
                {
                    "role": role.requirement.role,
                    "title": role.requirement.title,
                    "approves": role.requirement.approves,
                    "covers": role.requirement.covers,
                    "required": role.requirement.required,
                    "holder": _name(role.requirement.assignee),
                    "state": role.state,
                    "state_label": role.label,
                    "current_digest": role.current_digest,
                    "changed_sections": role.changed_sections,
                    # A team's role has its members' `signatures` instead (_role_policy).
                    "signature": _signature(role.latest)
                    if role.latest and not role.is_team
                    else None,
                }
                | _role_policy(role)
                for role in state.roles
            ],
        },
        # The score history chart's data: the weighted total's steps and the moments of
        # sign-off (the packet draws it up to when it was asked for).
        "readiness_history": {
            "start": _iso(plan.created_at),
            "steps": [{"at": _iso(s.at), "total": str(s.total)} for s in total_history(plan)],
            "moments": [
                {"at": _iso(m.at), "kind": m.kind, "label": m.label} for m in signoff_moments(plan)
            ],
        },
    }


def _signature(signoff: Signoff) -> dict:
    return {
        "printed_name": signoff.printed_name,
        "role_title": signoff.role_title,
        "decision": signoff.get_decision_display(),
        "meaning": signoff.meaning,
        "signed_at": _iso(signoff.signed_at),
        "digest": signoff.digest,
        # What each covered section was when it was signed: a reader of the packet
        # recomputes them from its sections to see what changed.
        "section_digests": signoff.section_digests,
        "comment": signoff.comment,
        "reason": signoff.reason,
    } | ({"on_behalf_of": _name(signoff.on_behalf_of)} if signoff.on_behalf_of_id else {})


def _role_policy(role: RoleState) -> dict:
    """A role's policy in the packet, where it is not the guide's default (one person, no
    expiry), so that packets of plans that keep the default read as they always did. A team's
    role lists each current member's signature that speaks for it."""
    if not role.is_team and not role.requirement.approval_days:
        return {}
    policy = {"policy": role.policy, "progress": role.progress}
    if role.is_team:
        policy["team"] = role.requirement.team.name
        policy["quorum"] = role.quorum
        policy["signatures"] = [_signature(signoff) for signoff in role.counting]
    return policy


def packet_audit_events(packet: ReadinessPacket):
    """The plan's events that the packet's seal covers (up to its mark in each table), newest
    first: what the packet prints is exactly what was sealed."""
    seal = AuditSeal.objects.get(plan_id=packet.plan_id, number=packet.seal_number)
    sealed = Q(pk__in=[])
    for label, mark in current_marks(seal.marks).items():
        sealed |= Q(pgh_model=label, pgh_id__lte=mark)
    return plan_events_feed(packet.plan_id).filter(sealed)


@dataclass
class Verification:
    """What the verify page says about a file or a SHA-256."""

    sha256: str
    packet: ReadinessPacket | None
    signature: object = None  # pdfsign.SignatureCheck, when there is a file to check
    superseded: bool = False
    member: bool = False

    @property
    def of_record(self) -> bool:
        return self.packet is not None


def packet_verify(*, upload: File | None, sha256: str, user) -> Verification:
    """Find the packet of record a file (or its SHA-256) is, and check its signature.

    `upload` is read a chunk at a time, never whole; the caller has checked its size."""
    if upload is not None:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        sha256 = digest.hexdigest()
    packet = (
        ReadinessPacket.objects.select_related("plan", "requested_by")
        .filter(sha256=sha256, status=ReadinessPacket.Status.READY)
        .first()
    )
    signature = None
    if upload is not None:
        signature = pdfsign.check(upload)
    elif packet is not None:
        # Read from the shared storage (the worker that rendered it may be on another machine).
        try:
            with default_storage.open(packet.file.name, "rb") as handle:
                signature = pdfsign.check(handle)
        except FileNotFoundError:
            signature = pdfsign.SignatureCheck(
                present=False,
                problem="The stored copy of this packet is missing, so its signature could "
                "not be checked; upload the file instead.",
            )
    verification = Verification(sha256=sha256, packet=packet, signature=signature)
    if packet is not None:
        # Whether the plan moved on is today's state of the plan, not something the file
        # says: members only.
        verification.member = packet.plan.memberships.filter(user=user).exists()
        if verification.member:
            current = packets.revision_digest(packet_contents(packet.plan))
            verification.superseded = packets.packet_superseded(packet, current)
    return verification
