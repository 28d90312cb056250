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

Only the core's pure `truststream.canonical` and `truststream.pdfupdates` are imported from the
project: the digests are the very functions the server uses, and what may follow the signature
is the rule the server applies. docs/verifying-packets.md explains the checks.
"""

import argparse
import datetime
import hashlib
import io
import json
import logging
import os
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from truststream import canonical

OK, MISMATCH, UNREADABLE, UNTRUSTED, UNDECIDED = 0, 1, 2, 3, 4
ATTACHMENT_NAME = "plan-snapshot.json"
FORMAT_PREFIX = "truststram-readiness-packet/"
PACKET_KEYWORD = "truststram-packet"
# Packets are at most 50 MB by default (PACKET_MAX_BYTES); a larger file is refused unread.
DEFAULT_MAX_MB = 64


class Unreadable(Exception):
    """The input is not a packet this tool can read: the message says why."""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    # Neither passed nor failed: nothing in the file disagrees, but finishing the check needs
    # something the reader can still give (current revocation data).
    undecided: bool = False


@dataclass
class Report:
    file: str
    sha256: str
    trusted_roots: int
    checks: list[Check] = field(default_factory=list)
    packet: dict = field(default_factory=dict)
    approvals: list[dict] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str, *, undecided: bool = False) -> None:
        self.checks.append(Check(name, ok, detail, undecided))

    @property
    def exit_code(self) -> int:
        if any(not check.ok and not check.undecided for check in self.checks):
            return MISMATCH
        if any(check.undecided for check in self.checks):
            return UNDECIDED
        return OK if self.trusted_roots else UNTRUSTED

    @property
    def verdict(self) -> str:
        return {
            OK: "VERIFIED: intact, consistent, and signed by a trusted key.",
            MISMATCH: "NOT VERIFIED: see the failed checks above.",
            UNTRUSTED: "INTACT AND CONSISTENT, signer not checked: give the issuing instance's "
            "certificate with --trust to know who signed it.",
            UNDECIDED: "NOT DECIDED: nothing disagrees, but a check could not be finished with "
            "what was given: see the open checks above.",
        }[self.exit_code]


# Reading the file


def _read(path: Path, max_bytes: int) -> bytes:
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


def _load_roots(paths: list[Path]) -> list:
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


def _keywords(info) -> dict[str, str]:
    """The packet's own facts from the document information's keywords, e.g.
    "truststram-packet, plan-digest:…, revision:3, kind:final"."""
    text = str(_entry(info, "/Keywords", "")) if info is not None else ""
    words = [word.strip() for word in text.split(",")]
    if PACKET_KEYWORD not in words:
        return {}
    return dict(word.split(":", 1) for word in words if ":" in word)


def _attachment(root, name: str) -> bytes | None:
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


# Checks


def _load_crls(paths: list[Path], max_bytes: int) -> list:
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


def _validation_context(reader, roots: list, crls: list):
    from pyhanko.sign.validation.dss import DocumentSecurityStore, NoDSSFoundError
    from pyhanko_certvalidator import ValidationContext

    kwargs = {"trust_roots": roots, "allow_fetching": False, "crls": crls}
    try:
        # B-LT / B-LTA packets carry the certificates and revocation data in their DSS.
        return DocumentSecurityStore.read_dss(reader).as_validation_context(kwargs)
    except NoDSSFoundError:
        return ValidationContext(**kwargs)


def long_term_spec(roots: list, crls: list):
    """pyHanko's settings for the AdES validation of a signature with long-term availability
    (ETSI EN 319 102-1, 5.6.3): the chain of document timestamps is checked from the newest, as
    of today, and proves that the validation data before it existed then; the signer is checked
    as of the time the timestamps prove, with that data. Revocation data is required for every
    certificate but the roots, and only what the file and `crls` hold is used."""
    from pyhanko.sign.validation.policy_decl import (
        LocalKnowledge,
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.policy_decl import (
        CertRevTrustPolicy,
        RevocationCheckingPolicy,
        RevocationCheckingRule,
    )
    from pyhanko_certvalidator.registry import SimpleTrustManager
    from pyhanko_certvalidator.revinfo.archival import CRLContainer

    from truststream import pdfupdates

    required = RevocationCheckingRule.CRL_OR_OCSP_REQUIRED
    return PdfSignatureValidationSpec(
        diff_policy=pdfupdates.POLICY,
        signature_validation_spec=SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=roots),
                revinfo_policy=CertRevTrustPolicy(
                    RevocationCheckingPolicy(
                        ee_certificate_rule=required, intermediate_ca_cert_rule=required
                    )
                ),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
            local_knowledge=LocalKnowledge(known_crls=[CRLContainer(crl) for crl in crls]),
        ),
    )


def _long_term(signature, roots: list, crls: list):
    import asyncio

    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

    return asyncio.run(
        ades_lta_validation(
            signature, long_term_spec(roots, crls), timing_info=ValidationTimingInfo.now()
        )
    )


def _moment(when) -> str:
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# What pyHanko's AdES sub-indication of a certificate that does not validate today means.
_OUT_OF_DATE = {"TRY_LATER", "REVOCATION_OUT_OF_BOUNDS_NO_POE"}
_TODAY = {
    "NO_CERTIFICATE_CHAIN_FOUND": "does not chain to any --trust certificate",
    "TRY_LATER": "cannot be checked today: the revocation data the packet carries is out of date",
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": "cannot be checked today: the revocation data the "
    "packet carries is out of date",
    "EXPIRED": "has expired since",
    "OUT_OF_BOUNDS_NO_POE": "has expired since",
    "OUT_OF_BOUNDS_NOT_REVOKED": "has expired since",
    "REVOKED_NO_POE": "is revoked",
    "REVOKED_CA_NO_POE": "was issued by a revoked authority",
}


# What the timestamps can prove was not so when the packet was signed.
_LATER = _OUT_OF_DATE | {
    "EXPIRED",
    "OUT_OF_BOUNDS_NO_POE",
    "OUT_OF_BOUNDS_NOT_REVOKED",
    "REVOKED_NO_POE",
    "REVOKED_CA_NO_POE",
}


def _problem(status) -> str | None:
    return getattr(status.trust_problem_indic, "name", None)


def _today(status) -> str:
    problem = _problem(status)
    return _TODAY.get(problem, f"does not validate today ({problem or 'unknown reason'})")


@dataclass
class _Stamp:
    what: str
    status: object = None  # pyHanko's TimestampSignatureStatus, or None when it cannot be read
    error: str = ""

    @property
    def trusted_today(self) -> bool:
        return self.status is not None and bool(self.status.trusted)

    @property
    def out_of_date(self) -> bool:
        """Intact, but its authority cannot be checked today for want of fresh revocation data."""
        status = self.status
        return (
            status is not None
            and status.intact
            and status.valid
            and getattr(status.trust_problem_indic, "name", None) in _OUT_OF_DATE
        )


def _check_signature(report: Report, reader, roots: list, crls: list):
    """The packet's signature and its timestamps; returns the signature, or None."""
    from pyhanko.sign.ades.report import AdESPassed
    from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    from truststream import pdfupdates

    signatures = reader.embedded_regular_signatures
    if len(signatures) != 1:
        found = "no signature" if not signatures else f"{len(signatures)} signatures"
        report.add("signature", False, f"A packet carries one signature; this file has {found}.")
        return None
    signature = signatures[0]
    try:
        status = validate_pdf_signature(
            signature,
            signer_validation_context=_validation_context(reader, roots, crls),
            ts_validation_context=_validation_context(reader, roots, crls),
            diff_policy=pdfupdates.POLICY,
        )
    except Exception as error:
        report.add("signature", False, f"The signature cannot be validated: {error}")
        return signature
    subject = status.signing_cert.subject.human_friendly
    intact = bool(status.intact and status.valid)
    if not intact:
        report.add("signature", False, "The signature is broken: the signed bytes were changed.")
    else:
        when = status.signer_reported_dt
        at = f", signed {_moment(when)}" if when else ""
        report.add("signature", True, f"Intact, by {subject}{at}.")
    report.packet["signer"] = subject

    stamps = []
    if status.timestamp_validity is not None:
        stamps.append(_Stamp("Signature timestamp", status.timestamp_validity))
    for embedded in reader.embedded_timestamp_signatures:
        try:
            stamp_status = validate_pdf_timestamp(
                embedded,
                validation_context=_validation_context(reader, roots, crls),
                diff_policy=pdfupdates.POLICY,
            )
            stamps.append(_Stamp("Document timestamp", stamp_status))
        except Exception as error:
            stamps.append(_Stamp("Document timestamp", error=str(error)))

    # Years later the signer's certificate has expired, or the revocation data in the packet is
    # out of date: a packet with document timestamps is then checked as PAdES has it.
    long_term = None
    archived = reader.embedded_timestamp_signatures
    if (
        roots
        and intact
        and archived
        and not (status.trusted and all(stamp.trusted_today for stamp in stamps))
    ):
        try:
            long_term = _long_term(signature, roots, crls)
        except Exception as error:
            report.add("long-term", False, f"The long-term validation cannot be run: {error}")
    proven = long_term is not None and long_term.ades_subindic == AdESPassed.OK
    # The newest document timestamp is the one checked as of today: when only its authority's
    # revocation data is missing, the reader can still give it.
    waiting = (
        long_term is not None
        and not proven
        and long_term.oldest_evidence_record_timestamp is None
        and stamps[-1].out_of_date
        and (status.trusted or _problem(status) in _LATER)
    )
    if roots:
        _signer_line(report, status, subject, long_term, proven, waiting, archived)

    # Only validation data and document timestamps may follow the signature (PAdES B-LT/LTA).
    level = status.modification_level
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and level is not None
        and level <= ModificationLevel.LTA_UPDATES
    )
    if not whole:
        found = status.diff_result
        why = f" {found}" if isinstance(found, SuspiciousModification) else ""
        detail = "Content was added to the file after it was signed." + why
    elif status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        detail = "The signature covers the whole file."
    else:
        detail = (
            "The signature covers everything but the validation data and document timestamps "
            "added after it."
        )
    report.add("coverage", whole, detail)

    for stamp in stamps:
        _timestamp_line(report, stamp, roots, proven=proven, waiting=waiting)
    return signature


def _signer_line(report, status, subject, long_term, proven, waiting, archived) -> None:
    if status.trusted:
        report.add("signer", True, "The signer chains to a --trust certificate.")
    elif proven:
        report.add(
            "signer",
            True,
            f"The signer chained to a --trust certificate when it signed, "
            f"{_moment(long_term.best_signature_time)}, as the document timestamp of "
            f"{_moment(long_term.oldest_evidence_record_timestamp)} proves with the validation "
            f"data it covers (PAdES long-term validation); its certificate {_today(status)}.",
        )
    elif waiting:
        issuer = archived[-1].signer_cert.issuer.human_friendly
        report.add(
            "signer",
            False,
            f"Not decided: the signer's certificate {_today(status)}, so the packet rests on "
            f"its document timestamps; the newest is checked as of today, which needs current "
            f"revocation data for its authority. Give a current CRL of {issuer} with --crl.",
            undecided=True,
        )
    else:
        detail = f"The signer ({subject}) {_today(status)}."
        if long_term is not None:
            detail += f" The long-term validation fails too: {long_term.failure_msg}"
        elif not archived:
            detail += (
                " A packet without a document timestamp (B-B, B-T) carries nothing that "
                "proves the signer's certificate was valid when it signed."
                if "expired" in detail
                else ""
            )
        report.add("signer", False, detail)


def _timestamp_line(report, stamp: _Stamp, roots: list, *, proven: bool, waiting: bool) -> None:
    status = stamp.status
    if status is None:
        report.add("timestamp", False, f"A {stamp.what.lower()} cannot be validated: {stamp.error}")
        return
    moment = _moment(status.timestamp)
    if not (status.intact and status.valid):
        report.add("timestamp", False, f"{stamp.what} is broken.")
    elif not roots:
        report.add(
            "timestamp", True, f"{stamp.what}: {moment}, authority not checked (no --trust)."
        )
    elif stamp.trusted_today:
        report.add("timestamp", True, f"{stamp.what}: {moment}, by a trusted authority.")
    elif proven:
        report.add(
            "timestamp",
            True,
            f"{stamp.what}: {moment}, by an authority trusted then (long-term validation).",
        )
    elif waiting and stamp.out_of_date:
        report.add(
            "timestamp",
            False,
            f"{stamp.what}: {moment}, intact; its authority's revocation data is out of date "
            "(see signer).",
            undecided=True,
        )
    else:
        report.add(
            "timestamp",
            False,
            f"{stamp.what} of {moment} is intact but its authority is not trusted.",
        )


def _utc(text: str | None) -> str:
    if not text:
        return "—"
    moment = datetime.datetime.fromisoformat(text).astimezone(datetime.UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _signature_changes(problems, title, role, signature, now, sections, digests):
    """Whether the signature is current, and which of its sections changed since."""
    current = signature["digest"] == now
    recorded = signature.get("section_digests")
    if recorded is None:
        changed = [] if current else ["(format 1: not recorded)"]
    else:
        names = sorted(set(recorded) | set(canonical.covered(sections, role["covers"])))
        changed = [name for name in names if recorded.get(name) != digests.get(name)]
        if current and changed:
            problems.append(f"{title}: its section digests disagree with its digest")
    return current, changed


def _approval(role: dict, signature: dict, current: bool, changed: list, *, counts: bool):
    return {
        "role": str(role["title"]),
        "approves": str(role["approves"]),
        "signed": True,
        "name": str(signature["printed_name"]),
        "decision": str(signature["decision"]),
        "meaning": str(signature["meaning"]),
        "signed_at": _utc(signature["signed_at"]),
        "stale": not current,
        "changed_sections": changed,
        "counts": counts,
        "state": str(role["state_label"]),
    }


def _check_team_role(report, problems, role, now, sections, digests) -> None:
    """A team's role: each member's signature on its own, and an approval shown only where
    `quorum` of them are current approvals."""
    title = str(role["title"])
    approvals = 0
    for signature in role["signatures"]:
        current, changed = _signature_changes(
            problems, title, role, signature, now, sections, digests
        )
        approvals += current and signature["decision"] == "Approve"
        report.approvals.append(_approval(role, signature, current, changed, counts=True))
    if not role["signatures"]:
        report.approvals.append({"role": title, "approves": str(role["approves"]), "signed": False})
    if role["state"] == "approved" and approvals < int(role["quorum"]):
        problems.append(
            f"{title}: shown as approved with {approvals} current approvals of {role['quorum']}"
        )


def _check_roles(report: Report, data: dict, final: bool) -> None:
    """Each role's digests, recomputed from the snapshot's sections, against what it records."""
    sections = data["sections"]
    digests = {name: canonical.digest(section) for name, section in sections.items()}
    problems = []
    for role in data["signoffs"]["roles"]:
        title = str(role["title"])
        now = canonical.digest(canonical.covered(sections, role["covers"]))
        if now != role["current_digest"]:
            problems.append(f"{title}: its sections' digest is not the one the packet prints")
        if "signatures" in role:
            _check_team_role(report, problems, role, now, sections, digests)
            if final and role["required"] and role["state"] != "approved":
                problems.append(f"{title}: a final packet needs its quorum of current approvals")
            continue
        signature = role["signature"]
        if signature is None:
            report.approvals.append(
                {"role": title, "approves": str(role["approves"]), "signed": False}
            )
            continue
        current, changed = _signature_changes(
            problems, title, role, signature, now, sections, digests
        )
        if role["state"] in ("approved", "rejected") and not current:
            problems.append(f"{title}: shown as current, but its sections changed since")
        if role["state"] == "stale" and current:
            problems.append(f"{title}: shown as stale, but its sections did not change")
        if (
            role["state"] == "stale"
            and signature.get("section_digests") is not None
            and sorted(role["changed_sections"]) != changed
        ):
            problems.append(f"{title}: the sections shown as changed are not those that did")
        report.approvals.append(
            _approval(role, signature, current, changed, counts=role["state"] != "not_holder")
        )
        if final and role["required"] and (role["state"] != "approved" or not current):
            problems.append(f"{title}: a final packet needs its current approval")
    if final and not data["signoffs"]["signed_off"]:
        problems.append("the packet is marked final, but its snapshot is not signed off")
    report.add(
        "approvals",
        not problems,
        "; ".join(problems) + "."
        if problems
        else "Every role's digests agree with the snapshot's sections.",
    )


def _check_content(report: Report, reader, signature) -> None:
    # What the signature covers is read from the revision it signed, so nothing added after it
    # (even an allowed timestamp) can stand in for the printed digest or the snapshot. The
    # references in a revision's trailer resolve in the file's last revision: each is looked up
    # through that revision's resolver instead.
    if signature is not None:
        revision = reader.get_historical_resolver(signature.signed_revision)
    else:
        revision = reader.get_historical_resolver(reader.xrefs.total_revisions - 1)
    info = dict.get(revision.trailer_view, "/Info")
    if hasattr(info, "reference"):
        info = revision(info.reference)
    facts = _keywords(info)
    if not facts:
        report.add("packet", False, "This PDF is not a TrustStram readiness packet.")
        return
    report.packet.update(
        printed_digest=facts.get("plan-digest"),
        revision=facts.get("revision"),
        kind=facts.get("kind"),
    )
    raw = _attachment(revision.root, ATTACHMENT_NAME)
    if raw is None:
        report.add("snapshot", False, f"The packet has no attached {ATTACHMENT_NAME}.")
        return
    try:
        data = json.loads(raw)
        if not str(data.get("format", "")).startswith(FORMAT_PREFIX):
            raise ValueError("unknown format")
        computed = canonical.revision_digest(data)
    except (ValueError, TypeError, KeyError, AttributeError):
        report.add("snapshot", False, f"The attached {ATTACHMENT_NAME} is not a plan snapshot.")
        return
    plan = data["plan"]
    report.packet.update(plan=f"{plan['title']} {plan['release_version']}", plan_id=plan["id"])
    printed = facts.get("plan-digest")
    report.add(
        "plan digest",
        computed == printed,
        f"The attached snapshot's digest is the printed plan digest {printed}."
        if computed == printed
        else f"The attached snapshot's digest {computed} is not the printed {printed}.",
    )
    try:
        _check_roles(report, data, facts.get("kind") == "final")
    except (KeyError, TypeError, ValueError, AttributeError):
        report.add("approvals", False, "The snapshot's sign-off manifest is malformed.")


def verify(path: Path, trust: list[Path], max_bytes: int, crl: list[Path] = ()) -> Report:
    """Every check of the packet at `path`, with the roots in `trust` and the revocation lists
    in `crl`. Raises Unreadable when it is not a packet at all."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    data = _read(path, max_bytes)
    roots = _load_roots(trust)
    crls = _load_crls(list(crl), max_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    report = Report(file=str(path), sha256=sha256, trusted_roots=len(roots))
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        reader.root  # noqa: B018 - a file whose catalogue cannot be found is no packet
    except Exception as error:
        raise Unreadable(f"{path} cannot be read as a PDF: {error}") from error
    try:
        signature = _check_signature(report, reader, roots, crls)
    except Exception as error:
        report.add("signature", False, f"The signature cannot be read: {error}")
        signature = None
    try:
        _check_content(report, reader, signature)
    except Exception as error:
        raise Unreadable(f"{path} cannot be read as a packet: {error}") from error
    return report


# Output


def _printable(text: object) -> str:
    """Text from the file, shown in a terminal: control characters (escape sequences that
    could rewrite what the screen shows) are replaced."""
    return "".join(
        character if unicodedata.category(character)[0] != "C" else "\ufffd"
        for character in str(text)
    )


def as_text(report: Report) -> str:
    packet = report.packet
    lines = [f"File        {report.file}", f"SHA-256     {report.sha256}"]
    if packet.get("plan"):
        kind = (packet.get("kind") or "?").upper()
        lines.append(f"Packet      {packet['plan']}, revision {packet.get('revision')}, {kind}")
    lines.append("")
    for check in report.checks:
        mark = "ok" if check.ok else "OPEN" if check.undecided else "FAIL"
        lines.append(f"{mark:<5} {check.name:<12} {check.detail}")
    if report.approvals:
        lines += ["", "Approvals (times in UTC)"]
    for approval in report.approvals:
        if not approval["signed"]:
            lines.append(f"- {approval['role']}: not signed")
            continue
        stale = (
            f"STALE at the time: {', '.join(approval['changed_sections'])} changed since"
            if approval["stale"]
            else "current at the time"
        )
        lines.append(
            f"- {approval['role']}: {approval['name']}, {approval['decision'].lower()}, "
            f"{approval['signed_at']}; {stale}"
            + ("" if approval["counts"] else f"; does not count ({approval['state']})")
        )
        lines.append(f"    approves: {approval['approves']}")
        lines.append(f"    meaning:  {approval['meaning']}")
    lines += ["", report.verdict]
    # A newline in a signer's meaning must not print a line of its own ("ok  signature …").
    return "\n".join(_printable(line) for line in lines)


def as_json(report: Report) -> str:
    return json.dumps(
        {
            "file": report.file,
            "sha256": report.sha256,
            "packet": report.packet,
            "checks": [check.__dict__ for check in report.checks],
            "approvals": report.approvals,
            "exit_code": report.exit_code,
            "verdict": report.verdict,
        },
        indent=2,
        ensure_ascii=False,
    )


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
    # pyHanko logs what the report already says (an untrusted signer, a missing DSS).
    logging.disable(logging.CRITICAL)
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


if __name__ == "__main__":
    sys.exit(main())
