"""`manage.py check --deploy`: how packets are signed in production."""

from pathlib import Path

from django.conf import settings
from django.core import checks

from signoffs import pdfsign


@checks.register(checks.Tags.security, deploy=True)
def packet_signing_check(app_configs, **kwargs):
    found = []
    if not pdfsign.configured():
        found.append(
            checks.Warning(
                "No packet signing key is configured: this instance signs packets with a key "
                "and self-signed certificate it made itself.",
                hint="Set PACKET_SIGNING_KEY_FILE and PACKET_SIGNING_CERT_FILE (or their PEM "
                "text in PACKET_SIGNING_KEY and PACKET_SIGNING_CERT), and PACKET_SIGNING_CHAIN "
                "for a certificate from your organisation's CA.",
                id="signoffs.W001",
            )
        )
    for name in ("KEY", "CERT", "CHAIN"):
        path = getattr(settings, f"PACKET_SIGNING_{name}_FILE")
        if path and not Path(path).is_file():
            found.append(
                checks.Error(
                    f"PACKET_SIGNING_{name}_FILE names {path}, which is not a readable file.",
                    id="signoffs.E001",
                )
            )
    if settings.PACKET_SIGNATURE_PROFILE != "B-B" and not settings.PACKET_TSA_URL:
        found.append(
            checks.Warning(
                f"PACKET_SIGNATURE_PROFILE is {settings.PACKET_SIGNATURE_PROFILE}, but no "
                "timestamp authority is configured: packets are signed PAdES B-B, without "
                "trusted time.",
                hint="Set PACKET_TSA_URL to an RFC 3161 timestamp authority.",
                id="signoffs.W002",
            )
        )
    return found
