"""GitHub's side of a custom deployment protection rule.

- The webhook: `signature_valid` checks `X-Hub-Signature-256` (HMAC-SHA256 of the body with
  the app's webhook secret); `deployment_fields` reads the delivery.
- The app's authentication: `app_jwt` (RS256, signed with the app's private key, valid for
  nine minutes) exchanged for an installation token at
  `POST /app/installations/{id}/access_tokens`.
- The answer: `POST` to the delivery's `deployment_callback_url` with
  `{environment_name, state, comment}`, or without `state` for a status report.
"""

import base64
import hashlib
import hmac
import json
import re
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.conf import settings

API_VERSION = "2022-11-28"
ACCEPT = "application/vnd.github+json"
EVENT = "deployment_protection_rule"
REPOSITORY = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}", re.ASCII)


def configured() -> bool:
    return bool(settings.GITHUB_WEBHOOK_SECRET)


def signature_valid(body: bytes, header: str) -> bool:
    """Whether `X-Hub-Signature-256` is the HMAC-SHA256 of the body with the webhook secret."""
    secret = settings.GITHUB_WEBHOOK_SECRET
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def app_jwt(now: float | None = None) -> str:
    """The app's JSON Web Token: RS256 over {iat, exp, iss}, backdated a minute for clock
    drift and valid for nine (GitHub allows ten)."""
    now = int(time.time() if now is None else now)
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {"iat": now - 60, "exp": now + 540, "iss": str(settings.GITHUB_APP_ID)}
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(claims, separators=(",", ":")).encode())
    )
    key = serialization.load_pem_private_key(settings.GITHUB_APP_PRIVATE_KEY.encode(), None)
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64(signature)


def headers(token: str) -> dict[str, str]:
    return {
        "Accept": ACCEPT,
        "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": API_VERSION,
    }


def token_url(installation_id: int) -> str:
    return f"{settings.GITHUB_API_URL}/app/installations/{installation_id}/access_tokens"


def callback_allowed(url: str) -> bool:
    """Only the configured API's own run endpoints get the installation token."""
    return url.startswith(settings.GITHUB_API_URL + "/repos/") and url.endswith(
        "/deployment_protection_rule"
    )


def callback_body(environment: str, comment: str, state: str | None) -> dict:
    body = {"environment_name": environment, "comment": comment}
    if state is not None:
        body["state"] = state
    return body


def deployment_fields(payload: dict) -> dict:
    """What a delivery says about the deployment, or ValueError if it is not one GitHub sends
    for a protection rule."""
    try:
        repository = payload["repository"]["full_name"]
        environment = payload["environment"]
        callback = payload["deployment_callback_url"]
        installation = int(payload["installation"]["id"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"The delivery lacks {error}.") from error
    if not isinstance(repository, str) or not REPOSITORY.fullmatch(repository):
        raise ValueError("The delivery's repository is not owner/name.")
    if not isinstance(environment, str) or not 0 < len(environment) <= 255:
        raise ValueError("The delivery's environment is not a name.")
    if not isinstance(callback, str) or len(callback) > 500:
        raise ValueError("The delivery's deployment_callback_url is not a URL.")
    deployment = payload.get("deployment") if isinstance(payload.get("deployment"), dict) else {}
    return {
        "repository": repository.lower(),
        "environment": environment,
        "callback_url": callback,
        "installation_id": installation,
        "deployment_id": deployment.get("id") if isinstance(deployment.get("id"), int) else None,
        "ref": str(deployment.get("ref") or payload.get("ref") or "")[:255],
        "sha": str(deployment.get("sha") or "")[:64],
    }
