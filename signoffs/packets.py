"""Readiness packets: the snapshot a packet is made of, and its rendering to PDF.

`packet_snapshot` reads the plan once into plain data: the signed sections exactly as
signatures bind to them (`snapshot.sections`), plus what a reader needs beside them (names,
who changed what and when, the readiness decision, the sign-off manifest). Its digest names
the plan's revision. The worker renders the PDF from that data alone, so the PDF, the JSON
embedded in it and the digest always describe the same plan.
"""

import datetime
import json
import posixpath
from types import SimpleNamespace
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string
from django.urls import reverse
from weasyprint import CSS, HTML, Attachment
from weasyprint.urls import URLFetcher, URLFetcherResponse

from checklists import readiness as matrix
from checklists.charts import readiness_chart
from checklists.selectors import plan_checklists, readiness
from planning import fieldtypes, requirements
from planning.models import DeploymentPlan, PlanningDocument
from planning.selectors import Board, PhaseColumn, mark_overdue
from planning.timeline import render as timeline_svg
from signoffs import snapshot
from signoffs.selectors import signoff_state

FORMAT = "truststram-readiness-packet/1"
ATTACHMENT_NAME = "plan-snapshot.json"
WATERMARK = "DRAFT — not signed off"
STYLESHEET = "css/packet.css"


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _name(user) -> str | None:
    return (user.get_full_name() or user.email) if user is not None else None


def packet_snapshot(plan: DeploymentPlan) -> dict:
    """Everything a packet shows, as plain data. A fixed number of queries."""
    sections = snapshot.sections(plan)
    state = signoff_state(plan, sections)
    sections = {name: data for name, data in sections.items() if name != "phases"}
    result = readiness(plan)
    checklists = plan_checklists(plan)
    members = plan.memberships.select_related("user").order_by("user__email")
    return {
        "format": FORMAT,
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
            for spec in plan.requirements.order_by("id")
        ],
        "documents": [
            {
                "title": d.title,
                "category": d.get_category_display(),
                "status": d.get_status_display(),
                "owner": _name(d.owner),
                "link": d.link,
            }
            for d in plan.documents.select_related("owner").order_by("position")
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
                    "signature": (
                        {
                            "printed_name": role.latest.printed_name,
                            "role_title": role.latest.role_title,
                            "decision": role.latest.get_decision_display(),
                            "meaning": role.latest.meaning,
                            "signed_at": _iso(role.latest.signed_at),
                            "digest": role.latest.digest,
                            "comment": role.latest.comment,
                            "reason": role.latest.reason,
                        }
                        if role.latest
                        else None
                    ),
                }
                for role in state.roles
            ],
        },
    }


def snapshot_json(data: dict) -> str:
    """The canonical text of a snapshot: what is embedded in the PDF and digested."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def snapshot_digest(data: dict) -> str:
    return snapshot.digest(data)


def snapshot_size(data: dict) -> int:
    return len(snapshot_json(data).encode("utf-8"))


# Drawing the pictures again from the snapshot: the same pure functions the pages use, fed
# with the snapshot's data in place of model instances.


def _date(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def _phase_names(sections: dict) -> list[str]:
    """`phases.1`, `phases.2`, … in the order of their numbers."""
    return sorted((n for n in sections if n.startswith("phases.")), key=lambda n: int(n[7:]))


def timeline_picture(data: dict, today: datetime.date):
    columns, items = [], []
    for name in _phase_names(data["sections"]):
        phase = data["sections"][name]
        column = PhaseColumn(
            SimpleNamespace(
                number=phase["number"],
                title=phase["title"],
                starts_on=_date(phase["starts_on"]),
                ends_on=_date(phase["ends_on"]),
            )
        )
        for task in phase["tasks"]:
            item = SimpleNamespace(
                title=task["title"], status=task["status"], due_on=_date(task["due_on"])
            )
            column.by_group.setdefault(task["group"], []).append(item)
            items.append(item)
        columns.append(column)
    mark_overdue(items, today)
    return timeline_svg(Board(phases=columns, items=items, today=today))


def readiness_picture(data: dict):
    items = [
        SimpleNamespace(
            checklist=SimpleNamespace(key=name.removeprefix("checklists.")),
            text=item["text"],
            state=item["state"],
            critical=item["critical"],
        )
        for name, section in data["sections"].items()
        if name.startswith("checklists.")
        for item in section
    ]
    scores = {
        c["key"]: SimpleNamespace(score=c["score"], rationale="", scored_by=None, scored_at=None)
        for c in data["sections"]["readiness"]["categories"]
        if c["score"] is not None
    }
    return readiness_chart(matrix.compute(data["readiness_definition"], items, scores))


class StaticFilesOnly(URLFetcher):
    """The renderer's only way out: the application's own static files, by their URL.

    Anything else (file:, http: to another host, data:, a path outside STATIC_URL) is refused
    and remembered in `refused`, so nothing a user typed can make the worker read a file or
    reach the network.
    """

    def __init__(self):
        super().__init__(allowed_protocols=())
        self.refused: list[str] = []
        site = urlsplit(settings.SITE_URL)
        self.origin = (site.scheme, site.netloc)
        self.prefix = "/" + settings.STATIC_URL.strip("/") + "/"

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        path = unquote(parts.path)
        normalised = posixpath.normpath(path)
        found = None
        if (parts.scheme, parts.netloc) == self.origin and normalised.startswith(self.prefix):
            found = finders.find(normalised.removeprefix(self.prefix))
        if not found or ".." in path.split("/"):
            self.refused.append(url)
            raise ValueError(f"The packet renderer fetches only static files, not {url}")
        with open(found, "rb") as handle:
            body = handle.read()
        content_type = "text/css" if found.endswith(".css") else "application/octet-stream"
        return URLFetcherResponse(url, body, {"Content-Type": content_type})


def packet_html(packet, *, audit_rows: list[dict], audit_total: int) -> str:
    data = packet.snapshot
    today = packet.requested_at.date()
    sections = data["sections"]
    phases = [sections[name] for name in _phase_names(sections)]
    return render_to_string(
        "signoffs/packet/packet.html",
        {
            "packet": packet,
            "data": data,
            "plan": data["plan"],
            "final": packet.kind == packet.Kind.FINAL,
            "watermark": WATERMARK,
            "phases": phases,
            "people": data["people"],
            "contacts": sections["support_contacts"],
            "documentation": next(
                (c for c in data["checklists"] if c["key"] == "documentation"), None
            ),
            "timeline": timeline_picture(data, today),
            "chart": readiness_picture(data),
            "audit_rows": audit_rows,
            "audit_total": audit_total,
            "verify_url": settings.SITE_URL + reverse("packets:verify"),
            "requested_by": _name(packet.requested_by) or "a former member",
            "attachment_name": ATTACHMENT_NAME,
            "document_categories": PlanningDocument.Category.labels,
        },
    )


def render_pdf(html: str, data: dict, *, fetcher: URLFetcher | None = None) -> bytes:
    """PDF/A-3b with the snapshot attached as JSON."""
    attachment = Attachment(
        string=snapshot_json(data),
        base_url=None,
        name=ATTACHMENT_NAME,
        description="The plan's canonical snapshot this packet was rendered from",
        relationship="Source",
    )
    # The stylesheet is read from the project's files, not fetched: without it the watermark
    # and the running headers would silently go missing.
    stylesheet = finders.find(STYLESHEET)
    if not stylesheet:
        raise ImproperlyConfigured(f"The packet stylesheet {STYLESHEET} is missing")
    return HTML(
        string=html, base_url=settings.SITE_URL + "/", url_fetcher=fetcher or StaticFilesOnly()
    ).write_pdf(
        stylesheets=[CSS(filename=stylesheet)],
        pdf_variant="pdf/a-3b",
        attachments=[attachment],
    )
