"""How the activity feed words the events of the gates' tracked models (a plan's webhooks).
`register` is called from `GatesConfig.ready()`."""

from gates.models import Webhook
from truststream import activity
from truststream.activity import Rules, quote


def register() -> None:
    activity.register_kind("webhooks", "Webhooks")
    activity.register(
        Webhook,
        Rules(noun="webhook", name=lambda change, look: quote(change.data.get("url"))),
        kind="webhooks",
    )
