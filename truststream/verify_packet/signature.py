"""The packet's PAdES signature and its timestamps, checked by pyHanko as of today, and, when
that does not hold and the packet has a document timestamp, by the AdES long-term procedure
(ETSI EN 319 102-1, 5.6.3) as of the time its timestamps prove."""

import datetime
from dataclasses import dataclass

from truststream.verify_packet.report import Report


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


def check_signature(report: Report, reader, roots: list, crls: list):
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
