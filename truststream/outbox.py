"""What each kind of outbox email says (`OutboxEmail`). An app registers a renderer per kind
from `AppConfig.ready()`; the core names no higher app.

A renderer takes the `OutboxEmail` and returns its (subject, body), read afresh from the rows
it tells of when it is sent, or None when the email is no longer wanted (the invitation was
withdrawn, the member removed): it is then cancelled, not sent. A renderer only reads.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.urls import reverse

# Takes an OutboxEmail (not imported here: models sit below this module's users).
Renderer = Callable[[Any], tuple[str, str] | None]

RENDERERS: dict[str, Renderer] = {}


def register(kind: str, renderer: Renderer) -> None:
    """Say how to write emails of `kind`. Call it from `AppConfig.ready()`."""
    RENDERERS[kind] = renderer


def render(email) -> tuple[str, str] | None:
    """The subject and body of `email`, or None if it is no longer wanted; LookupError for a
    kind nobody registered (an app removed while its emails waited)."""
    try:
        renderer = RENDERERS[email.kind]
    except KeyError:
        raise LookupError(
            f"No renderer is registered for outbox emails of kind {email.kind!r}."
        ) from None
    return renderer(email)


TOKENS_REVOKED = "tokens_revoked"


def _tokens_revoked(email) -> tuple[str, str]:
    # Sent even if the tokens were deleted meanwhile: it tells of something that happened.
    names = email.context["names"]
    reason = email.context["reason"]
    listed = "\n".join(f"- {name}" for name in names)
    count = len(names)
    subject = f"Your API token{'s were' if count != 1 else ' was'} revoked"
    body = (
        f"Hello,\n\n{reason[:1].upper()}{reason[1:]}, so we revoked the API "
        f"token{'s' if count != 1 else ''} you had:\n\n{listed}\n\n"
        "Calls made with them now fail. Create new tokens for the pipelines that need "
        f"them: {settings.SITE_URL}{reverse('tokens')}\n\n"
        "If you did not do this, reset your password at once and tell your "
        "administrator.\n\n— TrustStram Readiness\n"
    )
    return subject, body


register(TOKENS_REVOKED, _tokens_revoked)
