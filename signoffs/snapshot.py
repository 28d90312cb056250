"""The canonical snapshot of a plan, by section, and the digests signatures bind to.

A section is a named part of the plan ("phases", "phases.3", "requirements.security",
"checklists.security", "readiness", "documents", "support_contacts", or "plan" for all of it).
Its snapshot is plain data; its digest is the SHA-256 of that data as sorted-key JSON
(`truststream.canonical`), so the same content always gives the same digest and any change to
it gives another.
"""

from checklists.selectors import current_scores, plan_checklists
from planning import reads
from planning import selectors as planning_selectors
from planning.models import DeploymentPlan
from truststream.canonical import covered, digest

# `covered` and `digest` are defined in the core, where the offline verifier shares them.
__all__ = ["covered", "digest", "sections"]


def _email(user) -> str | None:
    return user.email if user is not None else None


def _phases(plan: DeploymentPlan) -> dict[str, dict]:
    # The board's rows: the page that shows the board and the snapshot read them once.
    board = planning_selectors.board(plan)
    phases = {
        column.phase.pk: {
            "number": column.phase.number,
            "title": column.phase.title,
            "starts_on": column.phase.starts_on.isoformat(),
            "ends_on": column.phase.ends_on.isoformat(),
            "tasks": [],
        }
        for column in board.phases
    }
    # The board's tasks come in phase, position and id order, as the digests always took them.
    for task in board.tasks:
        phases[task.phase_id]["tasks"].append(
            {
                "id": task.pk,
                "group": task.group,
                "title": task.title,
                "assignee": _email(task.assignee),
                "due_on": task.due_on.isoformat(),
                "status": task.status,
                "blocked_reason": task.blocked_reason,
                "notes": task.notes,
            }
        )
    return {f"phases.{data['number']}": data for data in phases.values()}


def _checklists(plan: DeploymentPlan) -> dict[str, list]:
    # The checklists panel's rows, read once for the page and the snapshot.
    sections: dict[str, list] = {}
    for checklist in plan_checklists(plan):
        for item in checklist.item_list:
            sections.setdefault(f"checklists.{checklist.key}", []).append(
                {
                    "id": item.pk,
                    "text": item.text,
                    "critical": item.critical,
                    "state": item.state,
                    "reason": item.na_reason,
                    "note": item.note,
                    "links": sorted(link.url for link in item.links.all()),
                    "files": sorted(f.sha256 for f in item.files.all()),
                }
            )
    return sections


def _readiness(plan: DeploymentPlan) -> dict:
    definition = plan.playbook.definition["readiness"]
    scores = current_scores(plan)
    return {
        "categories": [
            {
                "key": category["key"],
                "weight": category["weight"],
                "score": scores[category["key"]].score if category["key"] in scores else None,
                "rationale": scores[category["key"]].rationale if category["key"] in scores else "",
            }
            for category in definition["categories"]
        ]
    }


def sections(plan: DeploymentPlan) -> dict[str, object]:
    """Every section's snapshot. A fixed number of queries whatever the plan's size, once per
    request. Callers read it and never change it."""
    return reads.once(plan, "sections", lambda: _sections(plan))


def _sections(plan: DeploymentPlan) -> dict[str, object]:
    result: dict[str, object] = {
        "header": {
            "title": plan.title,
            "release_version": plan.release_version,
            "environment": plan.environment,
            "week1_start": plan.week1_start.isoformat(),
            "target_go_live": plan.target_go_live.isoformat(),
            "description": plan.description,
            # What the plan must score to await sign-off: changing it changes what was approved.
            "signoff_threshold": plan.signoff_threshold,
            "playbook": f"{plan.playbook.key}@{plan.playbook.revision}",
        },
        "documents": [
            {
                "key": d.key,
                "status": d.status,
                "owner": _email(d.owner),
                "link": d.link,
                "notes": d.notes,
            }
            for d in planning_selectors.document_rows(plan)
        ],
        "support_contacts": [
            {"topic": c.topic, "name": c.name, "email": c.email}
            for c in plan.support_contacts.order_by("position", "id")
        ],
        "readiness": _readiness(plan),
        **_phases(plan),
        **_checklists(plan),
    }
    for spec in planning_selectors.requirement_specs(plan):
        result[f"requirements.{spec.kind}"] = spec.values
    result["phases"] = {key: value for key, value in result.items() if key.startswith("phases.")}
    return result
