"""What the signed revision holds: the printed plan digest against the attached snapshot, and
each approval's recorded digests against the snapshot's sections."""

import datetime
import json

from truststream import canonical
from truststream.verify_packet.reading import attachment, keywords
from truststream.verify_packet.report import ATTACHMENT_NAME, FORMAT_PREFIX, Report


def _utc(text: str | None) -> str:
    if not text:
        return "—"
    moment = datetime.datetime.fromisoformat(text).astimezone(datetime.UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _signature_changes(problems, title, role, signature, now, sections, digests):
    """Whether the signature is current, and which of its sections changed since."""
    current = signature["digest"] == now
    recorded = signature.get("section_digests")
    if recorded is None:
        changed = [] if current else ["(format 1: not recorded)"]
    else:
        names = sorted(set(recorded) | set(canonical.covered(sections, role["covers"])))
        changed = [name for name in names if recorded.get(name) != digests.get(name)]
        if current and changed:
            problems.append(f"{title}: its section digests disagree with its digest")
    return current, changed


def _approval(role: dict, signature: dict, current: bool, changed: list, *, counts: bool):
    return {
        "role": str(role["title"]),
        "approves": str(role["approves"]),
        "signed": True,
        "name": str(signature["printed_name"]),
        "decision": str(signature["decision"]),
        "meaning": str(signature["meaning"]),
        "signed_at": _utc(signature["signed_at"]),
        "stale": not current,
        "changed_sections": changed,
        "counts": counts,
        "state": str(role["state_label"]),
    }


def _check_team_role(report, problems, role, now, sections, digests) -> None:
    """A team's role: each member's signature on its own, and an approval shown only where
    `quorum` of them are current approvals."""
    title = str(role["title"])
    approvals = 0
    for signature in role["signatures"]:
        current, changed = _signature_changes(
            problems, title, role, signature, now, sections, digests
        )
        approvals += current and signature["decision"] == "Approve"
        report.approvals.append(_approval(role, signature, current, changed, counts=True))
    if not role["signatures"]:
        report.approvals.append({"role": title, "approves": str(role["approves"]), "signed": False})
    if role["state"] == "approved" and approvals < int(role["quorum"]):
        problems.append(
            f"{title}: shown as approved with {approvals} current approvals of {role['quorum']}"
        )


def _check_roles(report: Report, data: dict, final: bool) -> None:
    """Each role's digests, recomputed from the snapshot's sections, against what it records."""
    sections = data["sections"]
    digests = {name: canonical.digest(section) for name, section in sections.items()}
    problems = []
    for role in data["signoffs"]["roles"]:
        title = str(role["title"])
        now = canonical.digest(canonical.covered(sections, role["covers"]))
        if now != role["current_digest"]:
            problems.append(f"{title}: its sections' digest is not the one the packet prints")
        if "signatures" in role:
            _check_team_role(report, problems, role, now, sections, digests)
            if final and role["required"] and role["state"] != "approved":
                problems.append(f"{title}: a final packet needs its quorum of current approvals")
            continue
        signature = role["signature"]
        if signature is None:
            report.approvals.append(
                {"role": title, "approves": str(role["approves"]), "signed": False}
            )
            continue
        current, changed = _signature_changes(
            problems, title, role, signature, now, sections, digests
        )
        if role["state"] in ("approved", "rejected") and not current:
            problems.append(f"{title}: shown as current, but its sections changed since")
        if role["state"] == "stale" and current:
            problems.append(f"{title}: shown as stale, but its sections did not change")
        if (
            role["state"] == "stale"
            and signature.get("section_digests") is not None
            and sorted(role["changed_sections"]) != changed
        ):
            problems.append(f"{title}: the sections shown as changed are not those that did")
        report.approvals.append(
            _approval(role, signature, current, changed, counts=role["state"] != "not_holder")
        )
        if final and role["required"] and (role["state"] != "approved" or not current):
            problems.append(f"{title}: a final packet needs its current approval")
    if final and not data["signoffs"]["signed_off"]:
        problems.append("the packet is marked final, but its snapshot is not signed off")
    report.add(
        "approvals",
        not problems,
        "; ".join(problems) + "."
        if problems
        else "Every role's digests agree with the snapshot's sections.",
    )


def check_content(report: Report, reader, signature) -> None:
    # What the signature covers is read from the revision it signed, so nothing added after it
    # (even an allowed timestamp) can stand in for the printed digest or the snapshot. The
    # references in a revision's trailer resolve in the file's last revision: each is looked up
    # through that revision's resolver instead.
    if signature is not None:
        revision = reader.get_historical_resolver(signature.signed_revision)
    else:
        revision = reader.get_historical_resolver(reader.xrefs.total_revisions - 1)
    info = dict.get(revision.trailer_view, "/Info")
    if hasattr(info, "reference"):
        info = revision(info.reference)
    facts = keywords(info)
    if not facts:
        report.add("packet", False, "This PDF is not a TrustStram readiness packet.")
        return
    report.packet.update(
        printed_digest=facts.get("plan-digest"),
        revision=facts.get("revision"),
        kind=facts.get("kind"),
    )
    raw = attachment(revision.root, ATTACHMENT_NAME)
    if raw is None:
        report.add("snapshot", False, f"The packet has no attached {ATTACHMENT_NAME}.")
        return
    try:
        data = json.loads(raw)
        if not str(data.get("format", "")).startswith(FORMAT_PREFIX):
            raise ValueError("unknown format")
        computed = canonical.revision_digest(data)
    except (ValueError, TypeError, KeyError, AttributeError):
        report.add("snapshot", False, f"The attached {ATTACHMENT_NAME} is not a plan snapshot.")
        return
    plan = data["plan"]
    report.packet.update(plan=f"{plan['title']} {plan['release_version']}", plan_id=plan["id"])
    printed = facts.get("plan-digest")
    report.add(
        "plan digest",
        computed == printed,
        f"The attached snapshot's digest is the printed plan digest {printed}."
        if computed == printed
        else f"The attached snapshot's digest {computed} is not the printed {printed}.",
    )
    try:
        _check_roles(report, data, facts.get("kind") == "final")
    except (KeyError, TypeError, ValueError, AttributeError):
        report.add("approvals", False, "The snapshot's sign-off manifest is malformed.")
