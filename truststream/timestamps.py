"""RFC 3161 timestamps from the configured authority (PACKET_TSA_URL): asked for, and checked.

A token binds a SHA-256 digest to the authority's time under the authority's signature. Packets
carry tokens in their PAdES signatures (`signoffs.pdfsign`); audit seals keep one over their
digest (`truststream.audit`), which nobody with only database access can make anew.
"""

import asyncio
import datetime
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from asn1crypto import cms, x509
from django.conf import settings
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend


class TokenInvalid(Exception):
    """A stored token that is not a valid token of a trusted authority over the data."""


def configured() -> bool:
    return bool(settings.PACKET_TSA_URL)


def pem_setting(name: str) -> bytes | None:
    """The PEM given in setting `name` itself, or in the file its `name_FILE` twin names."""
    text = getattr(settings, name)
    path = getattr(settings, f"{name}_FILE")
    if text:
        return text.encode("ascii")
    if path:
        return Path(path).read_bytes()
    return None


def trust_roots() -> list[x509.Certificate] | None:
    """The roots configured for the authority's certificate; None: the system's."""
    pem = pem_setting("PACKET_TSA_TRUST")
    return list(load_certs_from_pemder_data(pem)) if pem else None


def validation_context(*, extra_roots=(), **kwargs) -> ValidationContext:
    """A context trusting the authority's roots and `extra_roots`. What it fetches (when
    allow_fetching), it fetches with requests: no client session is left open."""
    kwargs.setdefault(
        "fetcher_backend", RequestsFetcherBackend(per_request_timeout=settings.PACKET_TSA_SECONDS)
    )
    roots = trust_roots()
    if roots is None:
        return ValidationContext(extra_trust_roots=list(extra_roots), **kwargs)
    return ValidationContext(trust_roots=[*roots, *extra_roots], **kwargs)


def timestamper() -> HTTPTimeStamper:
    return HTTPTimeStamper(settings.PACKET_TSA_URL, timeout=settings.PACKET_TSA_SECONDS)


def run(coroutine_function, *args, **kwargs):
    """pyHanko's calls are coroutines; run one on an event loop of its own, in a thread of its
    own, as the calling thread may already run a loop (an ASGI server, Playwright in tests)."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine_function(*args, **kwargs)).result()


def token_request(data: bytes) -> bytes:
    """A token over SHA-256(`data`) from the authority (DER). Raises OSError or pyHanko's
    TimestampRequestError when the authority cannot be reached or answers wrongly."""
    token = run(timestamper().async_timestamp, hashlib.sha256(data).digest(), "sha256")
    return token.dump()


def token_check(token: bytes, data: bytes) -> datetime.datetime:
    """The authority's time in `token` when it is a valid token of a trusted authority over
    `data`; raises TokenInvalid otherwise."""
    try:
        signed_data = cms.ContentInfo.load(token)["content"]
        status = run(
            validate_tst_signed_data,
            signed_data,
            validation_context(allow_fetching=False),
            lambda algorithm: hashlib.new(algorithm, data).digest(),
        )
    except Exception as error:
        raise TokenInvalid(f"the token cannot be read: {error}") from error
    if not status.get("intact"):
        raise TokenInvalid("the token is over other data")
    if not status.get("valid"):
        raise TokenInvalid("the token's signature is not valid")
    if status.get("trust_problem_indic") is not None:
        raise TokenInvalid("the token is not from a trusted timestamp authority")
    return status["timestamp"]
