"""`python -m truststream.verify_packet`: the arguments, the report printed, the exit code."""

import argparse
import logging
import os
import sys
from pathlib import Path

from truststream.verify_packet.checks import verify
from truststream.verify_packet.output import as_json, as_text
from truststream.verify_packet.report import DEFAULT_MAX_MB, UNREADABLE, Unreadable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m truststream.verify_packet",
        description="Check a TrustStram readiness packet offline: its signature, timestamps, "
        "plan digest and approvals. Exit 0 verified, 1 mismatch, 2 unreadable, "
        "3 intact but no --trust given, 4 not decided without current revocation data (--crl).",
    )
    parser.add_argument("file", type=Path, help="the packet PDF")
    parser.add_argument(
        "--trust",
        type=Path,
        action="append",
        default=[],
        metavar="CERT.pem",
        help="a certificate to trust (the instance's packet certificate, a timestamp "
        "authority's root); may be given more than once",
    )
    parser.add_argument(
        "--crl",
        type=Path,
        action="append",
        default=[],
        metavar="CRL",
        help="a current certificate revocation list (DER or PEM), for a packet whose own "
        "revocation data is out of date: the newest timestamp authority's issuer's; may be "
        "given more than once",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--max-mb", type=int, default=DEFAULT_MAX_MB, help="refuse larger files (default 64)"
    )
    args = parser.parse_args(argv)
    # pyHanko logs what the report already says (an untrusted signer, a missing DSS). The
    # threshold is put back afterwards: called in another program's process (a test, a
    # script), the command must not silence that program's logging.
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        return _run(args)
    finally:
        logging.disable(previous)


def _run(args: argparse.Namespace) -> int:
    try:
        report = verify(args.file, args.trust, args.max_mb * 1024 * 1024, args.crl)
    except Unreadable as error:
        print(f"verify_packet: {error}", file=sys.stderr)
        return UNREADABLE
    except MemoryError:
        print(f"verify_packet: {args.file} is too large to examine.", file=sys.stderr)
        return UNREADABLE
    try:
        print(as_json(report) if args.json else as_text(report), flush=True)
    except BrokenPipeError:
        # Piped into `head` or the like: the exit code still tells the result. Python's own
        # advice: point stdout at /dev/null so that the flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return report.exit_code
