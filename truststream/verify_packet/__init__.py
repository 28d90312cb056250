"""Check a readiness packet with nothing but the PDF: no database, no network, no settings.

    python -m truststream.verify_packet PACKET.pdf [--trust CERT.pem ...] [--crl CRL ...] [--json]

It checks the packet's PAdES signature (and its timestamps, when it has any) with pyHanko, that
nothing but validation data and document timestamps was added after it, that the snapshot
attached to the signed file has the plan digest the packet prints, and that each approval's
recorded digests agree with the snapshot's sections. It prints who approved what, when, with
which meaning, and which approvals were stale when the packet was made.

Years later, when the signer's certificate has expired or the revocation data the packet carries
is out of date, a packet with a document timestamp (PAdES B-LTA) is checked by pyHanko's AdES
long-term procedure: the newest document timestamp is checked as of today, and the signer as of
the time the timestamps prove. That needs current revocation data for the newest timestamp's
authority, which no file can carry: the reader gives it with --crl.

Exit codes: 0 everything checks out and the signer chains to a --trust certificate; 1 a
mismatch (a broken or untrusted signature, content added after signing, a digest that does not
agree); 2 the file cannot be read as a packet; 3 everything checks out but no --trust was given,
so the file is intact and consistent but nothing says who signed it; 4 nothing disagrees, but a
check could not be finished offline with what was given (current revocation data, --crl).

The package: `checks.verify` runs the checks (`reading`, `signature`, `content`), `report`
holds what they found and the exit code, `output` prints it, `cli` is the command.

Only the core's pure `truststream.canonical` and `truststream.pdfupdates` are imported from the
project: the digests are the very functions the server uses, and what may follow the signature
is the rule the server applies. docs/verifying-packets.md explains the checks.
"""

from truststream.verify_packet.checks import verify
from truststream.verify_packet.cli import main
from truststream.verify_packet.output import as_json, as_text
from truststream.verify_packet.report import (
    MISMATCH,
    OK,
    UNDECIDED,
    UNREADABLE,
    UNTRUSTED,
    Check,
    Report,
    Unreadable,
)
from truststream.verify_packet.signature import long_term_spec

__all__ = [
    "MISMATCH",
    "OK",
    "UNDECIDED",
    "UNREADABLE",
    "UNTRUSTED",
    "Check",
    "Report",
    "Unreadable",
    "as_json",
    "as_text",
    "long_term_spec",
    "main",
    "verify",
]
