"""Checking a PDF's packet signature, in a process of its own.

`pdfsign.check` runs `python -m signoffs.pdfcheck PDF CERTIFICATE SECONDS [TRUST]` and reads one
line of JSON; TRUST is a PEM file of the roots the signature and its timestamps chain to. A
crafted file can make a PDF reader loop or allocate for a long time; in its own process
the check is killed when it takes too long and cannot take more than MEMORY_BYTES, and the web
process that asked stays free. This module reads no Django settings and sets up no Django, so
that the process starts quickly; what may follow the signature is `truststream.pdfupdates`'s
rule, the one the offline verifier applies.
"""

import json
import math
import resource
import sys

FIELD_NAME = "TrustStramPacket"
# Enough for pyHanko to read the largest packet the verify page accepts, several times over.
MEMORY_BYTES = 1024**3


def _level(reader, status) -> str:
    """The PAdES level the file carries: a timestamp over the signature makes B-T, validation
    data in the document security store B-LT, a document timestamp after them B-LTA."""
    if status.timestamp_validity is None:
        return "B-B"
    if any(s.sig_object_type == "/DocTimeStamp" for s in reader.embedded_signatures):
        return "B-LTA"
    return "B-LT" if "/DSS" in reader.root else "B-T"


def inspect(pdf_path: str, cert_path: str, trust_path: str = "") -> dict:
    """What the file's packet signature is: see `pdfsign.SignatureCheck` for the keys.
    `cert_path` empty: this instance has no certificate yet."""
    from pyhanko.keys import load_cert_from_pemder, load_certs_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    from truststream.pdfupdates import POLICY

    with open(pdf_path, "rb") as handle:
        # Anything a crafted file makes the reader or the validator raise means "not a valid
        # signature of ours", never a failed request.
        try:
            reader = PdfFileReader(handle, strict=False)
            signatures = [s for s in reader.embedded_signatures if s.field_name == FIELD_NAME]
        except Exception:
            return {"present": False}
        if not signatures:
            return {"present": False}
        if not cert_path:
            return {"present": True, "checkable": False}
        ours = load_cert_from_pemder(cert_path)
        roots = load_certs_from_pemder([trust_path]) if trust_path else [ours]
        # Nothing is fetched: what the file carries, and the roots given, decide.
        context = ValidationContext(extra_trust_roots=roots, allow_fetching=False)
        try:
            status = validate_pdf_signature(signatures[0], context, diff_policy=POLICY)
            timestamps_hold = all(
                validate_pdf_timestamp(s, context, diff_policy=POLICY).intact
                for s in reader.embedded_signatures
                if s.sig_object_type == "/DocTimeStamp"
            )
        except Exception:
            return {"present": True}
        stamp = status.timestamp_validity
        stamped = stamp is not None and stamp.intact and stamp.valid and stamp.trusted
        only_archival_updates = (
            status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
            and status.modification_level is not None
            and status.modification_level <= ModificationLevel.LTA_UPDATES
        )
        signed_at = status.signer_reported_dt
        return {
            "present": True,
            "intact": bool(status.intact and status.valid and timestamps_hold),
            "ours": status.signing_cert.dump() == ours.dump(),
            "covers_whole_file": status.coverage == SignatureCoverageLevel.ENTIRE_FILE
            or only_archival_updates,
            "signed_at": signed_at.isoformat() if signed_at else None,
            "level": _level(reader, status),
            "timestamped_at": stamp.timestamp.isoformat() if stamped else None,
        }


if __name__ == "__main__":
    pdf_path, cert_path, seconds = sys.argv[1:4]
    trust_path = sys.argv[4] if len(sys.argv) > 4 else ""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    # The caller kills this process at the time limit; the CPU limit also ends it should the
    # caller itself be gone.
    cpu = math.ceil(float(seconds)) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    print(json.dumps(inspect(pdf_path, cert_path, trust_path)))
