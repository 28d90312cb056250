"""The files the reports hand out: the portfolio as CSV, the change population as CSV or JSON.

Every cell of text that people typed (titles, releases, names, meanings, item texts) goes
through `audit.spreadsheet_safe`, so that a spreadsheet shows it as text rather than running
it as a formula; the csv module quotes every cell, so commas, quotes and line breaks stay
inside their cell. Times are UTC, ISO 8601.
"""

import csv
import datetime
import io
import json

from reports.selectors import ChangeRecord, Population, PortfolioRow
from truststream.audit import spreadsheet_safe

PORTFOLIO_COLUMNS = [
    "Plan id",
    "Plan",
    "Release",
    "Environment",
    "Status",
    "Score",
    "Band",
    "Blockers",
    "Missing or stale roles",
    "Go-live",
    "Days left",
    "At risk",
    "Decision",
    "Why",
    "Score trend (oldest first)",
]


def _csv(rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()


def blockers_text(row: PortfolioRow) -> list[str]:
    """The row's blockers in words: failed critical items, open critical items, blocked
    tasks (each with the reason given)."""
    texts = [f"Failed: {item.text}" for item in row.failed_items]
    texts += [
        f"Critical, open: {item.text}" for item in row.readiness.blockers if item.state == "open"
    ]
    texts += [f"Blocked task: {task.title} ({task.blocked_reason})" for task in row.blocked_tasks]
    return texts


def portfolio_csv(rows: list[PortfolioRow]) -> str:
    lines = [PORTFOLIO_COLUMNS]
    for row in rows:
        plan = row.plan
        lines.append(
            [
                plan.pk,
                spreadsheet_safe(plan.title),
                spreadsheet_safe(plan.release_version),
                plan.get_environment_display(),
                plan.get_status_display(),
                row.score,
                row.readiness.band["title"],
                spreadsheet_safe("; ".join(blockers_text(row))),
                spreadsheet_safe("; ".join(row.missing_roles)),
                plan.target_go_live.isoformat(),
                row.days_left,
                "yes" if row.at_risk else "no",
                row.decision[0],
                spreadsheet_safe(" ".join(row.decision[1])),
                " ".join("" if v is None else f"{v:g}" for v in row.trend),
            ]
        )
    return _csv(lines)


def _utc(moment: datetime.datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def _record_fields(record: ChangeRecord) -> dict:
    plan = record.plan
    packet = record.final_packet
    seal = record.seal_at_deployment
    return {
        "plan_id": plan.pk,
        "plan": plan.title,
        "release": plan.release_version,
        "environment": plan.environment,
        "status_now": plan.status,
        "signed_off_at": [_utc(moment) for moment in record.signed_off_at],
        "deployed_at": _utc(record.deployed_at),
        "final_packet_revision": packet.revision if packet else None,
        "final_packet_sha256": packet.sha256 if packet else "",
        "seal_at_deployment": seal.number if seal else None,
        "seal_at_deployment_digest": seal.digest if seal else "",
        "seal_at_deployment_time": _utc(seal.created_at) if seal else "",
        "audit_chain_verified": record.chain_verified,
        "audit_chain_seals_checked": record.seals_checked,
        "audit_chain_problem": record.chain_problem,
    }


def _approval_fields(approval) -> dict:
    signoff = approval.signoff
    return {
        "role": signoff.requirement.role,
        "role_title": signoff.role_title,
        "approver": signoff.printed_name,
        "approver_email": signoff.signer.email,
        "decision": signoff.decision,
        "meaning": signoff.meaning,
        "signed_at": _utc(signoff.signed_at),
        "digest": signoff.digest,
        "state": approval.state,
        "stale_since": _utc(approval.stale_since),
        "expired_at": _utc(approval.expired_at),
        "role_policy": approval.policy,
        "role_progress": approval.progress,
    }


APPROVAL_COLUMNS = [
    "role",
    "role_title",
    "approver",
    "approver_email",
    "decision",
    "meaning",
    "signed_at",
    "digest",
    "state",
    "stale_since",
    "expired_at",
    "role_policy",
    "role_progress",
]
RECORD_COLUMNS = [
    "plan_id",
    "plan",
    "release",
    "environment",
    "status_now",
    "signed_off_at",
    "deployed_at",
    "final_packet_revision",
    "final_packet_sha256",
    "seal_at_deployment",
    "seal_at_deployment_digest",
    "seal_at_deployment_time",
    "audit_chain_verified",
    "audit_chain_seals_checked",
    "audit_chain_problem",
]
# Cells of text that someone typed.
UNTRUSTED = {
    "plan",
    "release",
    "role_title",
    "approver",
    "approver_email",
    "meaning",
    "role_policy",
}


def _cell(name: str, value) -> str:
    if isinstance(value, list):
        value = " ".join(value)
    if isinstance(value, bool):
        value = "yes" if value else "no"
    if value is None:
        value = ""
    return spreadsheet_safe(value) if name in UNTRUSTED else str(value)


def population_csv(population: Population) -> str:
    """One row per approval (a plan without any has one row with the approval cells empty)."""
    lines = [RECORD_COLUMNS + APPROVAL_COLUMNS]
    for record in population.records:
        fields = _record_fields(record)
        plan_cells = [_cell(name, fields[name]) for name in RECORD_COLUMNS]
        approvals = [_approval_fields(approval) for approval in record.approvals] or [{}]
        for approval in approvals:
            lines.append(
                plan_cells + [_cell(name, approval.get(name, "")) for name in APPROVAL_COLUMNS]
            )
    return _csv(lines)


def population_json(population: Population, *, exported_by, exported_at) -> str:
    document = {
        "format": "truststream-change-population/1",
        "period": {"from": population.start.isoformat(), "to": population.end.isoformat()},
        "exported_by": exported_by.email,
        "exported_at": _utc(exported_at),
        "plans": [
            {
                **_record_fields(record),
                "approvals": [_approval_fields(approval) for approval in record.approvals],
            }
            for record in population.records
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
