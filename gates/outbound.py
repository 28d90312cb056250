"""Calls to GitHub and GitLab: JSON over HTTPS, retried with backoff on a 5xx answer or a
network error, every try handed to the caller to record.

No Django models here: the services record the tries (`GateAttempt`) through `record`.
"""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

USER_AGENT = "TrustStram-Readiness-Gates"


@dataclass
class Try:
    """One HTTP call as it went."""

    url: str
    started_at: datetime
    seconds: float = 0.0
    status_code: int | None = None
    error: str = ""
    text: str = ""
    data: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        """A network error or the service's own error: worth another try."""
        return self.status_code is None or self.status_code >= 500

    def describe(self) -> str:
        if self.status_code is not None:
            return f"HTTP {self.status_code}"
        return self.error


def _once(url: str, body: dict | None, headers: dict[str, str]) -> Try:
    started = time.monotonic()
    attempt = Try(url=url, started_at=datetime.now(tz=UTC))
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(  # noqa: S310 (https URLs from settings or checked payloads)
        url,
        data=data,
        method="POST",
        headers={"User-Agent": USER_AGENT, "Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.GATE_HTTP_TIMEOUT) as response:  # noqa: S310
            attempt.status_code = response.status
            raw = response.read(65536)
    except urllib.error.HTTPError as error:
        attempt.status_code = error.code
        raw = error.read(65536)
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
        reason = getattr(error, "reason", error)
        attempt.error = f"Network error: {reason}"[:500]
        raw = b""
    attempt.seconds = time.monotonic() - started
    attempt.text = raw.decode("utf-8", "replace")
    try:
        parsed = json.loads(attempt.text) if attempt.text else {}
    except ValueError:
        parsed = {}
    attempt.data = parsed if isinstance(parsed, dict) else {}
    return attempt


def post_json(
    url: str,
    body: dict | None,
    headers: dict[str, str],
    *,
    record: Callable[[Try, int], None],
) -> Try:
    """POST `body` to `url`, up to GATE_HTTP_ATTEMPTS times while the answer is a 5xx or the
    network fails, waiting GATE_RETRY_SECONDS × 2ⁿ between tries. `record(try, number)` is
    called after each try. Returns the last try; the caller reads `ok`."""
    attempts = max(1, settings.GATE_HTTP_ATTEMPTS)
    for number in range(1, attempts + 1):
        attempt = _once(url, body, headers)
        record(attempt, number)
        if not attempt.retryable or number == attempts:
            return attempt
        time.sleep(settings.GATE_RETRY_SECONDS * 2 ** (number - 1))
    raise AssertionError("unreachable")
