"""Readiness packets as pure functions of their data: its canonical text and digest, the
revision it names, whether it may be final or is superseded, and its rendering to PDF.

The data is `packet_selectors.packet_contents`: the plan read once into plain data. The
worker renders the PDF from that data alone, so the PDF, the JSON embedded in it and the
digest always describe the same plan. Nothing here reads the database.
"""

import datetime
import posixpath
from decimal import Decimal
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
from checklists.charts import Moment, readiness_chart, score_history_chart
from checklists.history import TotalStep
from planning.models import DeploymentPlan, PlanningDocument
from planning.selectors import Board, PhaseColumn, mark_overdue
from planning.timeline import render as timeline_svg
from truststream import canonical

# 2: each signature carries its section digests.
# 3: the score history (`readiness_history`).
FORMAT = "truststram-readiness-packet/3"
ATTACHMENT_NAME = "plan-snapshot.json"
WATERMARK = "DRAFT — not signed off"
STYLESHEET = "css/packet.css"


def contents_json(data: dict) -> str:
    """The canonical text of the packet contents: what is embedded in the PDF and digested."""
    return canonical.canonical_json(data)


def contents_size(data: dict) -> int:
    return len(contents_json(data).encode("utf-8"))


def revision_digest(data: dict) -> str:
    """The digest that names a revision of the plan, printed on its packets."""
    return canonical.revision_digest(data)


def packet_may_be_final(plan: DeploymentPlan, data: dict) -> bool:
    """A final packet needs a plan signed off on its content as it is now (digests compared)."""
    return data["signoffs"]["signed_off"] and plan.status in (
        DeploymentPlan.Status.SIGNED_OFF,
        DeploymentPlan.Status.DEPLOYED,
    )


def packet_superseded(packet, current_digest: str) -> bool:
    """The plan moved on since the packet: `current_digest` is the plan's `revision_digest`."""
    return packet.content_digest != current_digest


# Drawing the pictures again from the packet contents: the same pure functions the pages use,
# fed with that data in place of model instances.


def _date(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def _phase_names(sections: dict) -> list[str]:
    """`phases.1`, `phases.2`, … in the order of their numbers."""
    return sorted((n for n in sections if n.startswith("phases.")), key=lambda n: int(n[7:]))


def timeline_picture(data: dict, today: datetime.date):
    columns, tasks = [], []
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
            entry = SimpleNamespace(
                title=task["title"], status=task["status"], due_on=_date(task["due_on"])
            )
            column.by_group.setdefault(task["group"], []).append(entry)
            tasks.append(entry)
        columns.append(column)
    mark_overdue(tasks, today)
    return timeline_svg(Board(phases=columns, tasks=tasks, today=today))


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


def history_picture(data: dict, end: datetime.datetime):
    """The score history as the packet contents recorded it, drawn up to `end`; none for
    contents of an earlier format, made before the history was recorded."""
    history = data.get("readiness_history")
    if history is None:
        return ""
    return score_history_chart(
        [
            TotalStep(datetime.datetime.fromisoformat(s["at"]), Decimal(s["total"]))
            for s in history["steps"]
        ],
        data["readiness_definition"]["bands"],
        [
            Moment(datetime.datetime.fromisoformat(m["at"]), m["kind"], m["label"])
            for m in history["moments"]
        ],
        start=datetime.datetime.fromisoformat(history["start"]),
        end=end,
    )


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


def _requester(packet) -> str:
    user = packet.requested_by
    name = (user.get_full_name() or user.email) if user is not None else ""
    return name or "a former member"


def packet_html(packet, *, audit_rows: list[dict], audit_total: int, signature_profile: str) -> str:
    """The packet's HTML; `signature_profile` is the PAdES level it will be signed at, which
    its verification section states."""
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
            "history_chart": history_picture(data, packet.requested_at),
            "audit_rows": audit_rows,
            "audit_total": audit_total,
            "verify_url": settings.SITE_URL + reverse("packets:verify"),
            "signature_profile": signature_profile,
            "requested_by": _requester(packet),
            "attachment_name": ATTACHMENT_NAME,
            "document_categories": PlanningDocument.Category.labels,
        },
    )


def render_pdf(html: str, data: dict, *, fetcher: URLFetcher | None = None) -> bytes:
    """PDF/A-3b with the packet contents attached as JSON."""
    attachment = Attachment(
        string=contents_json(data),
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
        # Tagged: headings, lists, tables and figures (with their SVG titles as /Alt) in the
        # logical structure, for screen readers and reflow; /Lang comes from <html lang>.
        pdf_tags=True,
        attachments=[attachment],
    )
