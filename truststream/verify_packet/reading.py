"""Reading the inputs: the packet (bounded in size, a PDF at all), the certificates to trust, the
revocation lists the reader fetched, and what the packet says of itself in its document
information and its attachment."""

from pathlib import Path

from truststream.verify_packet.report import PACKET_KEYWORD, Unreadable


def read_packet(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise Unreadable(
                f"{path} is {size:,} bytes, more than the {max_bytes:,} this tool reads "
                "(see --max-mb)."
            )
        data = path.read_bytes()
    except OSError as error:
        raise Unreadable(f"Cannot read {path}: {error.strerror or error}.") from error
    # A PDF's header may follow up to 1 KB of other bytes.
    if b"%PDF-" not in data[:1024]:
        raise Unreadable(f"{path} is not a PDF file.")
    return data


def load_roots(paths: list[Path]) -> list:
    from pyhanko.keys import load_cert_from_pemder

    roots = []
    for path in paths:
        try:
            roots.append(load_cert_from_pemder(str(path)))
        except Exception as error:
            raise Unreadable(f"Cannot read the certificate {path}: {error}") from error
    return roots


def _entry(dictionary, key: str, default=None):
    """`dictionary[key]` resolved to its object: pyHanko's `get` returns indirect references."""
    try:
        return dictionary[key]
    except KeyError:
        return default


def keywords(info) -> dict[str, str]:
    """The packet's own facts from the document information's keywords, e.g.
    "truststram-packet, plan-digest:…, revision:3, kind:final"."""
    text = str(_entry(info, "/Keywords", "")) if info is not None else ""
    words = [word.strip() for word in text.split(",")]
    if PACKET_KEYWORD not in words:
        return {}
    return dict(word.split(":", 1) for word in words if ":" in word)


def attachment(root, name: str) -> bytes | None:
    """An embedded file by name, from the catalogue's /EmbeddedFiles name tree."""
    try:
        tree = root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        return None
    nodes = [tree]
    while nodes:
        node = nodes.pop().get_object()
        names = _entry(node, "/Names", [])
        for index in range(0, len(names) - 1, 2):
            if str(names[index].get_object()) == name:
                return names[index + 1].get_object()["/EF"]["/F"].data
        nodes.extend(_entry(node, "/Kids", []))
    return None


def load_crls(paths: list[Path], max_bytes: int) -> list:
    """Certificate revocation lists the reader fetched (DER or PEM, several to a PEM file)."""
    from asn1crypto import crl, pem

    crls = []
    for path in paths:
        try:
            if path.stat().st_size > max_bytes:
                raise ValueError(f"larger than the {max_bytes:,} bytes this tool reads")
            data = path.read_bytes()
            blocks = (
                [der for _, _, der in pem.unarmor(data, multiple=True)]
                if pem.detect(data)
                else [data]
            )
            for der in blocks:
                found = crl.CertificateList.load(der)
                found["tbs_cert_list"]["next_update"].native  # noqa: B018 - parse it now
                crls.append(found)
        except OSError as error:
            raise Unreadable(f"Cannot read the CRL {path}: {error.strerror or error}.") from error
        except Exception as error:
            raise Unreadable(f"{path} is not a certificate revocation list: {error}") from error
    return crls
