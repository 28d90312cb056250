"""Every check of a packet, in order: the file, the signature and timestamps, the content."""

import hashlib
import io
from pathlib import Path

from truststream.verify_packet.content import check_content
from truststream.verify_packet.reading import load_crls, load_roots, read_packet
from truststream.verify_packet.report import Report, Unreadable
from truststream.verify_packet.signature import check_signature


def verify(path: Path, trust: list[Path], max_bytes: int, crl: list[Path] = ()) -> Report:
    """Every check of the packet at `path`, with the roots in `trust` and the revocation lists
    in `crl`. Raises Unreadable when it is not a packet at all."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    data = read_packet(path, max_bytes)
    roots = load_roots(trust)
    crls = load_crls(list(crl), max_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    report = Report(file=str(path), sha256=sha256, trusted_roots=len(roots))
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        reader.root  # noqa: B018 - a file whose catalogue cannot be found is no packet
    except Exception as error:
        raise Unreadable(f"{path} cannot be read as a PDF: {error}") from error
    try:
        signature = check_signature(report, reader, roots, crls)
    except Exception as error:
        report.add("signature", False, f"The signature cannot be read: {error}")
        signature = None
    try:
        check_content(report, reader, signature)
    except Exception as error:
        raise Unreadable(f"{path} cannot be read as a packet: {error}") from error
    return report
