"""What outgoing webhooks are made of, without the database: the signature, the check of an
address, and the body. docs/webhooks.md describes the scheme to receivers.

The signature is HMAC-SHA256, keyed with the webhook's secret, over the ASCII timestamp, a full
stop and the body's bytes, sent as `X-TrustStream-Signature: sha256=<hex>` with the timestamp
(Unix seconds) in `X-TrustStream-Timestamp`. Signing the timestamp with the body lets a
receiver refuse an old message replayed.
"""

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-TrustStream-Signature"
TIMESTAMP_HEADER = "X-TrustStream-Timestamp"
EVENT_HEADER = "X-TrustStream-Event"
DELIVERY_HEADER = "X-TrustStream-Delivery"
USER_AGENT = "TrustStram-Readiness-Webhooks/1"


def secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def headers(*, secret: str, timestamp: int, body: bytes, event: str, delivery: str) -> dict:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def body(*, delivery: str, event: str, created_at: str, plan: dict, data: dict) -> str:
    """The JSON text sent, kept as it is so that a redelivery sends the same bytes."""
    return json.dumps(
        {"id": delivery, "event": event, "created_at": created_at, "plan": plan, "data": data},
        sort_keys=True,
        separators=(",", ":"),
    )


class AddressRefused(ValueError):
    pass


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise AddressRefused(f"The host name {host} does not resolve.") from error
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse what the worker must not call: anything but http(s), credentials in the URL, and
    (unless `allow_private`) a host that resolves to a loopback, private, link-local or
    otherwise non-public address, so that a plan owner cannot make the server reach inside
    its own network. Checked when a webhook is added and again before every attempt (a name
    may resolve elsewhere later)."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise AddressRefused("Enter a valid URL.") from error
    if parts.scheme not in ("http", "https"):
        raise AddressRefused("Only http:// and https:// addresses can receive webhooks.")
    if not parts.hostname:
        raise AddressRefused("The URL needs a host name.")
    if parts.username or parts.password:
        raise AddressRefused("Leave credentials out of the URL; the signature authenticates.")
    if allow_private:
        return
    for address in _addresses(parts.hostname, port):
        if not address.is_global or address.is_multicast:
            raise AddressRefused(
                f"{parts.hostname} resolves to {address}, an address inside a private or "
                "reserved network; webhooks go to public addresses only."
            )
