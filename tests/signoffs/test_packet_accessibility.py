"""The packet is a tagged PDF: its logical structure has the headings, lists, tables and
figures a screen reader walks, the pictures say in words what they show, and the language is
set; it stays PDF/A-3 and signed."""

import io

import pypdf
from django.conf import settings
from django.contrib.staticfiles import finders
from pypdf.generic import ContentStream
from weasyprint import CSS, HTML

from signoffs import packets, pdfsign, services
from tests.signoffs.test_packets import pdf_of, signed_off


def structure(pdf: bytes) -> tuple[dict, list[tuple[str, str | None]]]:
    """The catalogue, and every structure element as (type, alternative text), in order."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    catalogue = reader.trailer["/Root"]
    elements = []

    def walk(node):
        node = node.get_object()
        if isinstance(node, pypdf.generic.ArrayObject):
            for child in node:
                walk(child)
            return
        if not isinstance(node, pypdf.generic.DictionaryObject):
            return  # a marked-content id: the leaf of the tree
        if "/S" in node:
            alt = node.get("/Alt")
            elements.append((str(node["/S"]), str(alt) if alt is not None else None))
        if "/K" in node:
            walk(node["/K"])

    walk(catalogue["/StructTreeRoot"])
    return catalogue, elements


def test_a_packet_is_tagged_with_its_structure_language_and_text_alternatives(
    plan, owner, editor, holders
):
    signed_off(plan, owner, editor, holders)
    packet = services.packet_request(plan=plan, requested_by=owner, kind="final")
    services.packet_render(packet_id=packet.pk)
    packet.refresh_from_db()
    assert packet.status == "ready", packet.failure
    pdf = pdf_of(packet)

    catalogue, elements = structure(pdf)
    assert catalogue["/MarkInfo"]["/Marked"].value is True
    assert catalogue["/Lang"] == "en"
    kinds = [kind for kind, _ in elements]
    assert kinds.count("/H1") == 1
    for kind in ("/H2", "/H3", "/Table", "/TH", "/TD", "/L", "/LI", "/P", "/Sect"):
        assert kind in kinds, kind
    assert kinds.count("/H2") >= 9  # the contents and the nine chapters after the cover

    # The three pictures carry their text alternative: what they show, in words.
    figures = [alt for kind, alt in elements if kind == "/Figure"]
    assert len(figures) == 3 and all(figures)
    timeline, chart, history = figures
    tasks = sum(
        len(packet.snapshot["sections"][n]["tasks"])
        for n in packet.snapshot["sections"]
        if n.startswith("phases.")
    )
    assert timeline.startswith("Timeline of the four weeks, ")
    assert f": {tasks} tasks (" in timeline and " overdue" in timeline
    assert chart.startswith("Readiness by category, score contributed against weight: ")
    for category in packet.snapshot["readiness"]["categories"]:
        assert f"{category['title']} " in chart
    assert packet.snapshot["readiness"]["band"] in chart
    assert history.startswith("Score history: the weighted total went from ")
    assert "5 approvals" in history and "; signed off on " in history

    # Still PDF/A-3b, and still signed over the whole file.
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    xmp = reader.xmp_metadata.stream.get_data()
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="B"' in xmp
    assert reader.trailer["/Root"]["/OutputIntents"][0]["/S"] == "/GTS_PDFA1"
    assert pdfsign.check(pdf).valid


# What tagging adds to a page is marked-content brackets around what it draws, and the text
# objects and saved states they split; the drawing itself must not change.
STRUCTURE_ONLY = {b"BDC", b"BMC", b"EMC", b"MP", b"DP", b"BT", b"ET", b"q", b"Q"}
STATE = {b"Tf", b"Tm", b"Td", b"TL", b"Tc", b"cm", b"rg", b"RG", b"w", b"gs"}


def drawing(pdf: bytes) -> list[list[tuple]]:
    """Per page, each drawing operation with the text and graphics state it was drawn in."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    pages = []
    for page in reader.pages:
        state, drawn = {}, []
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator in STRUCTURE_ONLY:
                continue
            if operator in STATE:
                state[operator] = repr(operands)
            else:
                drawn.append((tuple(sorted(state.items())), repr(operands), operator))
        pages.append(sorted(drawn))
    return pages


def test_tagging_leaves_the_printed_pages_as_they_were(plan, owner):
    packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
    html = packets.packet_html(packet, audit_rows=[], audit_total=0, signature_profile="B-B")
    tagged = packets.render_pdf(html, packet.snapshot)
    untagged = HTML(
        string=html, base_url=settings.SITE_URL + "/", url_fetcher=packets.StaticFilesOnly()
    ).write_pdf(
        stylesheets=[CSS(filename=finders.find(packets.STYLESHEET))], pdf_variant="pdf/a-3b"
    )
    assert "/StructTreeRoot" in pypdf.PdfReader(io.BytesIO(tagged)).trailer["/Root"]
    assert "/StructTreeRoot" not in pypdf.PdfReader(io.BytesIO(untagged)).trailer["/Root"]
    assert drawing(tagged) == drawing(untagged)
